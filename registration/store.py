"""The database: the engine (SQLite file or PostgreSQL), migrations, registrations and the instructor's sessions;
``Store.accounts``, ``.homework`` and ``.projects`` are the platform's parts on the same engine (the tables are in
``models``).

Every query goes through SQLAlchemy with bound parameters; no SQL is built from strings. The unique constraint
on ``email_normalized`` is what makes a second registration of one address impossible, even when two arrive
in the same millisecond: the database refuses the second insert and the app says "already registered".
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError

from .accounts import Accounts
from .config import RegistrationError
from .forms import Submission
from .homework import Homeworks
from .models import Base, InstructorSession, Registration, Student  # noqa: F401  (Base: for migrations and tests)
from .projects import Projects

MIGRATIONS = Path(__file__).parent / "migrations"
# A reference people can read out: no 0/O, 1/I/L. 10 characters = about 49 bits, not guessable.
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


EXPORT_COLUMNS = ("reference", "created_at", "name", "email", "country", "timezone", "experience", "role", "cloud",
                  "heard_from", "cohort")


def new_reference() -> str:
    return "ZC-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a database URL>"


def _private_sqlite_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (it holds every registrant's name and email), and close
    one made before that. SQLite gives its ``-wal`` and ``-shm`` files the database file's mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
                 path.with_name(path.name + "-journal")):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except FileNotFoundError:
            pass


def make_engine(url: str) -> sa.Engine:
    try:
        parsed = sa.make_url(url)
    except ArgumentError:
        raise RegistrationError(
            f"registration_database_url is not a database URL: {url!r} (e.g. sqlite:///path/registration.db or "
            "postgresql+psycopg2://user:password@127.0.0.1:5432/registration)") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_sqlite_file(Path(parsed.database))
        # Writers wait for each other (up to 30 s) instead of failing with "database is locked".
        engine = sa.create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False},
                                  pool_size=10, max_overflow=20)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer, nor it them
            cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: commits survive a crash of the app
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except NoSuchModuleError:
        raise RegistrationError(f"no driver for {parsed.drivername!r} in {safe_url(url)}: "
                                "use sqlite:///... or postgresql+psycopg2://...") from None


def alembic_config(connection: sa.Connection | None = None):
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@dataclass
class Counts:
    total: int
    by_country: list[tuple[str, int]]
    by_experience: list[tuple[str, int]]


class Store:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.accounts = Accounts(self.engine)
        self.homework = Homeworks(self.engine)
        self.projects = Projects(self.engine)

    # Schema ----------------------------------------------------------------------------------------------
    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` (Alembic; rows are kept). Safe to run on every start."""
        from alembic import command

        try:
            with self.engine.begin() as conn:
                command.upgrade(alembic_config(conn), revision)
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise RegistrationError(f"cannot use the registration database {safe_url(self.url)}: {reason}") from None

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    # Writes ----------------------------------------------------------------------------------------------
    def register(self, sub: Submission) -> str | None:
        """Store a registration and make its student account; the reference, or None when the address is already
        registered."""
        values = {"name": sub.name, "email": sub.email, "email_normalized": sub.email_normalized,
                  "country": sub.country, "timezone": sub.timezone, "experience": sub.experience, "role": sub.role,
                  "cloud": sub.cloud, "heard_from": sub.heard_from, "cohort": sub.cohort}
        for _ in range(3):  # a clash of random references is next to impossible; try again if it happens
            reference = new_reference()
            try:
                now = datetime.now(UTC)
                with self.engine.begin() as conn:  # the registration and its account, together or neither
                    registration_id = conn.execute(sa.insert(Registration).values(
                        reference=reference, created_at=now, **values).returning(Registration.id)).scalar_one()
                    conn.execute(sa.insert(Student).values(registration_id=registration_id, created_at=now))
                return reference
            except IntegrityError:
                if self.is_registered(sub.email_normalized):
                    return None
        raise RuntimeError("could not store the registration (reference clashes); try again")

    # The instructor's sessions ------------------------------------------------------------------------
    @staticmethod
    def _session_key(session_id: str) -> str:
        return hashlib.sha256(session_id.encode()).hexdigest()

    def open_session(self, session_id: str, seconds: int) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(InstructorSession).where(InstructorSession.expires_at < now))  # old ones go
            conn.execute(sa.insert(InstructorSession).values(id_hash=self._session_key(session_id),
                                                             expires_at=now + timedelta(seconds=seconds)))

    def session_open(self, session_id: str) -> bool:
        with self.engine.connect() as conn:
            expires = conn.execute(sa.select(InstructorSession.expires_at).where(
                InstructorSession.id_hash == self._session_key(session_id))).scalar_one_or_none()
        if expires is None:
            return False
        if expires.tzinfo is None:  # SQLite gives naive datetimes back
            expires = expires.replace(tzinfo=UTC)
        return expires > datetime.now(UTC)

    def close_session(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(InstructorSession).where(
                InstructorSession.id_hash == self._session_key(session_id)))

    # Reads -----------------------------------------------------------------------------------------------
    def is_registered(self, email_normalized: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(Registration.id).where(
                Registration.email_normalized == email_normalized)).first()
        return found is not None

    @staticmethod
    def _matching(query: str):
        select = sa.select(Registration)
        query = query.strip().lower()
        if query:
            # LIKE with the user's % and _ escaped: a search for "50%" finds "50%", not everything.
            select = select.where(sa.or_(*(sa.func.lower(column).contains(query, autoescape=True) for column in (
                Registration.name, Registration.email_normalized, Registration.country, Registration.reference,
                Registration.cohort))))
        return select

    def search(self, query: str = "", page: int = 1, per_page: int = 50) -> tuple[list[Registration], int]:
        select = self._matching(query)
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(select.subquery())).scalar_one()
            rows = conn.execute(select.order_by(Registration.id.desc())
                                .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
        return list(rows), total

    def export_rows(self, query: str = "") -> list:
        with self.engine.connect() as conn:
            return list(conn.execute(self._matching(query).order_by(Registration.id)).all())

    def counts(self) -> Counts:
        def grouped(conn, column):
            rows = conn.execute(sa.select(column, sa.func.count()).group_by(column)
                                .order_by(sa.func.count().desc(), column)).all()
            return [(value, n) for value, n in rows]

        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(Registration)).scalar_one()
            return Counts(total, grouped(conn, Registration.country), grouped(conn, Registration.experience))

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.select(1))

    def close(self) -> None:
        self.engine.dispose()
