"""`zoomcamp update`: a student who ran and saved notebooks gets the course's new version and keeps their own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from zoomcamp.cli import main
from zoomcamp.update import UpdateRefused, update

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "week_1_basics/01_intro.ipynb"
TEXT_FORM = "week_1_basics/01_intro.py"
SCRIPT = "week_1_basics/ingest.py"


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def course(tmp_path, monkeypatch):
    """The course's upstream repository and a student's clone of it: ``(upstream, student)``."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.org")
    upstream = tmp_path / "upstream"
    (upstream / "week_1_basics").mkdir(parents=True)
    shutil.copy(ROOT / ".gitignore", upstream / ".gitignore")  # the course's own rule for my_* copies
    (upstream / NOTEBOOK).write_text('{"cells": ["course v1"]}\n')
    (upstream / TEXT_FORM).write_text("# %%\nprint('course v1')\n")
    (upstream / SCRIPT).write_text("STEP = 1\n\n\nCHUNK = 100\n")
    git(upstream, "init", "-q", "-b", "main")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-qm", "v1")
    student = tmp_path / "student"
    git(tmp_path, "clone", "-q", str(upstream), str(student))
    return upstream, student


def student_runs_and_saves(student: Path, text: str = "my outputs") -> None:
    (student / NOTEBOOK).write_text(f'{{"cells": ["{text}"]}}\n')
    (student / TEXT_FORM).write_text(f"# %%\nprint('{text}')\n")


def course_publishes(upstream: Path) -> None:
    (upstream / NOTEBOOK).write_text('{"cells": ["course v2"]}\n')
    (upstream / "week_1_basics/02_next.ipynb").write_text('{"cells": []}\n')
    git(upstream, "add", "-A")
    git(upstream, "commit", "-qm", "v2")


def test_update_keeps_the_students_notebook_and_pulls_the_courses(course):
    upstream, student = course
    student_runs_and_saves(student)
    (student / SCRIPT).write_text("STEP = 1\n\n\nCHUNK = 5000\n")  # an exercise edit in a script the course tracks
    course_publishes(upstream)
    with pytest.raises(subprocess.CalledProcessError):  # what a student meets today
        git(student, "pull", "--ff-only")

    kept = update(student)

    assert [(k.original, k.copy) for k in kept] == [
        (NOTEBOOK, "week_1_basics/my_01_intro.ipynb"), (TEXT_FORM, "week_1_basics/my_01_intro.py")]
    assert (student / NOTEBOOK).read_text() == '{"cells": ["course v2"]}\n'
    assert (student / "week_1_basics/02_next.ipynb").exists()
    assert (student / "week_1_basics/my_01_intro.ipynb").read_text() == '{"cells": ["my outputs"]}\n'
    assert "my outputs" in (student / "week_1_basics/my_01_intro.py").read_text()
    assert (student / SCRIPT).read_text().endswith("CHUNK = 5000\n")  # autostashed and re-applied
    # git sees only the script edit: the copies are ignored, so the next pull is as clean as this one
    assert git(student, "status", "--porcelain").splitlines() == [f" M {SCRIPT}"]


def test_a_second_update_keeps_each_version_once(course):
    upstream, student = course
    student_runs_and_saves(student, "first try")
    update(student)
    assert update(student) == []  # nothing changed since: nothing copied
    student_runs_and_saves(student, "second try")
    kept = update(student)
    assert kept[0].copy == "week_1_basics/my_01_intro-2.ipynb"
    assert "first try" in (student / "week_1_basics/my_01_intro.ipynb").read_text()
    assert "second try" in (student / "week_1_basics/my_01_intro-2.ipynb").read_text()
    student_runs_and_saves(student, "first try")
    assert update(student)[0].copy == "week_1_basics/my_01_intro.ipynb"  # the same content is not copied again


def test_a_student_branch_that_diverged_gets_one_line_and_keeps_everything(course):
    upstream, student = course
    (student / SCRIPT).write_text("STEP = 2\n")
    git(student, "commit", "-qam", "my own commit on main")
    course_publishes(upstream)
    student_runs_and_saves(student)

    with pytest.raises(UpdateRefused, match=r"^update: git pull failed: .*your branch has commits of its own"):
        update(student)
    assert (student / "week_1_basics/my_01_intro.ipynb").read_text() == '{"cells": ["my outputs"]}\n'
    assert git(student, "log", "-1", "--format=%s").strip() == "my own commit on main"


def test_update_outside_a_clone_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("zoomcamp.update.project_root", lambda: tmp_path)
    monkeypatch.setattr("sys.argv", ["zoomcamp", "update"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: update: {tmp_path} is not a git clone of the course; download the new version instead"]


def test_the_course_ignores_the_students_copies():
    for path in ("week_1_basics/my_01_data_and_stack.ipynb", "week_6_streaming/my_02_producer.py"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, path
    assert subprocess.run(["git", "check-ignore", "-q", "week_1_basics/01_data_and_stack.ipynb"],
                          cwd=ROOT).returncode == 1
