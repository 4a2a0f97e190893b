"""Homework on the platform: opening a week's questions for a cohort, taking submissions until the deadline,
scoring them against the right answers, and the statistics students see afterwards.

The questions are the course's own (``zoomcamp.homework.questions(week)``: ids and kinds; their wording is the
week's homework.md); answers are parsed by kind with the local checker's format hints and compared with
``zoomcamp.answers.same``, as ``zoomcamp homework check`` does. A homework is *open* until its deadline, *closed*
after it, *scored* once an instructor scored it (again after a re-scoring).
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zoomcamp.answers import same
from zoomcamp.homework import FORMAT_HINTS

from .accounts import _aware
from .models import Homework, HomeworkSubmission, Registration, Student

LINK_POINTS_CAP = 7  # learning-in-public links: one point each, at most this many
MAX_LINKS = 10
ANSWER_MAX = 200
COMMENTS_MAX = 2000
_INT = re.compile(r"[+-]?\d{1,15}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Closed(Exception):
    """The deadline has passed (or the homework is scored): nothing is taken any more."""


@dataclass(frozen=True)
class HomeworkInfo:
    id: int
    cohort: str
    week: int
    deadline: datetime
    questions: list[tuple[str, str]]  # (id, kind)
    expected: dict[str, Any] | None
    scored_at: datetime | None

    def state(self, now: datetime | None = None) -> str:
        if self.scored_at is not None:
            return "scored"
        return "open" if (now or datetime.now(UTC)) < self.deadline else "closed"


@dataclass(frozen=True)
class Answers:
    """A submission, parsed and checked."""
    answers: dict[str, Any]
    links: list[str]
    time_spent: float | None
    comments: str | None


def parse_answer(kind: str, text: str) -> tuple[Any, str | None]:
    """(the value, None), or (None, the format hint) when ``text`` is not an answer of that kind. Empty = not
    answered (None, None)."""
    text = text.strip()
    if not text:
        return None, None
    if len(text) > ANSWER_MAX:
        return None, f"at most {ANSWER_MAX} characters"
    if kind == "int":
        compact = text.replace(",", "").replace("_", "")
        return (int(compact), None) if _INT.fullmatch(compact) else (None, FORMAT_HINTS["int"])
    if kind == "float":
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            return None, FORMAT_HINTS["float"]
        return (number, None) if math.isfinite(number) else (None, FORMAT_HINTS["float"])
    if kind == "date":
        try:
            return (date.fromisoformat(text).isoformat(), None) if _DATE.fullmatch(text) else (None,
                                                                                            FORMAT_HINTS["date"])
        except ValueError:
            return None, FORMAT_HINTS["date"]
    return text, None


def parse_submission(questions: list[tuple[str, str]], given: dict[str, str], links: str = "",
                     time_spent: str = "", comments: str = "") -> tuple[Answers | None, dict[str, str]]:
    """The answers parsed by their questions' kinds, or None and one message per field that is wrong."""
    errors: dict[str, str] = {}
    answers = {}
    for qid, kind in questions:
        value, hint = parse_answer(kind, str(given.get(qid, "") or ""))
        if hint:
            errors[qid] = hint
        elif value is not None:
            answers[qid] = value
    urls = [line.strip() for line in links.splitlines() if line.strip()]
    if len(urls) > MAX_LINKS:
        errors["links"] = f"at most {MAX_LINKS} links"
    elif any(urlsplit(u).scheme not in ("http", "https") or not urlsplit(u).netloc or len(u) > 500 for u in urls):
        errors["links"] = "one http(s) address per line, e.g. https://www.linkedin.com/posts/..."
    hours = None
    if time_spent.strip():
        try:
            hours = float(time_spent)
            if not 0 <= hours <= 200:
                raise ValueError
        except ValueError:
            errors["time_spent"] = "hours between 0 and 200, e.g. 3.5"
    if len(comments) > COMMENTS_MAX:
        errors["comments"] = f"at most {COMMENTS_MAX} characters"
    if errors:
        return None, errors
    return Answers(answers, list(dict.fromkeys(urls)), hours, comments.strip() or None), {}


def json_value(value: Any) -> Any:
    """A right answer as JSON: dates as YYYY-MM-DD, NumPy numbers as Python ones."""
    if isinstance(value, date | datetime):
        return value.isoformat()[:10]
    if hasattr(value, "item"):
        return value.item()
    return value


def five_numbers(values: list[float]) -> dict[str, float] | None:
    """min, quartiles, median, max (inclusive quartiles); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        q1 = median = q3 = ordered[0]
    else:
        q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return {"min": ordered[0], "q1": q1, "median": median, "q3": q3, "max": ordered[-1], "count": len(ordered)}


def _info(row) -> HomeworkInfo:
    return HomeworkInfo(row.id, row.cohort, row.week, _aware(row.deadline), [tuple(q) for q in row.questions],
                        row.expected, _aware(row.scored_at))


class Homeworks:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def open(self, cohort: str, week: int, deadline: datetime) -> int | None:
        """Open a week's homework for a cohort; None when that cohort has it already."""
        from zoomcamp.homework import questions

        asked = [[q.id, q.kind] for q in questions(week)]
        try:
            with self.engine.begin() as conn:
                return conn.execute(sa.insert(Homework).values(
                    cohort=cohort, week=week, deadline=deadline, questions=asked,
                    created_at=datetime.now(UTC)).returning(Homework.id)).scalar_one()
        except IntegrityError:
            return None

    def get(self, homework_id: int) -> HomeworkInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(Homework).where(Homework.id == homework_id)).first()
        return _info(row) if row else None

    def find(self, cohort: str, week: int) -> HomeworkInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(Homework).where(Homework.cohort == cohort, Homework.week == week)).first()
        return _info(row) if row else None

    def of_cohort(self, cohort: str | None = None) -> list[HomeworkInfo]:
        """Every homework (of one cohort), by cohort and week."""
        select = sa.select(Homework).order_by(Homework.cohort, Homework.week)
        if cohort is not None:
            select = select.where(Homework.cohort == cohort)
        with self.engine.connect() as conn:
            return [_info(row) for row in conn.execute(select)]

    def set_deadline(self, homework_id: int, deadline: datetime) -> bool:
        """Move the deadline (not of a scored homework: its scores would no longer match what was taken)."""
        with self.engine.begin() as conn:
            return conn.execute(sa.update(Homework).where(Homework.id == homework_id, Homework.scored_at.is_(None))
                                .values(deadline=deadline)).rowcount == 1

    def submit(self, homework_id: int, student_id: int, given: Answers, at: datetime | None = None) -> datetime:
        """Store (or replace) the student's submission as handed in at ``at`` (default: now; the app passes the
        moment the request reached it, so a queue on a busy server does not make a hand-in late); that time.
        :class:`Closed` when ``at`` is not before the deadline, or the homework is scored.

        The deadline is checked in the writing transaction against the time stored (an update only ``WHERE`` the
        homework is open; an insert checked right after it, rolled back if closed), so nothing stored is later
        than the deadline; each transaction writes first, so SQLite's writers queue for the lock instead of
        failing on a stale read; and an older hand-in never replaces a newer one that was written first."""
        at = at or datetime.now(UTC)
        values = {"answers": given.answers, "links": given.links, "time_spent": given.time_spent,
                  "comments": given.comments, "submitted_at": at}
        mine = sa.and_(HomeworkSubmission.homework_id == homework_id, HomeworkSubmission.student_id == student_id)
        still_open = sa.exists().where(Homework.id == homework_id, Homework.deadline > at,
                                       Homework.scored_at.is_(None))
        for _ in range(3):  # two first submissions of one student at once: the second insert becomes an update
            try:
                with self.engine.begin() as conn:
                    if conn.execute(sa.update(HomeworkSubmission).where(
                            mine, HomeworkSubmission.submitted_at <= at, still_open).values(**values)).rowcount:
                        return at
                    if not conn.execute(sa.select(still_open)).scalar():
                        raise Closed
                    if conn.execute(sa.select(HomeworkSubmission.id).where(mine)).first():
                        return at  # a newer hand-in of this student is stored already: it stands
                    conn.execute(sa.insert(HomeworkSubmission).values(homework_id=homework_id,
                                                                      student_id=student_id, **values))
                    return at
            except IntegrityError:  # the row appeared meanwhile: update it
                continue
        raise RuntimeError("could not store the submission; try again")

    def submission(self, homework_id: int, student_id: int):
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(HomeworkSubmission).where(
                HomeworkSubmission.homework_id == homework_id, HomeworkSubmission.student_id == student_id)).first()
        return row

    def submissions(self, homework_id: int) -> list:
        """Every submission with the student's name, email and reference, by time."""
        with self.engine.connect() as conn:
            return list(conn.execute(
                sa.select(HomeworkSubmission, Registration.name, Registration.email, Registration.reference)
                .join(Student, Student.id == HomeworkSubmission.student_id)
                .join(Registration, Registration.id == Student.registration_id)
                .where(HomeworkSubmission.homework_id == homework_id).order_by(HomeworkSubmission.submitted_at)))

    def score(self, homework_id: int, expected: dict[str, Any]) -> int:
        """Score every submission against ``expected`` (kept on the homework; scoring again replaces the scores);
        the number scored. Only after the deadline."""
        homework = self.get(homework_id)
        if homework is None or homework.deadline > datetime.now(UTC):
            raise Closed
        expected = {qid: json_value(value) for qid, value in expected.items()}
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(HomeworkSubmission.id, HomeworkSubmission.answers, HomeworkSubmission.links)
                                .where(HomeworkSubmission.homework_id == homework_id)).all()
            for row in rows:
                correct = sum(same(row.answers.get(qid), expected.get(qid), kind) for qid, kind in homework.questions)
                conn.execute(sa.update(HomeworkSubmission).where(HomeworkSubmission.id == row.id).values(
                    correct=correct, score=correct + min(len(row.links), LINK_POINTS_CAP)))
            conn.execute(sa.update(Homework).where(Homework.id == homework_id).values(
                expected=expected, scored_at=datetime.now(UTC)))
        return len(rows)

    def statistics(self, homework_id: int) -> dict[str, Any]:
        """The five numbers of the scores and of the time spent (hours), over the scored submissions."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(HomeworkSubmission.score, HomeworkSubmission.time_spent).where(
                HomeworkSubmission.homework_id == homework_id, HomeworkSubmission.score.is_not(None))).all()
        return {"submissions": len(rows), "score": five_numbers([r.score for r in rows]),
                "time_spent": five_numbers([r.time_spent for r in rows if r.time_spent is not None])}

    def scores_of(self, student_id: int, cohort: str) -> list[dict[str, Any]]:
        """The student's homework (their cohort's): week, state, whether handed in, score (None until scored)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(Homework, HomeworkSubmission.score, HomeworkSubmission.submitted_at)
                .select_from(Homework)
                .outerjoin(HomeworkSubmission, sa.and_(HomeworkSubmission.homework_id == Homework.id,
                                                       HomeworkSubmission.student_id == student_id))
                .where(Homework.cohort == cohort).order_by(Homework.week)).all()
        return [{"homework": info.id, "week": info.week, "state": info.state(), "deadline": info.deadline.isoformat(),
                 "submitted": submitted is not None, "score": score if info.scored_at else None}
                for info, score, submitted in ((_info(r), r.score, r.submitted_at) for r in rows)]
