"""Every relative link from a notebook's prose to the course library's source opens a file that exists, so moving or
splitting a module cannot silently break the "read the source" links the lessons rely on. No stack needed:
``pytest tests/test_notebook_links.py --noconftest``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(ROOT.glob("week_*/[0-9][0-9]_*.ipynb"))
# A markdown link's target, e.g. [ingest.py](../shared/zoomcamp/ingest.py) or [x](../shared/zoomcamp/lake.py#L10).
LINK = re.compile(r"\]\(([^)\s#]*shared/zoomcamp/[^)\s#]*)(?:#[^)\s]*)?\)")


def broken_library_links(path: Path) -> list[str]:
    """The links to ``shared/zoomcamp/...`` in a notebook's markdown cells that do not resolve to a file."""
    notebook = nbformat.read(path, as_version=4)
    prose = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    targets = [target for text in prose for target in LINK.findall(text)]
    return [target for target in targets if not (path.parent / target).resolve().is_file()]


def test_every_link_to_the_library_opens_a_file():
    broken = {str(p.relative_to(ROOT)): links for p in NOTEBOOKS if (links := broken_library_links(p))}
    assert broken == {}


def test_the_lessons_that_build_a_pipeline_link_to_the_library_version():
    # The weeks 1-2 lessons where the student builds the core code first, then uses the library's.
    linked = {"week_1_basics/02_postgres_ingest.ipynb": "../shared/zoomcamp/ingest.py",
              "week_2_ingestion/01_download.ipynb": "../shared/zoomcamp/datasets/downloader.py",
              "week_2_ingestion/02_data_lake.ipynb": "../shared/zoomcamp/lake.py"}
    for notebook, target in linked.items():
        cells = nbformat.read(ROOT / notebook, as_version=4).cells
        assert any(target in LINK.findall(c.source) for c in cells if c.cell_type == "markdown"), notebook


def test_a_moved_module_is_reported(tmp_path):
    week = tmp_path / "week_9_x"
    week.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("[ok](../shared/zoomcamp/lake.py#L1) and [gone](../shared/zoomcamp/moved.py)"),
        nbformat.v4.new_code_cell("# [not prose](../shared/zoomcamp/also_gone.py)"),
    ])
    (tmp_path / "shared" / "zoomcamp").mkdir(parents=True)
    (tmp_path / "shared" / "zoomcamp" / "lake.py").write_text("")
    path = week / "01_x.ipynb"
    nbformat.write(notebook, path)
    assert broken_library_links(path) == ["../shared/zoomcamp/moved.py"]
