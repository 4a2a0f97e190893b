"""The course's architecture diagram: one source file, rendered to SVG and PNG with matplotlib (offline, no Graphviz).

    python -m zoomcamp.architecture            # re-render shared/architecture/architecture.{svg,png}

The source, ``shared/architecture/architecture.toml``, lists the columns, the nodes (label, column, row, the week
that introduces them) and the edges. Each picture records a digest of the source and of this renderer, so
:func:`is_up_to_date` (and ``tests/test_architecture.py``) can tell a picture older than its source without
comparing pixels — which would differ between matplotlib versions anyway.
"""

from __future__ import annotations

import hashlib
import re
import sys
import tomllib
from pathlib import Path

from .errors import CourseError
from .settings import project_root

FOLDER = project_root() / "shared" / "architecture"
SOURCE = FOLDER / "architecture.toml"
DIGEST_PREFIX = "zoomcamp-architecture sha256:"
WEEK_COLOURS = {1: "#c6dbef", 2: "#c7e9c0", 3: "#fdd0a2", 4: "#fdae6b", 5: "#dadaeb", 6: "#fcbba1", 7: "#fff3b0"}
COLUMN_WIDTH, ROW_HEIGHT = 2.75, 1.15


class DiagramError(CourseError, ValueError):
    pass


def digest(source: Path = SOURCE) -> str:
    """What a picture must record to be up to date: the source's and the renderer's bytes, hashed."""
    sha = hashlib.sha256(Path(source).read_bytes())
    sha.update(Path(__file__).read_bytes())
    return sha.hexdigest()


def load(source: Path = SOURCE) -> dict:
    """The source, checked: every node in a known column, every edge between known nodes, every week named."""
    try:
        spec = tomllib.loads(Path(source).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise DiagramError(f"{source}: not valid TOML ({exc})") from None
    ids = [n["id"] for n in spec.get("nodes", [])]
    if len(ids) != len(set(ids)):
        raise DiagramError(f"{source}: node ids must be unique")
    weeks = {int(k) for k in spec.get("weeks", {})}
    for node in spec.get("nodes", []):
        if not 0 <= node.get("column", -1) < len(spec["columns"]):
            raise DiagramError(f"{source}: node {node['id']!r} has no column among {spec['columns']}")
        if node.get("week") not in weeks:
            raise DiagramError(f"{source}: node {node['id']!r}: week {node.get('week')!r} is not in [weeks]")
    for edge in spec.get("edges", []):
        for end in ("from", "to"):
            if edge.get(end) not in ids:
                raise DiagramError(f"{source}: an edge {end} {edge.get(end)!r}, which is not a node")
    return spec


def render(source: Path = SOURCE, folder: Path = FOLDER) -> list[Path]:
    """Draw the diagram and write ``architecture.svg`` and ``architecture.png`` into ``folder``."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    spec = load(source)
    columns = spec["columns"]
    rows = max(n["row"] for n in spec["nodes"]) + 0.6
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH * len(columns) + 0.4, ROW_HEIGHT * rows + 2.6))
    ax.set_xlim(-0.2, COLUMN_WIDTH * len(columns))
    ax.set_ylim(-ROW_HEIGHT * rows - 1.3, 1.0)
    ax.set_axis_off()
    for i, name in enumerate(columns):
        ax.text(COLUMN_WIDTH * (i + 0.5), 0.55, name, ha="center", va="center", fontsize=10.5, fontweight="bold",
                color="#333333")
        if i:
            ax.axvline(COLUMN_WIDTH * i - 0.1, color="#e4e4e4", lw=1, zorder=0)
    boxes = {}
    for node in spec["nodes"]:
        x, y = COLUMN_WIDTH * (node["column"] + 0.5), -ROW_HEIGHT * node["row"] - 0.2
        boxes[node["id"]] = ax.text(x, y, node["label"], ha="center", va="center", fontsize=8.5, linespacing=1.3,
                                    bbox={"boxstyle": "round,pad=0.5", "fc": WEEK_COLOURS[node["week"]],
                                          "ec": "#555555", "lw": 0.8}, zorder=3)
    column_of = {n["id"]: n["column"] for n in spec["nodes"]}
    for edge in spec["edges"]:
        start, end = column_of[edge["from"]], column_of[edge["to"]]
        # Forward: right edge to left edge; backward (a job writing back): left to right, curved.
        tail, head, bend = ((1, 0.5), (0, 0.5), 0.0) if end > start else ((0, 0.5), (1, 0.5), 0.35)
        if end == start:
            tail, head = (0.5, 0), (0.5, 1)
        ax.annotate("", xy=head, xycoords=boxes[edge["to"]], xytext=tail, textcoords=boxes[edge["from"]],
                    arrowprops={"arrowstyle": "-|>", "color": "#666666", "lw": 1.1, "shrinkA": 2, "shrinkB": 2,
                                "linestyle": "--" if edge.get("style") == "dashed" else "-",
                                "connectionstyle": f"arc3,rad={bend}"}, zorder=2)
    weeks = sorted((int(k), v) for k, v in spec["weeks"].items())
    ax.legend(handles=[Patch(fc=WEEK_COLOURS[w], ec="#555555", label=label) for w, label in weeks],
              loc="lower center", bbox_to_anchor=(0.5, 0.05), ncol=len(weeks), fontsize=8.5, frameon=False)
    ax.text(COLUMN_WIDTH * len(columns) / 2, -ROW_HEIGHT * rows - 1.15, spec.get("footer", {}).get("text", ""),
            ha="center", va="center", fontsize=8.5, color="#555555", style="italic")
    ax.set_title(spec["title"], fontsize=13, pad=8)
    fig.tight_layout()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    marker = f"{DIGEST_PREFIX}{digest(source)}"
    svg, png = folder / "architecture.svg", folder / "architecture.png"
    # Text as text (searchable, smaller), fixed ids and no date: the same source gives the same file.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "zoomcamp"}):
        fig.savefig(svg, metadata={"Date": None, "Description": marker})
    fig.savefig(png, dpi=110, metadata={"Description": marker})
    plt.close(fig)
    return [svg, png]


def recorded_digests(folder: Path = FOLDER) -> dict[str, str | None]:
    """The digest each rendered file records (None: missing, or no digest in it)."""
    from PIL import Image

    found: dict[str, str | None] = {}
    svg, png = Path(folder) / "architecture.svg", Path(folder) / "architecture.png"
    match = re.search(re.escape(DIGEST_PREFIX) + r"([0-9a-f]{64})", svg.read_text()) if svg.is_file() else None
    found["svg"] = match.group(1) if match else None
    text = Image.open(png).text.get("Description", "") if png.is_file() else ""
    found["png"] = text.removeprefix(DIGEST_PREFIX) if text.startswith(DIGEST_PREFIX) else None
    return found


def is_up_to_date(source: Path = SOURCE, folder: Path = FOLDER) -> bool:
    current = digest(source)
    return all(value == current for value in recorded_digests(folder).values())


def main(argv: list[str]) -> int:
    for path in render():
        print(f"wrote {path.relative_to(project_root())} ({path.stat().st_size / 1e3:,.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
