"""The course experience: notebook structure, exercises, homework self-check, progress, run and reset."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from in_process import zoomcamp

from zoomcamp import course, datasets, db, homework, ingest, stack, streaming
from zoomcamp.lake import Lake
from zoomcamp.notebooks import progress_cell_source

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = [p for week in course.weeks() for p in course.notebooks(week)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=course.notebook_id)
def test_every_notebook_opens_with_goals_and_ends_with_summary_next_and_progress(path):
    nb = nbformat.read(path, as_version=4)
    opening = nb.cells[0].source
    assert nb.cells[0].cell_type == "markdown" and "What you will learn" in opening and "need running" in opening
    closing = [c for c in nb.cells if c.cell_type == "markdown"][-1].source
    assert "## Summary" in closing and "**Next:**" in closing
    assert nb.cells[-1].cell_type == "code" and nb.cells[-1].source == progress_cell_source(path)


@pytest.mark.parametrize("week", [w for w in course.weeks() if course.notebooks(w)])
def test_every_week_has_three_checked_exercises_with_hidden_solutions(week):
    solutions = []
    for path in course.notebooks(week):
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            if "solution" in cell.metadata.get("tags", []):
                assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, f"{path.name}: not hidden"
                assert "check(" in cell.source and "check(" in cells[i - 1].source, f"{path.name}: no check"
                solutions.append(cell)
    assert len(solutions) >= 3


def test_instructors_guide_times_every_notebook():
    rows = set(re.findall(r"^\| (\d) \| (\d\d) ", (ROOT / "INSTRUCTORS.md").read_text(), re.M))
    for path in NOTEBOOKS:
        week = course.notebook_id(path).split("_")[1]
        assert (week, path.name[:2]) in rows, f"INSTRUCTORS.md has no timing row for {course.notebook_id(path)}"


@pytest.mark.parametrize("week", homework.weeks_with_homework())
def test_homework_md_asks_every_question_the_checker_grades(week):
    text = (course.week_folder(week) / "homework.md").read_text()
    ids = [q.id for q in homework.questions(week)]
    assert re.findall(r"^\*\*(q\d+)\.", text, re.M) == ids
    block = re.search(r"```yaml\n(.*?)```", text, re.S)[1]
    assert list(yaml.safe_load(block)) == ids
    assert f"zoomcamp homework check {week}" in text
    assert "[homework.md](homework.md)" in (course.week_folder(week) / "README.md").read_text()


@pytest.fixture
def week1_tables():
    ingest.to_postgres(datasets.trip_file("yellow", "2021-01"), "yellow_taxi_trips", progress=False)
    ingest.to_postgres(datasets.zones_file(), "zones", progress=False)
    return datasets.read_csv(datasets.trip_file("yellow", "2021-01"))


@pytest.mark.stack
def test_week1_homework_is_graded_on_the_students_own_data(week1_tables, write_answers):
    trips = week1_tables
    expected = homework.expected_answers(1)
    # The checker's answers agree with an independent pandas computation on the same file.
    assert expected["q1"] == int((trips["tpep_pickup_datetime"].dt.date == pd.Timestamp("2021-01-15").date()).sum())
    assert expected["q4"] == int((trips["passenger_count"] == 0).sum())
    top_tip = trips.sort_values(["tip_amount", "tpep_pickup_datetime"], ascending=[False, True]).iloc[0]
    assert str(expected["q2"]) == str(top_tip["tpep_pickup_datetime"].date())

    good = write_answers(expected, "good.yaml")
    assert all(g.correct for g in homework.grade(1, good))
    result = zoomcamp("homework", "check", "1", "--answers", str(good))
    assert result.returncode == 0 and "score: 5/5" in result.stdout

    bad = dict(expected, q1=expected["q1"] + 1, q3="Nowhere in particular")
    del bad["q5"]
    grades = {g.question: g for g in homework.grade(1, write_answers(bad, "bad.yaml"))}
    assert [q for q, g in grades.items() if not g.correct] == ["q1", "q3", "q5"]
    assert grades["q5"].note == "not answered"
    result = zoomcamp("homework", "check", "1", "--answers", str(good.with_name("bad.yaml")))
    assert result.returncode == 1 and "score: 2/5" in result.stdout
    assert str(expected["q1"]) not in result.stdout.split("q1", 1)[1].splitlines()[0]  # no spoilers

    # A right date in another format gets a hint, not a bare ✗; an unknown key is named, not ignored.
    day = expected["q2"]
    other = dict(expected, q2=f"{day.day:02d}/{day.month:02d}/{day.year}", q6=12)
    grades = {g.question: g for g in homework.grade(1, write_answers(other, "other.yaml"))}
    assert not grades["q2"].correct and grades["q2"].note == "write dates as YYYY-MM-DD, e.g. 2021-01-15"
    assert not grades["q6"].correct and grades["q6"].note == "not a question of week 1 (its questions: q1, q2, q3, " \
                                                              "q4, q5)"
    result = zoomcamp("homework", "check", "1", "--answers", str(good.with_name("other.yaml")))
    assert result.returncode == 1 and "score: 4/5" in result.stdout and "YYYY-MM-DD" in result.stdout
    assert "not a question of week 1" in result.stdout


@pytest.mark.stack
def test_week2_homework_reads_the_lake(settings, write_answers):
    lake = Lake(settings)
    lake.ingest("yellow", ["2021-03"], progress=False)
    lake.ingest("green", ["2021-01"], progress=False)
    expected = {q.id: q.answer(settings) for q in homework.questions(2)[:4]}  # q5-q7: tests/api/test_api.py
    assert expected["q1"] == len(datasets.read_csv(datasets.trip_file("yellow", "2021-03")))
    size = sum(lake.fs.size(p) for p in lake.fs.find(lake.partition("green", "2021-01"))) / 1e6
    assert expected["q2"] == pytest.approx(size, abs=0.005)
    grades = homework.grade(2, write_answers(dict(expected, q2=round(size, 2) + 0.5)))
    assert [g.correct for g in grades[:4]] == [True, False, True, True]


def test_homework_errors_are_clear(tmp_path):
    with pytest.raises(homework.HomeworkError, match="no answers file"):
        homework.grade(1, tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("q1: [unclosed")
    with pytest.raises(homework.HomeworkError, match="not valid YAML"):
        homework.grade(1, tmp_path / "broken.yaml")
    result = zoomcamp("homework", "check", "9")
    assert result.returncode == 2 and "no homework yet" in result.stderr


@pytest.mark.stack  # six kernels
def test_run_week_executes_every_notebook_writes_html_and_leaves_the_students_progress(settings, tmp_path,
                                                                                      monkeypatch):
    # What week 1's notebooks do is nbval's to check (they run in this session anyway): here, what run_week does
    # with them, on stand-ins that keep only each one's closing progress cell (the real notebook's id).
    real = course.notebooks(1)
    folder = tmp_path / real[0].parent.name
    folder.mkdir()
    stand_ins = []
    for path in real:
        nb = nbformat.read(path, as_version=4)
        # Runs in the notebook's own folder; then the progress cell, as committed.
        nb.cells = [nbformat.v4.new_code_cell(f"import os\nassert os.getcwd() == {str(folder)!r}"), nb.cells[-1]]
        nbformat.write(nb, folder / path.name)
        stand_ins.append(folder / path.name)
    monkeypatch.setattr(course, "notebooks", lambda week: stand_ins if str(week) == "1" else [])
    course.progress_file(settings).unlink(missing_ok=True)  # the session's home may hold an earlier run's progress
    first = course.notebook_id(real[0])
    course.record(first)  # the student ran the first notebook
    sources = {p: p.read_bytes() for p in stand_ins}
    runs = course.run_week(1, html_dir=tmp_path / "html", progress_bar=False)
    assert [r.notebook for r in runs] == [course.notebook_id(p) for p in real]
    assert all(r.html.is_file() and r.html.stat().st_size > 10_000 for r in runs)
    assert all(f"<title>{r.html.stem}</title>" in r.html.read_text() for r in runs)  # not "Notebook"
    assert all(p.read_bytes() == content for p, content in sources.items())  # the notebooks run are untouched
    monkeypatch.undo()
    # An instructor's run marks nothing as done: the student's progress is what the student ran.
    week1 = next(w for w in course.progress() if w.week == 1)
    assert week1.done == [first] and len(week1.todo) == len(real) - 1
    assert "ZOOMCAMP_INSTRUCTOR_RUN" not in os.environ
    shown = zoomcamp("progress").stdout
    assert "week_1_basics" in shown and f"1/{len(real)}" in shown and "next:" in shown


def test_run_stops_at_the_first_failure_with_the_cell_and_error(tmp_path, monkeypatch):
    failing = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                              nbformat.v4.new_code_cell("raise ValueError('broken data')"),
                                              nbformat.v4.new_code_cell("never = True")])
    path = tmp_path / "week_9_demo" / "01_fails.ipynb"
    path.parent.mkdir()
    nbformat.write(failing, path)
    second = path.with_name("02_never_runs.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("open('ran', 'w')")]), second)
    monkeypatch.setattr(course, "notebooks", lambda week: [path, second])
    with pytest.raises(course.NotebookFailed, match=r"01_fails.ipynb failed in cell 1:\nraise ValueError.*broken data"):
        course.run_week(9, progress_bar=False)
    assert not (second.parent / "ran").exists()


def test_record_names_what_comes_next(scratch_home, settings):
    scratch = settings.replace(home=scratch_home)
    first, second = (course.notebook_id(p) for p in course.notebooks(1)[:2])
    message = course.record(first, settings=scratch)
    assert message == f"{first} done; next: {second}"
    assert course.next_notebook(scratch) == second


@pytest.mark.stack
def test_reset_leaves_a_clean_stack_and_keeps_the_data(scratch_home, settings):
    scratch = settings.replace(home=scratch_home)
    try:
        stack.up(settings=scratch)
        data_file = datasets.trip_file("green", "2021-01", settings=scratch)
        ingest.to_postgres(data_file, "green_taxi_trips", settings=scratch, progress=False)
        lake = Lake(scratch)
        lake.ingest("green", ["2021-01"], progress=False)
        assert lake.datasets() == ["green"]

        db.execute(streaming.ZONE_HOURS.ddl(), settings=scratch)  # week 6's, in the same schema

        removed = course.reset(1, settings=scratch)
        assert "table green_taxi_trips" in removed[1] and "table green_taxi_trips_quarantine" in removed[1]
        public = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        assert db.query(public, settings=scratch)["tablename"].tolist() == [streaming.ZONE_HOURS.name]
        assert course.reset(6, settings=scratch)[6] == [f"table {streaming.ZONE_HOURS.name}"]
        assert db.query(public, settings=scratch).empty
        db.execute("CREATE SCHEMA rides_api", settings=scratch)  # as dlt makes it (notebook 06)
        (scratch.dlt_path / "pipelines").mkdir(parents=True)
        removed = course.reset(2, settings=scratch)[2]
        assert "schema rides_api" in removed and not scratch.dlt_path.exists()
        assert lake.fs.find(lake.root) == [] and lake.datasets() == []
        assert data_file.is_file()  # generated or downloaded files are kept

        result = zoomcamp("reset", "1", "--yes", ZOOMCAMP_HOME=str(scratch_home))
        assert result.returncode == 0 and "week 1: nothing to remove" in result.stdout
        refused = zoomcamp("reset", "1", ZOOMCAMP_HOME=str(scratch_home))  # no answer at the prompt
        assert refused.returncode == 1
    finally:
        stack.down(settings=scratch)


def test_week_1_says_how_many_services_the_stack_starts():
    """Notebook 01 said the stack starts two services; it starts every default one."""
    numbers = {2: "two", 3: "three", 4: "four", 5: "five"}
    text = (ROOT / "week_1_basics" / "01_data_and_stack.py").read_text()
    assert f"the course's {numbers[len(stack.DEFAULT_SERVICES)]} local services" in text
