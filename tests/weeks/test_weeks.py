"""Each week's own details (``zoomcamp.weeks``): the registry agrees with the week folders, notebooks get their
scratch folders from the course, and a week's reset removes them. Needs no stack."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zoomcamp import course, homework, weeks

ROOT = Path(__file__).resolve().parents[2]


def test_the_registry_lists_every_week_folder_and_each_module_resets():
    assert sorted(weeks.WEEKS) == list(course.weeks())
    assert all(callable(module.reset) for module in weeks.WEEKS.values())
    assert homework.weeks_with_homework() == [n for n in course.weeks() if (course.week_folder(n) / "homework.md")
                                               .exists()]


def test_scratch_is_the_declared_folder_under_the_home_and_an_unknown_name_says_which_exist(scratch_settings):
    assert course.scratch(3, "columnar", settings=scratch_settings) == scratch_settings.home / "tmp/week3_columnar"
    assert course.scratch("week_5_batch", "report", settings=scratch_settings) == \
        scratch_settings.home / "spark/03_report"
    with pytest.raises(course.CourseNotFound, match=r"week 3 has no scratch folder 'nope'; its folders: columnar, "
                                                    r"layouts \(SCRATCH in zoomcamp/weeks/week_3.py\)"):
        course.scratch(3, "nope")
    with pytest.raises(course.CourseNotFound, match="no week 9"):
        course.scratch(9, "columnar")


def test_notebooks_ask_the_course_for_scratch_folders_and_use_every_declared_one():
    for number, module in weeks.WEEKS.items():
        texts = {p.name: p.read_text() for p in sorted(course.week_folder(number).glob("[0-9][0-9]_*.py"))}
        for name, text in texts.items():
            assert not re.search(r"\bhome\s*/\s*[\"']", text), f"week {number}'s {name} builds a path under the " \
                                                               "home: ask course.scratch(week, name)"
        used = set(re.findall(rf"scratch\({number}, \"(\w+)\"\)", "".join(texts.values())))
        assert used == set(getattr(module, "SCRATCH", {})), f"week {number}: declared and used scratch folders differ"


def test_a_weeks_reset_removes_its_scratch_folders_after_what_its_module_removes(scratch_settings, monkeypatch):
    monkeypatch.setattr(weeks.week_3, "reset", lambda settings: ["table warehouse.trips"])
    folders = [course.scratch(3, name, settings=scratch_settings) for name in ("columnar", "layouts")]
    for folder in folders:
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_bytes(b"PAR1")
    assert course._reset_week(3, scratch_settings) == ["table warehouse.trips"] + [str(f) for f in folders]
    assert not any(f.exists() for f in folders) and scratch_settings.home.joinpath("tmp").is_dir()
    assert course._reset_week(3, scratch_settings) == ["table warehouse.trips"]  # nothing left to remove
