"""The registration app's settings, read from the course settings (env ZOOMCAMP_REGISTRATION_* > zoomcamp.toml).

One object the app is built from; tests build it directly with the values they need.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from zoomcamp.errors import CourseError
from zoomcamp.settings import Settings, get_settings

PASSWORD_HINT = (
    "make a hash with `zoomcamp registration hash-password`, then set ZOOMCAMP_REGISTRATION_PASSWORD_HASH "
    "(or password_hash under [registration] in zoomcamp.toml) and restart the app"
)


class RegistrationError(CourseError):
    """Something about the registration app's configuration or database that a person can fix."""


@dataclass(frozen=True)
class Config:
    database_url: str
    # Holds the signing key (and the SQLite file by default).
    folder: Path
    cohorts: tuple[str, ...]
    password_hash: str | None = None
    # Submissions per client IP per minute (0 = none); login attempts have their own, fixed limit.
    rate_limit: int = 10
    login_rate_limit: int = 10
    # scrypt's cost for students' passwords: the instructor's (2^17) unless a test makes it cheaper.
    student_scrypt_n: int = 2**17

    def __post_init__(self) -> None:
        if not self.cohorts:
            raise RegistrationError("registration_cohorts is empty: list at least one cohort, e.g. \"2026\"")
        if self.rate_limit < 0:
            raise RegistrationError(f"registration_rate_limit must be 0 (no limit) or more, not {self.rate_limit}")
        if self.password_hash:
            from .security import check_hash_format

            check_hash_format(self.password_hash)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> Config:
        s = settings or get_settings()
        folder = s.home / "registration"
        url = s.registration_database_url or f"sqlite:///{folder / 'registration.db'}"
        cohorts = tuple(c.strip() for c in s.registration_cohorts.split(",") if c.strip())
        config = cls(database_url=url, folder=folder, cohorts=cohorts,
                     password_hash=s.registration_password_hash or None, rate_limit=s.registration_rate_limit)
        return replace(config, **overrides) if overrides else config

    def proxy_secret(self) -> str:
        """What the reverse proxy sends in ``X-Zoomcamp-Proxy`` (``--behind-proxy``): made once, kept in
        <folder>/proxy_secret (owner-only)."""
        return self._secret_file("proxy_secret").decode()

    def secret_key(self) -> bytes:
        """The key that signs CSRF tokens and the instructor's cookie: made once, kept in <folder>/secret_key
        (owner-only), so sessions and open forms survive a restart."""
        return self._secret_file("secret_key")

    def _secret_file(self, name: str) -> bytes:
        path = self.folder / name
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            # Written aside, then linked into place: two apps starting together end up with the same key.
            tmp = self.folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise RegistrationError(f"{path} is damaged (too short): delete it and restart the app")
        return key
