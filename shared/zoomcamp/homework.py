"""Homework with a self-check: each week's questions, answered on whatever data the student loaded.

The expected answers are computed from the student's own loaded data (real or sample), so the same homework works
offline and on the real TLC files. Answers go in ``week_N_.../answers.yaml`` (``q1: 1234``); ``zoomcamp homework
check N`` grades them. The questions' wording lives in each week's ``homework.md``; the questions and how their
answers are computed, in the week's module (``QUESTIONS`` in ``zoomcamp.weeks.week_N``); grading them, here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .answers import same
from .course import week_folder
from .errors import CourseError
from .settings import Settings, get_settings

ANSWERS_FILE = "answers.yaml"


class HomeworkError(CourseError, ValueError):
    pass


class NotLoaded(CourseError, LookupError):
    """The data a question is about is not loaded yet; the message says which notebook or command loads it."""


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # int | float | text | date: how an answer is compared
    answer: Callable[[Settings], Any]  # the right answer on the student's data; NotLoaded says what to run first


@dataclass
class Grade:
    question: str
    given: Any
    expected: Any
    correct: bool
    note: str = ""


_loaded: dict[tuple[str, int], Any] = {}  # what the questions of one grading share (see once)


def once(load: Callable[[Settings], Any]) -> Callable[[Settings], Any]:
    """Load data several questions read (a month of trips, a topic) once per grading, not once per question."""

    @functools.wraps(load)
    def cached(s: Settings):
        key = (load.__module__, load.__qualname__, id(s))
        if key not in _loaded:
            _loaded[key] = load(s)
        return _loaded[key]

    return cached


# --- what the weeks' questions share --------------------------------------------------------------------------------

def loaded_lake(s: Settings, kind: str, month: str | None = None, lake=None, needs: str = "week 2's notebook 02"):
    """The lake (``lake``, or the course's), once it holds ``kind`` (for ``month``); else :class:`NotLoaded` says
    what loads it."""
    from .lake import Lake

    command = f" (or `zoomcamp lake ingest {kind} {month or '2021-01..2021-03'}`)" if lake is None else ""
    lake = lake or Lake(s)
    months = [str(m) for m in lake.months(kind)]
    if not months or (month and month not in months):
        raise NotLoaded(f"the lake at {lake.url} has no {kind} {month or 'data'}: run {needs}{command}")
    return lake


def weeks_with_homework() -> list[int]:
    """The weeks whose module (``zoomcamp.weeks``) has questions."""
    from . import weeks

    return [n for n, module in weeks.WEEKS.items() if getattr(module, "QUESTIONS", None)]


def questions(week: int) -> list[Question]:
    """A week's questions, as its module in ``zoomcamp.weeks`` declares them."""
    from . import weeks

    with_homework = weeks_with_homework()
    if week not in with_homework:
        raise HomeworkError(f"week {week} has no homework yet; weeks with homework: "
                            f"{', '.join(map(str, with_homework))}")
    return weeks.get(week).QUESTIONS


def expected_answers(week: int, settings: Settings | None = None) -> dict[str, Any]:
    """The right answers on this student's data (a question whose data is not loaded raises :class:`NotLoaded`)."""
    settings = settings or get_settings()
    try:
        return {q.id: q.answer(settings) for q in questions(week)}
    finally:
        _loaded.clear()


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# How to write an answer of each kind: the checker's hint, and the course platform's (registration/homework.py).
FORMAT_HINTS = {
    "int": "write a whole number, e.g. 1234",
    "float": "write a number, e.g. 12.34",
    "date": "write dates as YYYY-MM-DD, e.g. 2021-01-15",
    "text": "write the text, e.g. a zone's name",
}


def read_answers(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise HomeworkError(f"{path}: no answers file; copy the block at the end of homework.md into {path.name}")
    try:
        answers = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise HomeworkError(f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(answers, dict):
        raise HomeworkError(f"{path.name} must map question ids to answers, e.g. `q1: 1234`")
    return {str(k): v for k, v in answers.items()}


def grade(week: int, answers_file: Path | None = None, settings: Settings | None = None) -> list[Grade]:
    """Grade a week's answers file against the answers computed from the student's data."""
    settings = settings or get_settings()
    questions(week)  # a week without homework says so before asking for a file
    answers = read_answers(Path(answers_file or week_folder(week) / ANSWERS_FILE))
    grades = []
    try:
        for q in questions(week):
            try:
                expected = q.answer(settings)
            except NotLoaded as exc:
                grades.append(Grade(q.id, answers.get(q.id), None, False, f"cannot check yet: {exc}"))
                continue
            given = answers.get(q.id)
            note = "not answered" if given is None else ""
            correct = same(given, expected, q.kind)
            if not correct and q.kind == "date" and given is not None and not _ISO_DATE.match(str(given).strip()):
                note = FORMAT_HINTS["date"]
            grades.append(Grade(q.id, given, expected, correct, note))
    finally:
        _loaded.clear()
    ids = [q.id for q in questions(week)]
    for key in answers:  # a typo (q6 for q5, Q1) would otherwise be ignored without a word
        if key not in ids:
            grades.append(Grade(key, answers[key], None, False,
                                f"not a question of week {week} (its questions: {', '.join(ids)})"))
    return grades
