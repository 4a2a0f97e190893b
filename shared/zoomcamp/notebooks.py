"""Execute the course's notebooks and keep what is committed of them small, reproducible and reviewable.

``python -m zoomcamp.notebooks week_1_basics/*.ipynb`` (or ``make notebooks``) runs each notebook
top to bottom in its own folder (adding the closing progress cell if missing), then drops what should
not be committed (``clean``: execution counts, progress-bar widgets and their saved state, stderr noise,
execution timestamps) and writes the notebook's text form next to it.

``--sync`` only writes the text forms (``make notebooks-sync``): ``week_1_basics/01_data_and_stack.py``, jupytext's
percent format as configured in ``jupytext.toml``. The ``.ipynb`` is the source of truth; the ``.py`` is what a
reviewer reads, and tests/course/test_notebooks_text.py checks that both hold the same cells.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

WIDGET = "application/vnd.jupyter.widget-view+json"
TEXT_FORMAT = "py:percent"
# Metadata a run or an editor leaves behind that says nothing about the lesson.
VOLATILE_NOTEBOOK_METADATA = ("widgets", "jupytext", "toc", "varInspector")
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata.get("language_info", {}).pop("version", None)  # the Python that ran it last
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.execution_count = None  # counts change on every run: noise in every diff
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        cell.outputs = [
            o for o in cell.outputs
            if not (o.output_type == "stream" and o.name == "stderr")
            and not (o.output_type == "display_data" and WIDGET in o.get("data", {}))
        ]
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = None
    return nb


def text_path(path: Path) -> Path:
    return path.with_suffix(".py")


def to_text(nb: nbformat.NotebookNode, path: Path) -> str:
    """The notebook's text form, written with the options of ``jupytext.toml`` (as JupyterLab writes it)."""
    import jupytext
    from jupytext.config import load_jupytext_config

    return jupytext.writes(nb, fmt=TEXT_FORMAT, config=load_jupytext_config(str(path)))


def sync(path: Path) -> bool:
    """Write the text form of the notebook at ``path``; True if it changed."""
    text = to_text(nbformat.read(path, as_version=4), path)
    target = text_path(path)
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    target.write_text(text, encoding="utf-8")
    return True


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
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")  # Flink's notebooks: zoomcamp-flink
    NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(clean(nb), path)
    sync(path)


def main(args: list[str]) -> None:
    if args[:1] == ["--sync"]:
        for name in args[1:]:
            if sync(Path(name)):
                print(f"wrote {text_path(Path(name))}", flush=True)
    else:
        for name in args:
            print(f"executing {name}", flush=True)
            execute(Path(name))


if __name__ == "__main__":
    main(sys.argv[1:])
