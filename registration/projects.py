"""Projects on the platform: a cohort's capstone hand-in (repository URL + commit), three peer reviewers for each
project (never its author; everyone reviews as many as they are reviewed by), reviews with the course's rubric
(``zoomcamp.rubric.RUBRIC``) until the review deadline, then scores and certificates.

A project is *open* until its deadline, *closed* after it, *reviewing* once reviewers are assigned (until the
review deadline), *reviewed* after that, *scored* once an instructor scored it. A project's score is the median of
its reviews' totals; it passes with at least half the rubric's points when its author handed in every review
they were given. A passed project's certificate has a random code: /certificate/<code> shows it to anyone with
the link, which is how it is verified.
"""

from __future__ import annotations

import math
import random
import re
import secrets
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .accounts import _aware
from .homework import Closed
from .models import Project, ProjectReview, ProjectSubmission, Registration, Student

REVIEWERS = 3
PASS_FRACTION = 0.5
COMMENT_MAX = 2000
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
_POINTS = re.compile(r"(\d+):")


@dataclass(frozen=True)
class Criterion:
    name: str
    max_points: int
    description: str
    allowed: tuple[int, ...]  # the points the rubric names ("0: ...; 2: ...; 4: ...")


@cache
def rubric() -> tuple[Criterion, ...]:
    """The review form: the course's rubric, criterion by criterion."""
    from zoomcamp.rubric import RUBRIC

    return tuple(Criterion(name, top, text, tuple(sorted({int(p) for p in _POINTS.findall(text)} | {0, top})))
                 for name, (top, text) in RUBRIC.items())


def max_total() -> int:
    return sum(c.max_points for c in rubric())


def pass_mark() -> int:
    return math.ceil(max_total() * PASS_FRACTION)


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    cohort: str
    deadline: datetime
    review_deadline: datetime
    assigned_at: datetime | None
    scored_at: datetime | None

    def state(self, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        if self.scored_at:
            return "scored"
        if self.assigned_at:
            return "reviewing" if now < self.review_deadline else "reviewed"
        return "open" if now < self.deadline else "closed"


def _info(row) -> ProjectInfo:
    return ProjectInfo(row.id, row.cohort, _aware(row.deadline), _aware(row.review_deadline), _aware(row.assigned_at),
                       _aware(row.scored_at))


def check_repository(url: str, commit: str) -> tuple[tuple[str, str] | None, dict[str, str]]:
    """(url, commit) cleaned, or None and one message per wrong field."""
    url, commit = url.strip(), commit.strip().lower()
    errors = {}
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or len(url) > 300 or any(c.isspace() for c in url):
        errors["repo_url"] = "the repository's https address, e.g. https://github.com/you/project"
    if not _COMMIT.fullmatch(commit):
        errors["commit"] = "the commit to review: its hash, 7 to 40 hexadecimal characters (git rev-parse HEAD)"
    return (None, errors) if errors else ((url, commit), {})


def check_review(form: dict[str, str]) -> tuple[dict[str, int] | None, str | None, dict[str, str]]:
    """(points per criterion, comment) from a review form (fields c0, c1, ... and comment), or errors."""
    scores, errors = {}, {}
    for i, criterion in enumerate(rubric()):
        raw = form.get(f"c{i}", "").strip()
        if not raw.isdigit() or int(raw) not in criterion.allowed:
            errors[f"c{i}"] = f"choose one of {', '.join(map(str, criterion.allowed))}"
        else:
            scores[criterion.name] = int(raw)
    comment = form.get("comment", "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = f"at most {COMMENT_MAX} characters"
    return (None, None, errors) if errors else (scores, comment or None, {})


def reviewers_for(authors: list[int], rng: random.Random) -> dict[int, list[int]]:
    """author -> REVIEWERS other authors (all the others when there are fewer), each reviewing as many as
    reviewed by: the authors in a shuffled ring, each reviewed by the next ones."""
    ring = list(authors)
    rng.shuffle(ring)
    k = min(REVIEWERS, len(ring) - 1)
    return {author: [ring[(i + step) % len(ring)] for step in range(1, k + 1)] for i, author in enumerate(ring)}


class Projects:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def open(self, cohort: str, deadline: datetime, review_deadline: datetime) -> int | None:
        """A cohort's project; None when the cohort has one already."""
        try:
            with self.engine.begin() as conn:
                return conn.execute(sa.insert(Project).values(
                    cohort=cohort, deadline=deadline, review_deadline=review_deadline, created_at=datetime.now(UTC))
                    .returning(Project.id)).scalar_one()
        except IntegrityError:
            return None

    def get(self, project_id: int) -> ProjectInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(Project).where(Project.id == project_id)).first()
        return _info(row) if row else None

    def of_cohort(self, cohort: str) -> ProjectInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(Project).where(Project.cohort == cohort)).first()
        return _info(row) if row else None

    def every(self) -> list[ProjectInfo]:
        with self.engine.connect() as conn:
            return [_info(row) for row in conn.execute(sa.select(Project).order_by(Project.cohort))]

    def set_deadlines(self, project_id: int, deadline: datetime | None = None,
                      review_deadline: datetime | None = None) -> bool:
        values = {k: v for k, v in (("deadline", deadline), ("review_deadline", review_deadline)) if v}
        with self.engine.begin() as conn:
            return conn.execute(sa.update(Project).where(Project.id == project_id, Project.scored_at.is_(None))
                                .values(**values)).rowcount == 1

    # Handing in --------------------------------------------------------------------------------------------
    def submit(self, project_id: int, student_id: int, repo_url: str, commit: str) -> datetime:
        """Store (or replace) the student's project; :class:`Closed` from the deadline on (checked in the writing
        transaction, as for homework)."""
        for _ in range(3):
            now = datetime.now(UTC)
            still_open = sa.exists().where(Project.id == project_id, Project.deadline > now,
                                           Project.assigned_at.is_(None))
            values = {"repo_url": repo_url, "commit": commit, "submitted_at": now}
            try:
                with self.engine.begin() as conn:
                    if conn.execute(sa.update(ProjectSubmission).where(
                            ProjectSubmission.project_id == project_id, ProjectSubmission.student_id == student_id,
                            still_open).values(**values)).rowcount:
                        return now
                    conn.execute(sa.insert(ProjectSubmission).values(project_id=project_id, student_id=student_id,
                                                                     **values))
                    if conn.execute(sa.select(still_open)).scalar():
                        return now
                    raise Closed
            except IntegrityError:
                project = self.get(project_id)
                if project is None or project.state(now) != "open":
                    raise Closed from None
        raise RuntimeError("could not store the project; try again")

    def submission_of(self, project_id: int, student_id: int):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(ProjectSubmission).where(
                ProjectSubmission.project_id == project_id, ProjectSubmission.student_id == student_id)).first()

    # Peer review -------------------------------------------------------------------------------------------
    def assign(self, project_id: int, seed: int | None = None) -> int:
        """Give every project its reviewers (once, after the deadline); the number of reviews to write."""
        project = self.get(project_id)
        if project is None or project.state() != "closed":
            raise Closed
        with self.engine.begin() as conn:
            authors = dict(conn.execute(sa.select(ProjectSubmission.student_id, ProjectSubmission.id)
                                        .where(ProjectSubmission.project_id == project_id)).all())
            plan = reviewers_for(sorted(authors), random.Random(seed if seed is not None else secrets.randbits(64)))
            rows = [{"submission_id": authors[author], "reviewer_id": reviewer}
                    for author, reviewers in plan.items() for reviewer in reviewers]
            if rows:
                conn.execute(sa.insert(ProjectReview), rows)
            if not conn.execute(sa.update(Project).where(Project.id == project_id, Project.assigned_at.is_(None))
                                .values(assigned_at=datetime.now(UTC))).rowcount:
                raise Closed  # assigned meanwhile by another click: this one's rows roll back
        return len(rows)

    def reviews_by(self, project_id: int, reviewer_id: int) -> list:
        """The reviews a student was given: id, the project's repository and commit, whether done."""
        with self.engine.connect() as conn:
            return list(conn.execute(
                sa.select(ProjectReview.id, ProjectReview.reviewed_at, ProjectSubmission.repo_url,
                          ProjectSubmission.commit)
                .join(ProjectSubmission, ProjectSubmission.id == ProjectReview.submission_id)
                .where(ProjectSubmission.project_id == project_id, ProjectReview.reviewer_id == reviewer_id)
                .order_by(ProjectReview.id)))

    def review(self, review_id: int, reviewer_id: int):
        """A review, only for its reviewer (None for anyone else): with the project's repository and commit."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(ProjectReview.id, ProjectReview.scores, ProjectReview.comment, ProjectReview.reviewed_at,
                          ProjectSubmission.repo_url, ProjectSubmission.commit, ProjectSubmission.project_id)
                .join(ProjectSubmission, ProjectSubmission.id == ProjectReview.submission_id)
                .where(ProjectReview.id == review_id, ProjectReview.reviewer_id == reviewer_id)).first()

    def save_review(self, review_id: int, reviewer_id: int, scores: dict[str, int], comment: str | None) -> bool:
        """Hand in (or change) a review until the review deadline; False when it is not the reviewer's.
        :class:`Closed` after the review deadline."""
        now = datetime.now(UTC)
        reviewing = (sa.select(ProjectSubmission.id).join(Project, Project.id == ProjectSubmission.project_id)
                     .where(Project.review_deadline > now, Project.scored_at.is_(None),
                            Project.assigned_at.is_not(None)))
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(ProjectReview).where(
                ProjectReview.id == review_id, ProjectReview.reviewer_id == reviewer_id,
                ProjectReview.submission_id.in_(reviewing)).values(scores=scores, comment=comment, reviewed_at=now))
        if changed.rowcount:
            return True
        if self.review(review_id, reviewer_id) is None:
            return False
        raise Closed

    # Scores and certificates -----------------------------------------------------------------------------
    def score(self, project_id: int) -> int:
        """Score every project after the review deadline (again: replaces the scores, keeps certificate codes);
        the number of projects that passed."""
        project = self.get(project_id)
        if project is None or project.assigned_at is None or project.review_deadline > datetime.now(UTC):
            raise Closed
        passed = 0
        with self.engine.begin() as conn:
            submissions = conn.execute(sa.select(ProjectSubmission.id, ProjectSubmission.student_id,
                                                 ProjectSubmission.certificate)
                                       .where(ProjectSubmission.project_id == project_id)).all()
            reviews = conn.execute(sa.select(ProjectReview.submission_id, ProjectReview.reviewer_id,
                                             ProjectReview.scores)
                                   .join(ProjectSubmission, ProjectSubmission.id == ProjectReview.submission_id)
                                   .where(ProjectSubmission.project_id == project_id)).all()
            for sub in submissions:
                totals = [sum(r.scores.values()) for r in reviews if r.submission_id == sub.id and r.scores]
                owed = [r for r in reviews if r.reviewer_id == sub.student_id]
                score = float(statistics.median(totals)) if totals else None
                ok = score is not None and score >= pass_mark() and all(r.scores for r in owed)
                passed += ok
                conn.execute(sa.update(ProjectSubmission).where(ProjectSubmission.id == sub.id).values(
                    score=score, passed=ok, certificate=(sub.certificate or secrets.token_urlsafe(18)) if ok
                    else sub.certificate))
            conn.execute(sa.update(Project).where(Project.id == project_id).values(scored_at=datetime.now(UTC)))
        return passed

    def received(self, submission_id: int) -> list[dict]:
        """The reviews a project got (for its author once scored): points per criterion and the comment, without
        the reviewers' names."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(ProjectReview.scores, ProjectReview.comment).where(
                ProjectReview.submission_id == submission_id, ProjectReview.scores.is_not(None))
                .order_by(ProjectReview.id)).all()
        return [{"scores": r.scores, "total": sum(r.scores.values()), "comment": r.comment} for r in rows]

    def certificate(self, code: str):
        """name, cohort, score, issued (the project's scoring time) of a certificate, or None."""
        if not re.fullmatch(r"[A-Za-z0-9_-]{24}", code):
            return None
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(Registration.name, Project.cohort, ProjectSubmission.score, Project.scored_at,
                          ProjectSubmission.repo_url)
                .join(Student, Student.id == ProjectSubmission.student_id)
                .join(Registration, Registration.id == Student.registration_id)
                .join(Project, Project.id == ProjectSubmission.project_id)
                .where(ProjectSubmission.certificate == code, ProjectSubmission.passed.is_(True))).first()

    def submissions(self, project_id: int) -> list:
        """Every project of the cohort with its author, for the instructor (and the CSV export)."""
        with self.engine.connect() as conn:
            reviews_done = (sa.select(sa.func.count()).where(ProjectReview.reviewer_id == ProjectSubmission.student_id,
                                                             ProjectReview.scores.is_not(None),
                                                             ProjectReview.submission_id.in_(
                                                                 sa.select(ProjectSubmission.id).where(
                                                                     ProjectSubmission.project_id == project_id)))
                            .scalar_subquery())
            return list(conn.execute(
                sa.select(Registration.reference, Registration.name, Registration.email, ProjectSubmission.repo_url,
                          ProjectSubmission.commit, ProjectSubmission.submitted_at, ProjectSubmission.score,
                          ProjectSubmission.passed, reviews_done.label("reviews_done"))
                .join(Student, Student.id == ProjectSubmission.student_id)
                .join(Registration, Registration.id == Student.registration_id)
                .where(ProjectSubmission.project_id == project_id).order_by(ProjectSubmission.submitted_at)))
