"""Execute the course's notebooks and keep their committed outputs small and reproducible.

``python -m zoomcamp.notebooks week_1_basics/*.ipynb`` (or ``make notebooks``) runs each notebook
top to bottom in its own folder (adding the closing progress cell if missing), then drops what should
not be committed: progress-bar widgets and their saved state, stderr noise, execution timestamps.
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


def progress_cell_source(path: Path) -> str:
    from .course import notebook_id

    return f'from zoomcamp import course\n\ncourse.record("{notebook_id(path)}")  # this notebook ran to the end'


def ensure_progress_cell(nb: nbformat.NotebookNode, path: Path) -> bool:
    """Every notebook ends with a cell that records it as done (see ``zoomcamp progress``); add it if missing."""
    source = progress_cell_source(path)
    last = nb.cells[-1] if nb.cells else None
    if last is not None and last.cell_type == "code" and "course.record(" in last.source:
        if last.source == source:
            return False
        last.source = source  # renamed notebook: record the new name
        return True
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return True


def execute(path: Path, timeout: int = 600) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    ensure_progress_cell(nb, path)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(clean(nb), path)


def main(paths: list[str]) -> None:
    for name in paths:
        print(f"executing {name}", flush=True)
        execute(Path(name))


if __name__ == "__main__":
    main(sys.argv[1:])
