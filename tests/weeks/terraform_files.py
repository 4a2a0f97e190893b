"""Reading Terraform files without Terraform or a cloud account (python-hcl2), for the weeks' infra tests."""

from __future__ import annotations

from pathlib import Path

import hcl2


def unquote(value):
    return value.strip('"') if isinstance(value, str) else value


def tf_blocks(folder: Path, kind: str) -> dict[str, dict]:
    """``{"type.name": body}`` of every resource (or ``{name: body}`` of every variable) in a folder."""
    found = {}
    for path in sorted(folder.glob("*.tf")):
        with open(path) as f:
            for block in hcl2.load(f).get(kind, []):
                for first, body in block.items():
                    if kind == "resource":
                        for name, inner in body.items():
                            found[f"{unquote(first)}.{unquote(name)}"] = inner
                    else:
                        found[unquote(first)] = body
    return found
