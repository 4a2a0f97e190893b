"""The app's tables (SQLAlchemy models): registrations, the accounts made from them, and what students hand in.

Every table is made and changed by the Alembic migrations in ``migrations/versions/``; ``alembic check`` (and
``test_the_migrations_build_exactly_the_models``) says whether these models and the migrations agree.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    # Named constraints: the same names on SQLite and PostgreSQL, so migrations can refer to them.
    metadata = sa.MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    })


class Registration(Base):
    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(254))  # as typed (trimmed)
    email_normalized: Mapped[str] = mapped_column(sa.String(254), unique=True)
    country: Mapped[str] = mapped_column(sa.String(2), index=True)
    timezone: Mapped[str] = mapped_column(sa.String(64))
    experience: Mapped[str] = mapped_column(sa.String(20), index=True)
    role: Mapped[str] = mapped_column(sa.String(30))
    cloud: Mapped[str] = mapped_column(sa.String(10))
    # Added by migration 0002: registrations from before it have none.
    heard_from: Mapped[str | None] = mapped_column(sa.String(20))
    cohort: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class InstructorSession(Base):
    """A logged-in instructor (migration 0003): the cookie's session id, hashed; logout deletes the row."""
    __tablename__ = "instructor_sessions"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class Student(Base):
    """The account a registration makes (migration 0004). No password until the student sets one through a
    one-time link (shown after registering, or issued by an instructor)."""
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registrations.id", ondelete="CASCADE"), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    # Shown on the leaderboard instead of the name when set.
    alias: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class StudentSession(Base):
    """A logged-in student: the cookie's session id, hashed; logging out (or a new password) deletes the row."""
    __tablename__ = "student_sessions"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class StudentToken(Base):
    """A secret given to a student, kept hashed: ``link`` = a one-time set-password link, ``api`` = an API token
    (revocable from the account page)."""
    __tablename__ = "student_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Homework(Base):
    """A week's homework opened for a cohort (migration 0005). The questions (id, kind) are the course's for that
    week (``zoomcamp.weeks.week_N.QUESTIONS``); the right answers are computed and stored when it is scored."""
    __tablename__ = "homeworks"
    __table_args__ = (sa.UniqueConstraint("cohort", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort: Mapped[str] = mapped_column(sa.String(40))
    week: Mapped[int] = mapped_column()
    deadline: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    questions: Mapped[list] = mapped_column(sa.JSON)
    expected: Mapped[dict | None] = mapped_column(sa.JSON)
    scored_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class HomeworkSubmission(Base):
    """A student's answers to one homework: one row each (a new submission before the deadline replaces it)."""
    __tablename__ = "homework_submissions"
    __table_args__ = (sa.UniqueConstraint("homework_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    homework_id: Mapped[int] = mapped_column(sa.ForeignKey("homeworks.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict] = mapped_column(sa.JSON)
    links: Mapped[list] = mapped_column(sa.JSON)
    time_spent: Mapped[float | None] = mapped_column(sa.Float)  # hours
    comments: Mapped[str | None] = mapped_column(sa.String(2000))
    submitted_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    # Set by scoring: right answers, and those plus the learning-in-public points.
    correct: Mapped[int | None] = mapped_column()
    score: Mapped[int | None] = mapped_column()


class Project(Base):
    """A cohort's capstone project (migration 0006): hand-in deadline, then peer review until the review deadline."""
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort: Mapped[str] = mapped_column(sa.String(40), unique=True)
    deadline: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    review_deadline: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    assigned_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    scored_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class ProjectSubmission(Base):
    """A student's project: a repository and the commit to review; its score and certificate once scored."""
    __tablename__ = "project_submissions"
    __table_args__ = (sa.UniqueConstraint("project_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id", ondelete="CASCADE"), index=True)
    repo_url: Mapped[str] = mapped_column(sa.String(300))
    commit: Mapped[str] = mapped_column(sa.String(40))
    submitted_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    score: Mapped[float | None] = mapped_column(sa.Float)  # the median of its reviews' totals
    passed: Mapped[bool | None] = mapped_column()
    # A random code: /certificate/<code> shows (and so verifies) the certificate.
    certificate: Mapped[str | None] = mapped_column(sa.String(32), unique=True)


class ProjectReview(Base):
    """A peer's review of a project with the course's rubric (criterion -> points); empty until handed in."""
    __tablename__ = "project_reviews"
    __table_args__ = (sa.UniqueConstraint("submission_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("project_submissions.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id", ondelete="CASCADE"), index=True)
    scores: Mapped[dict | None] = mapped_column(sa.JSON)
    comment: Mapped[str | None] = mapped_column(sa.String(2000))
    reviewed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
