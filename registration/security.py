"""The app's defences, each small enough to read: password hashes, signed values (CSRF tokens, the instructor's
cookie), a per-IP rate limit and the security headers every response carries.

Only the standard library: scrypt (hashlib) for the password, HMAC-SHA256 for signatures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque

from .config import PASSWORD_HINT, RegistrationError

PASSWORD_MIN = 12
PASSWORD_MAX = 1024
# scrypt cost: OWASP's minimum (N=2^17, r=8, p=1): ~0.5 s and 128 MiB per login on a laptop.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SCRYPT_MAXMEM = 2**28

CSRF_COOKIE = "zc_csrf"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "zc_instructor"
STUDENT_COOKIE = "zc_student"
SESSION_SECONDS = 8 * 3600
# expiry (ASCII digits only: str.isdigit() also accepts "²", which int() refuses), session id, signature
_SESSION_COOKIE = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})")

# Scripts and styles from our own files only (no inline code), forms post back here only, never framed.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # Not no-referrer: with it, browsers send "Origin: null" on our own form posts and the origin check is lost.
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the instructor's password ----------------------------------------------------------------------

def hash_password(password: str, *, n: int = SCRYPT_N, whose: str = "the instructor") -> str:
    """``scrypt:N:r:p:salt:key`` (URL-safe base64): safe to put in an environment variable or TOML string.
    Students' passwords are hashed the same way."""
    if len(password) < PASSWORD_MIN:
        raise RegistrationError(f"{whose} password must be at least {PASSWORD_MIN} characters long")
    if len(password) > PASSWORD_MAX:
        raise RegistrationError(f"{whose} password can be at most {PASSWORD_MAX} characters long")
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAXMEM, dklen=32)
    return f"scrypt:{n}:{SCRYPT_R}:{SCRYPT_P}:{_b64(salt)}:{_b64(key)}"


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    try:
        scheme, n, r, p, salt, key = stored.strip().split(":")
        n, r, p = int(n), int(r), int(p)
        salt, key = _unb64(salt), _unb64(key)
    except ValueError:
        scheme = ""
    if scheme != "scrypt" or not (2**10 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16
                                  and 128 * r * n < SCRYPT_MAXMEM and len(salt) >= 16 and len(key) >= 32):
        raise RegistrationError(f"registration_password_hash is not a hash this app made: {PASSWORD_HINT}")
    return n, r, p, salt, key


def check_hash_format(stored: str) -> None:
    _parse_hash(stored)


def verify_password(password: str, stored: str) -> bool:
    n, r, p, salt, key = _parse_hash(stored)
    if len(password) > PASSWORD_MAX:
        return False
    got = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=len(key))
    return hmac.compare_digest(got, key)


# --- signed values: CSRF tokens and the instructor's session --------------------------------------------

class Signer:
    """HMAC-SHA256 with the app's secret key; ``purpose`` keeps a CSRF token from passing as a session."""

    def __init__(self, key: bytes):
        self.key = key

    def sign(self, purpose: str, value: str) -> str:
        return _b64(hmac.new(self.key, f"{purpose}|{value}".encode(), hashlib.sha256).digest())

    def check(self, purpose: str, value: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(purpose, value).encode(), signature.encode())

    # CSRF: a random value in a cookie, and its signature in every form (the signed double-submit pattern).
    # Another site can make a browser post to us, but cannot read our page, so it cannot know the token.
    @staticmethod
    def new_csrf_cookie() -> str:
        return secrets.token_urlsafe(32)

    def csrf_token(self, cookie: str) -> str:
        return self.sign("csrf", cookie)

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and self.check("csrf", cookie, token)

    # The instructor's session: a random id and an expiry time, signed together with the password hash (changing
    # the password logs every session out). The id is also kept on the server (Store.open_session) so that
    # logging out ends the session for good.
    # A student's session cookie is made the same way with purpose "student" and no password hash (a new password
    # deletes the student's sessions on the server instead).
    def session_cookie(self, password_hash: str, now: float | None = None, session_id: str | None = None,
                       purpose: str = "instructor") -> str:
        expires = int((now or time.time()) + SESSION_SECONDS)
        session_id = session_id or secrets.token_urlsafe(24)
        return f"{expires}.{session_id}.{self.sign(purpose, f'{expires}|{session_id}|{password_hash}')}"

    def session_id(self, password_hash: str, cookie: str | None, now: float | None = None,
                   purpose: str = "instructor") -> str | None:
        """The session id of a cookie this app signed and that has not expired; None for anything else (whatever
        bytes the cookie holds)."""
        match = _SESSION_COOKIE.fullmatch(cookie or "")
        if not match:
            return None
        expires, session_id, signature = match.groups()
        if int(expires) < (now or time.time()):
            return None
        if not self.check(purpose, f"{expires}|{session_id}|{password_hash}", signature):
            return None
        return session_id

    def session_ok(self, password_hash: str, cookie: str | None, now: float | None = None) -> bool:
        return self.session_id(password_hash, cookie, now) is not None


# --- rate limiting -----------------------------------------------------------------------------------

class RateLimiter:
    """At most ``limit`` hits per key in any ``window`` seconds (a sliding log; 0 = no limit).

    In memory, per process: `zoomcamp registration serve` runs one process, so that is the whole app.
    """

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 100_000):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float:
        """Count a hit; 0 if it is allowed, else the seconds until the next one would be."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window - now
            hits.append(now)
            return 0.0

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:  # that many active clients: start over rather than grow without end
            self._hits.clear()


# --- headers ------------------------------------------------------------------------------------------

class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every response (unless a route set its own)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- a reverse proxy's headers ------------------------------------------------------------------------

PROXY_HEADER = "X-Zoomcamp-Proxy"


class TrustedProxy:
    """ASGI middleware for ``--behind-proxy``: a request carrying ``X-Zoomcamp-Proxy: <secret>`` came through the
    proxy, so its client address is the last ``X-Forwarded-For`` entry (the one the proxy added) and its scheme
    ``X-Forwarded-Proto``. Without the secret those headers are ignored: a client that reaches the app directly
    (another user of the machine, say) is known by its own address and cannot choose its rate-limit key."""

    def __init__(self, app, secret: str):
        self.app, self.secret = app, secret.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = scope["headers"]
            given = [v for k, v in headers if k == PROXY_HEADER.lower().encode()]
            if len(given) == 1 and hmac.compare_digest(given[0], self.secret):
                forwarded = b",".join(v for k, v in headers if k == b"x-forwarded-for").decode("latin-1")
                client = forwarded.rsplit(",", 1)[-1].strip()
                proto = next((v.decode("latin-1").strip() for k, v in headers if k == b"x-forwarded-proto"), "")
                scope = dict(scope)
                if client:
                    scope["client"] = (client, 0)
                if proto in ("http", "https"):
                    scope["scheme"] = proto
            scope = {**scope, "headers": [(k, v) for k, v in headers if k != PROXY_HEADER.lower().encode()]}
        await self.app(scope, receive, send)
