"""The architecture diagram: the committed pictures are rendered from the current source, rendering works offline,
and the top README shows it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zoomcamp import architecture

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_pictures_are_rendered_from_the_current_source():
    recorded = architecture.recorded_digests()
    assert recorded == {"svg": architecture.digest(), "png": architecture.digest()}, (
        "shared/architecture/architecture.toml (or the renderer) changed after the pictures were rendered: "
        "run `.venv/bin/python -m zoomcamp.architecture` and commit the pictures")


def test_rendering_writes_both_pictures_with_every_node(tmp_path):
    svg, png = architecture.render(folder=tmp_path)
    assert architecture.is_up_to_date(folder=tmp_path)
    text = svg.read_text()
    spec = architecture.load()
    for node in spec["nodes"]:
        for line in node["label"].split("\n"):
            assert line.replace("&", "&amp;") in text, line  # labels stay text in the SVG
    assert text.count("<text") >= sum(n["label"].count("\n") + 1 for n in spec["nodes"]) + len(spec["columns"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000
    # A change to the source makes the pictures stale.
    changed = tmp_path / "changed.toml"
    changed.write_text(architecture.SOURCE.read_text().replace("Spark\\n(batch jobs)", "Spark\\n(batch)"))
    assert not architecture.is_up_to_date(source=changed, folder=tmp_path)


def test_a_wrong_source_is_one_clear_error(tmp_path):
    source = tmp_path / "bad.toml"
    source.write_text(architecture.SOURCE.read_text() + '\n[[edges]]\nfrom = "lake"\nto = "nowhere"\n')
    with pytest.raises(architecture.DiagramError, match="'nowhere', which is not a node"):
        architecture.render(source, tmp_path)


def test_the_readme_shows_the_diagram():
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert "shared/architecture/architecture.svg" in images
