"""The README's map of the library ("How it fits together") names every module and package of shared/zoomcamp, and
the split packages keep their public names (what notebooks and tests import)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "shared" / "zoomcamp"


def mapped_names() -> set[str]:
    text = (ROOT / "README.md").read_text()
    block = text[text.index("zoomcamp (shared/zoomcamp/)"):text.index("real components on this machine")]
    names = set()
    for line in block.splitlines():
        found = re.match(r"^   ([a-z_]+(?:/|(?:, [a-z_]+)*))\s", line)
        if found:
            names.update(n.strip().rstrip("/") for n in found[1].split(","))
    return names


def test_the_readme_maps_every_module():
    modules = {p.stem for p in LIBRARY.glob("*.py") if p.stem not in ("__init__", "__main__")}
    packages = {p.parent.name for p in LIBRARY.glob("*/__init__.py")}
    assert "spark" in packages and "project" in packages
    assert sorted((modules | packages) - mapped_names()) == []
    assert sorted(mapped_names() - modules - packages) == []  # nothing mapped that is gone


def test_the_split_packages_keep_their_public_names():
    from zoomcamp import project, spark, stack

    for package in (spark, project):
        assert package.__all__ and all(callable(getattr(package, name)) or getattr(package, name) is not None
                                       for name in package.__all__)
    assert spark.Cluster is stack.SERVICES["spark"] and "spark" in stack.ON_DEMAND
    assert {"session", "read_trips", "measure", "submit", "to_warehouse"} <= set(spark.__all__)
    assert {"run", "DashboardData", "check_gcp", "plan", "load_warehouse"} <= set(project.__all__)
