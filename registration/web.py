"""What every page of the app shares: templates, reading a posted form (size limits, CSRF, origin), pages and
messages with the CSRF cookie, the rate-limit answer, the few password-hashing slots and the CSV cell guard.

One :class:`Web` per app; the routers (``app``, ``account_pages``, ``homework_pages``, ``api``) get it from
:func:`registration.app.create_app`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import re
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from . import forms
from .config import Config
from .security import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, STUDENT_COOKIE, Signer
from .store import Store

HERE = Path(__file__).parent
MAX_FORM_BYTES = 16 * 1024  # the whole form is well under 2 kB
# Password checks at once (scrypt: 128 MiB each) and how long a login waits for a turn before "busy" (503).
HASH_SLOTS = 2
HASH_WAIT_SECONDS = 10.0
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")  # what Signer.new_csrf_cookie makes


class ArrivalTime:
    """ASGI middleware noting when each request reached the app (``request.state.arrived_at``, UTC), before it
    waits for a thread or a database lock: a hand-in counts as made then, not when a busy server gets to it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope.setdefault("state", {})["arrived_at"] = datetime.now(UTC)
        await self.app(scope, receive, send)


class BadForm(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def templates(cohorts: tuple[str, ...]) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals.update(
        countries=forms.countries(), country_zones=forms.country_zones(),
        timezone_options=[(tz, tz) for tz in forms.timezones()],
        experience=forms.EXPERIENCE, roles=forms.ROLES,
        # Short labels for the instructor's table and chart ("Advanced", "AWS").
        experience_short={k: v.split(":")[0] for k, v in forms.EXPERIENCE.items()},
        cloud_short={"gcp": "GCP", "aws": "AWS", "azure": "Azure", "none": "None"},
        clouds=forms.CLOUDS, heard_from=forms.HEARD_FROM, honeypot=forms.HONEYPOT, csrf_field=CSRF_FIELD,
        cohort_options=[(cohort, cohort) for cohort in cohorts])
    return env


async def read_body(request: Request, limit: int = MAX_FORM_BYTES) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadForm(413, "The form is too large.")
    return bytes(body)


async def read_form(request: Request) -> dict[str, str]:
    """The posted form, parsed with hard limits: urlencoded only, at most 16 kB, UTF-8, 40 fields."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadForm(415, "Send the form from the registration page.")
    body = await read_body(request)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=40)
    except (UnicodeDecodeError, ValueError):
        raise BadForm(400, "The form could not be read.") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)  # a repeated field: the first one counts
    return form


def csv_cell(value) -> str:
    """A value for a CSV export; text that a spreadsheet would run as a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_response(filename: str, columns: tuple[str, ...], rows: Iterable[Mapping]) -> Response:
    """A CSV download of ``columns`` of ``rows``, every cell through :func:`csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row[column]) for column in columns])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


class Web:
    def __init__(self, config: Config, store: Store, signer: Signer):
        self.config, self.store, self.signer = config, store, signer
        self.templates = templates(config.cohorts)
        self.hash_slots = threading.BoundedSemaphore(HASH_SLOTS)

    @staticmethod
    def client_ip(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    @staticmethod
    def secure(request: Request) -> bool:
        return request.url.scheme == "https"

    def csrf_cookie(self, request: Request) -> tuple[str, bool]:
        """The visitor's CSRF cookie, or a new one (True: it must be set on the response)."""
        cookie = request.cookies.get(CSRF_COOKIE, "")
        return (cookie, False) if _COOKIE_VALUE.fullmatch(cookie) else (self.signer.new_csrf_cookie(), True)

    def page(self, request: Request, template: str, status: int = 200, headers: dict | None = None,
             **context) -> HTMLResponse:
        cookie, new = self.csrf_cookie(request)
        html = self.templates.get_template(template).render(csrf_token=self.signer.csrf_token(cookie), **context)
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})
        if new:
            response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="lax", secure=self.secure(request))
        return response

    def message(self, request: Request, status: int, title: str, text: str,
                link: tuple[str, str] = ("/", "Back to the form"), headers: dict | None = None) -> HTMLResponse:
        return self.page(request, "message.html", status, headers, title=title, text=text, link=link)

    @staticmethod
    def same_origin(request: Request) -> bool:
        # Browsers send Origin on POSTs; one that is not this site means a cross-site request. ("null", sent by
        # privacy settings and sandboxes, says nothing either way: the CSRF token decides.)
        origin = request.headers.get("origin")
        return origin in (None, "null") or urlsplit(origin).netloc == request.headers.get("host")

    async def posted_form(self, request: Request) -> dict[str, str]:
        form = await read_form(request)
        if not self.same_origin(request) or not self.signer.csrf_ok(request.cookies.get(CSRF_COOKIE),
                                                                    form.get(CSRF_FIELD)):
            raise BadForm(403, "This form has expired or was not sent from this site. Go back, reload the page "
                               "and send it again.")
        return form

    async def checked_post(self, request: Request, title: str, link: tuple[str, str]
                           ) -> tuple[dict[str, str] | None, HTMLResponse | None]:
        """(the posted form, None) when its CSRF token and origin are right; else (None, the page saying why)."""
        try:
            return await self.posted_form(request), None
        except BadForm as exc:
            return None, self.message(request, exc.status, title, exc.message, link=link)

    def too_many(self, request: Request, wait: float, link: tuple[str, str] = ("/", "Back to the form")
                 ) -> HTMLResponse:
        seconds = max(1, math.ceil(wait))
        return self.message(request, 429, "Too many attempts",
                            f"Too many submissions from your address. Wait {seconds} seconds and try again.",
                            link=link, headers={"Retry-After": str(seconds)})

    async def hashing_slot(self) -> bool:
        """Wait (without holding a thread) for one of the few password-hashing slots: each scrypt takes 128 MiB,
        so 30 logins at once would otherwise take 4 GB. False after HASH_WAIT_SECONDS."""
        deadline = time.monotonic() + HASH_WAIT_SECONDS
        while not self.hash_slots.acquire(blocking=False):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def busy(self, request: Request, link: tuple[str, str]) -> HTMLResponse:
        return self.message(request, 503, "Busy", "Too many logins at once. Wait a few seconds and try again.",
                            link=link, headers={"Retry-After": "5"})

    async def student(self, request: Request):
        """The logged-in student's :class:`~registration.accounts.Account`: a signed, unexpired cookie whose session
        is still open on the server; None for anything else (never an error)."""
        sid = self.signer.session_id("", request.cookies.get(STUDENT_COOKIE), purpose="student")
        return None if sid is None else await run_in_threadpool(self.store.accounts.session_owner, sid)

    async def instructor(self, request: Request) -> bool:
        """An instructor is logged in: a signed cookie whose session is still open on the server."""
        if not self.config.password_hash:
            return False
        sid = self.signer.session_id(self.config.password_hash, request.cookies.get(SESSION_COOKIE))
        return sid is not None and await run_in_threadpool(self.store.session_open, sid)

    @staticmethod
    def checked_search(q: str) -> str | None:
        """The search text, or None when it holds a character no database column can (NUL)."""
        return None if "\x00" in q else q[:100]
