"""Student accounts in the database: who a student is, their password, sessions, one-time links and API tokens.

Secrets given to a student (session ids, set-password links, API tokens) are random (256 bits) and kept only as
their SHA-256: the tables alone let nobody in. Hashing the password itself (scrypt) is the caller's job, done
outside any transaction and a few at a time (see ``web.Web.hashing_slot``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .models import Registration, Student, StudentSession, StudentToken

LINK_SECONDS = 7 * 24 * 3600  # a set-password link: a week, once
API_TOKEN_PREFIX = "zc_"
MAX_API_TOKENS = 5


@dataclass(frozen=True)
class Account:
    id: int
    reference: str
    name: str
    email: str
    cohort: str
    alias: str | None
    password_hash: str | None

    @property
    def shown_name(self) -> str:
        """What others see (the leaderboard): the alias when there is one."""
        return self.alias or self.name


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; every time this app stores is UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


_ACCOUNT = (sa.select(Student.id, Registration.reference, Registration.name, Registration.email, Registration.cohort,
                      Student.alias, Student.password_hash)
            .join(Registration, Student.registration_id == Registration.id))


class Accounts:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def _one(self, where) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(_ACCOUNT.where(where)).first()
        return Account(*row) if row else None

    def by_id(self, student_id: int) -> Account | None:
        return self._one(Student.id == student_id)

    def by_email(self, email_normalized: str) -> Account | None:
        return self._one(Registration.email_normalized == email_normalized)

    def by_reference(self, reference: str) -> Account | None:
        return self._one(Registration.reference == reference.strip().upper())

    # The password: set through a one-time link -------------------------------------------------------------
    def new_link(self, student_id: int) -> str:
        """A one-time secret for /account/password (a week long); earlier unused links of the student stop working."""
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(StudentToken).where(StudentToken.student_id == student_id,
                                                       StudentToken.kind == "link"))
            conn.execute(sa.insert(StudentToken).values(token_hash=secret_hash(secret), student_id=student_id,
                                                        kind="link", created_at=now,
                                                        expires_at=now + timedelta(seconds=LINK_SECONDS)))
        return secret

    def link_owner(self, secret: str) -> Account | None:
        """The account a set-password link is for, while it is unused and unexpired."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(StudentToken.student_id, StudentToken.expires_at).where(
                StudentToken.token_hash == secret_hash(secret), StudentToken.kind == "link")).first()
        if row is None or _aware(row.expires_at) < datetime.now(UTC):
            return None
        return self.by_id(row.student_id)

    def set_password(self, secret: str, password_hash: str) -> Account | None:
        """Use the link (once: of two posts of one link, one wins): the new password, every session logged out."""
        owner = self.link_owner(secret)
        if owner is None:
            return None
        with self.engine.begin() as conn:
            used = conn.execute(sa.delete(StudentToken).where(StudentToken.token_hash == secret_hash(secret),
                                                              StudentToken.kind == "link"))
            if used.rowcount != 1:
                return None
            conn.execute(sa.update(Student).where(Student.id == owner.id).values(password_hash=password_hash))
            conn.execute(sa.delete(StudentSession).where(StudentSession.student_id == owner.id))
        return owner

    # Sessions ----------------------------------------------------------------------------------------------
    def open_session(self, student_id: int, session_id: str, seconds: int) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(StudentSession).where(StudentSession.expires_at < now))
            conn.execute(sa.insert(StudentSession).values(id_hash=secret_hash(session_id), student_id=student_id,
                                                          expires_at=now + timedelta(seconds=seconds)))

    def session_owner(self, session_id: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(StudentSession.student_id, StudentSession.expires_at).where(
                StudentSession.id_hash == secret_hash(session_id))).first()
        if row is None or _aware(row.expires_at) <= datetime.now(UTC):
            return None
        return self.by_id(row.student_id)

    def close_session(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(StudentSession).where(StudentSession.id_hash == secret_hash(session_id)))

    # API tokens --------------------------------------------------------------------------------------------
    def new_api_token(self, student_id: int) -> str | None:
        """A new API token (shown once), or None when the student already has MAX_API_TOKENS."""
        secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            held = conn.execute(sa.select(sa.func.count()).where(StudentToken.student_id == student_id,
                                                                 StudentToken.kind == "api")).scalar_one()
            if held >= MAX_API_TOKENS:
                return None
            conn.execute(sa.insert(StudentToken).values(token_hash=secret_hash(secret), student_id=student_id,
                                                        kind="api", created_at=datetime.now(UTC)))
        return secret

    def api_tokens(self, student_id: int) -> list[tuple[int, datetime]]:
        """(id, made at) of the student's API tokens, newest first (the tokens themselves are not kept)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(StudentToken.id, StudentToken.created_at).where(
                StudentToken.student_id == student_id, StudentToken.kind == "api")
                .order_by(StudentToken.id.desc())).all()
        return [(row.id, _aware(row.created_at)) for row in rows]

    def revoke_api_token(self, student_id: int, token_id: int) -> bool:
        """Only the student's own token: someone else's id revokes nothing."""
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(StudentToken).where(
                StudentToken.id == token_id, StudentToken.student_id == student_id,
                StudentToken.kind == "api")).rowcount == 1

    def token_owner(self, secret: str) -> Account | None:
        if not secret.startswith(API_TOKEN_PREFIX) or len(secret) > 100:
            return None
        with self.engine.connect() as conn:
            student_id = conn.execute(sa.select(StudentToken.student_id).where(
                StudentToken.token_hash == secret_hash(secret), StudentToken.kind == "api")).scalar_one_or_none()
        return None if student_id is None else self.by_id(student_id)

    # The leaderboard's name ------------------------------------------------------------------------------
    def set_alias(self, student_id: int, alias: str | None) -> bool:
        """False when another student already has that alias."""
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.update(Student).where(Student.id == student_id).values(alias=alias))
        except IntegrityError:
            return False
        return True
