"""The committed notebooks stay reviewable: a text form that agrees with each, no volatile noise, small outputs,
no execution counts, small outputs.

None of these needs the local stack: ``pytest tests/course/test_notebooks_text.py --noconftest`` runs them in seconds.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from zoomcamp.notebooks import clean, text_path, to_text

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(ROOT.glob("week_*/[0-9][0-9]_*.ipynb"))
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]
# Measured when these limits were set: the largest notebook 166,891 bytes (week_7_project/02_reference_project),
# the largest image 107,004 base64 characters (the same notebook). About 20% headroom: a re-run may grow a chart a
# little; a notebook that doubles (a printed frame, a high-dpi figure) should be trimmed instead.
MAX_NOTEBOOK_BYTES = 200_000
MAX_IMAGE_CHARS = 128_000


def test_every_lesson_is_found():
    assert len(NOTEBOOKS) >= 40


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_text_form_agrees_with_the_notebook(path):
    text = text_path(path)
    assert text.is_file(), f"{text.relative_to(ROOT)} is missing: run `make notebooks-sync`"
    expected = to_text(nbformat.read(path, as_version=4), path)
    assert text.read_text(encoding="utf-8") == expected, f"{text.name} disagrees: `make notebooks-sync`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.execution_count is not None]
    assert not counts, "execution counts are committed: clean() drops them (`make notebooks`)"
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, sorted(nb.metadata)
    assert "version" not in nb.metadata.get("language_info", {})
    assert all(set(c.metadata) <= {"tags", "jupyter"} for c in nb.cells), "volatile cell metadata"
    assert clean(copy.deepcopy(nb)) == nb, "clean() would change it: widget state, stderr or timestamps are committed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_outputs_stay_small(path):
    assert path.stat().st_size <= MAX_NOTEBOOK_BYTES
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for mime, data in output.get("data", {}).items():
                if mime.startswith("image/"):
                    assert len(data) <= MAX_IMAGE_CHARS, f"a {mime} of {len(data):,} characters"
