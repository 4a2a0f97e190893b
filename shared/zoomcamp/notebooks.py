"""Execute the course's notebooks and keep their committed outputs small and reproducible.

``python -m zoomcamp.notebooks week_1_basics/*.ipynb`` (or ``make notebooks``) runs each notebook
top to bottom in its own folder, then drops what should not be committed: progress-bar widgets and
their saved state, stderr noise, execution timestamps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

WIDGET = "application/vnd.jupyter.widget-view+json"


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        cell.outputs = [
            o for o in cell.outputs
            if not (o.output_type == "stream" and o.name == "stderr")
            and not (o.output_type == "display_data" and WIDGET in o.get("data", {}))
        ]
    return nb


def execute(path: Path, timeout: int = 600) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(clean(nb), path)


def main(paths: list[str]) -> None:
    for name in paths:
        print(f"executing {name}", flush=True)
        execute(Path(name))


if __name__ == "__main__":
    main(sys.argv[1:])
