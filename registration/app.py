"""The registration web app (FastAPI): the form, the confirmation, the instructor page, a health check.

Pages are rendered on the server (Jinja2, autoescaped) and work without JavaScript; the Content-Security-Policy
allows only the app's own script files (one: the form's time-zone list narrowed to the chosen country). Built by
:func:`create_app` from a :class:`~registration.config.Config`; :func:`serve` runs it with uvicorn
(``zoomcamp registration serve``).
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import jinja2
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from zoomcamp.settings import Settings

from . import forms
from .config import PASSWORD_HINT, Config, RegistrationError
from .security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    PROXY_HEADER,
    SESSION_COOKIE,
    SESSION_SECONDS,
    RateLimiter,
    SecurityHeaders,
    Signer,
    TrustedProxy,
    verify_password,
)
from .store import EXPORT_COLUMNS, Store, safe_url

HERE = Path(__file__).parent
MAX_FORM_BYTES = 16 * 1024  # the whole form is well under 2 kB
PER_PAGE = 50
# Password checks at once (scrypt: 128 MiB each) and how long a login waits for a turn before "busy" (503).
HASH_SLOTS = 2
HASH_WAIT_SECONDS = 10.0
# The most a request's line and headers may take (h11's limit; uvicorn's httptools parser has none).
MAX_HEADER_BYTES = 32 * 1024
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")  # what Signer.new_csrf_cookie makes


class BadForm(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals.update(
        countries=forms.countries(), country_zones=forms.country_zones(),
        timezone_options=[(tz, tz) for tz in forms.timezones()],
        experience=forms.EXPERIENCE, roles=forms.ROLES,
        # Short labels for the instructor's table and chart ("Advanced", "AWS").
        experience_short={k: v.split(":")[0] for k, v in forms.EXPERIENCE.items()},
        cloud_short={"gcp": "GCP", "aws": "AWS", "azure": "Azure", "none": "None"},
        clouds=forms.CLOUDS, heard_from=forms.HEARD_FROM, honeypot=forms.HONEYPOT, csrf_field=CSRF_FIELD)
    return env


async def read_form(request: Request) -> dict[str, str]:
    """The posted form, parsed with hard limits: urlencoded only, at most 16 kB, UTF-8, 40 fields."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadForm(415, "Send the form from the registration page.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadForm(413, "The form is too large.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=40)
    except (UnicodeDecodeError, ValueError):
        raise BadForm(400, "The form could not be read.") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)  # a repeated field: the first one counts
    return form


def csv_cell(value) -> str:
    """A value for the CSV export; text that a spreadsheet would run as a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def create_app(config: Config, *, proxy_secret: str | None = None) -> FastAPI:
    """The app, its database migrated to the newest schema (rows kept). With ``proxy_secret`` (``--behind-proxy``),
    ``X-Forwarded-For``/``-Proto`` count only on requests that carry it (see :class:`TrustedProxy`)."""
    store = Store(config.database_url)
    store.migrate()
    signer = Signer(config.secret_key())
    submit_limit = RateLimiter(config.rate_limit)
    login_limit = RateLimiter(config.login_rate_limit)
    hash_slots = threading.BoundedSemaphore(HASH_SLOTS)
    templates = _templates()
    templates.globals["cohort_options"] = [(cohort, cohort) for cohort in config.cohorts]

    app = FastAPI(title="Zoomcamp registration", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config, app.state.store = config, store
    app.add_middleware(SecurityHeaders)
    if proxy_secret:
        app.add_middleware(TrustedProxy, secret=proxy_secret)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # Helpers ----------------------------------------------------------------------------------------------
    def client_ip(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def csrf_cookie(request: Request) -> tuple[str, bool]:
        """The visitor's CSRF cookie, or a new one (True: it must be set on the response)."""
        cookie = request.cookies.get(CSRF_COOKIE, "")
        return (cookie, False) if _COOKIE_VALUE.fullmatch(cookie) else (signer.new_csrf_cookie(), True)

    def secure(request: Request) -> bool:
        return request.url.scheme == "https"

    def page(request: Request, template: str, status: int = 200, headers: dict | None = None,
             **context) -> HTMLResponse:
        cookie, new = csrf_cookie(request)
        html = templates.get_template(template).render(csrf_token=signer.csrf_token(cookie), **context)
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})
        if new:
            response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="lax", secure=secure(request))
        return response

    def message(request: Request, status: int, title: str, text: str,
                link: tuple[str, str] = ("/", "Back to the form"), headers: dict | None = None) -> HTMLResponse:
        return page(request, "message.html", status, headers, title=title, text=text, link=link)

    def same_origin(request: Request) -> bool:
        # Browsers send Origin on POSTs; one that is not this site means a cross-site request. ("null", sent by
        # privacy settings and sandboxes, says nothing either way: the CSRF token decides.)
        origin = request.headers.get("origin")
        return origin in (None, "null") or urlsplit(origin).netloc == request.headers.get("host")

    async def posted_form(request: Request) -> dict[str, str]:
        form = await read_form(request)
        if not same_origin(request) or not signer.csrf_ok(request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
            raise BadForm(403, "This form has expired or was not sent from this site. Go back, reload the page "
                               "and send it again.")
        return form

    def too_many(request: Request, wait: float) -> HTMLResponse:
        seconds = max(1, math.ceil(wait))
        return message(request, 429, "Too many attempts",
                       f"Too many submissions from your address. Wait {seconds} seconds and try again.",
                       headers={"Retry-After": str(seconds)})

    def session_id(request: Request) -> str | None:
        """The id in a well-formed, signed, unexpired instructor cookie (anything else: None, never an error)."""
        if not config.password_hash:
            return None
        return signer.session_id(config.password_hash, request.cookies.get(SESSION_COOKIE))

    async def logged_in(request: Request) -> bool:
        """A signed cookie whose session is still open on the server (logging out closes it for good)."""
        sid = session_id(request)
        return sid is not None and await run_in_threadpool(store.session_open, sid)

    async def hashing_slot() -> bool:
        """Wait (without holding a thread) for one of the few password-hashing slots: each scrypt takes 128 MiB,
        so 30 logins at once would otherwise take 4 GB. False after HASH_WAIT_SECONDS."""
        deadline = time.monotonic() + HASH_WAIT_SECONDS
        while not hash_slots.acquire(blocking=False):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def checked_search(q: str) -> str | None:
        """The search text, or None when it holds a character no database column can (NUL)."""
        return None if "\x00" in q else q[:100]

    def instructor_off(request: Request) -> HTMLResponse:
        return message(request, 503, "The instructor page is not set up",
                       f"There is no instructor password yet (there is no default one): {PASSWORD_HINT}.")

    # The form ---------------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def form_page(request: Request):
        only_cohort = {"cohort": config.cohorts[0]} if len(config.cohorts) == 1 else {}
        return page(request, "form.html", values=only_cohort, errors={})

    @app.post("/register", response_class=HTMLResponse)
    async def register(request: Request):
        wait = submit_limit.hit(client_ip(request))
        if wait:
            return too_many(request, wait)
        try:
            form = await posted_form(request)
        except BadForm as exc:
            return message(request, exc.status, "The form was not sent", exc.message)
        if form.get(forms.HONEYPOT):
            return message(request, 400, "Not registered",
                           "The form looked automated (the field marked “leave this field empty” was filled in), "
                           "so nothing was saved. If you are a person, go back, empty that field and send it again.")
        submission, errors = forms.validate(form, config.cohorts)
        if submission is None:
            values = {key: form.get(key, "") for key in forms.FIELDS}
            return page(request, "form.html", 400, values=values, errors=errors)
        reference = await run_in_threadpool(store.register, submission)
        if reference is None:
            return page(request, "already.html", 200, email=submission.email)
        return page(request, "confirmation.html", 201, reference=reference, submission=submission)

    # The instructor page ----------------------------------------------------------------------------------
    @app.get("/instructor", response_class=HTMLResponse)
    async def instructor(request: Request, q: str = "", page_number: int = Query(1, alias="page")):
        if not config.password_hash:
            return instructor_off(request)
        if not await logged_in(request):
            return page(request, "login.html", error=None)
        if (q := checked_search(q)) is None:
            return message(request, 400, "Search not run", "The search text holds a NUL character; remove it.",
                           link=("/instructor", "Back"))
        page_number = max(1, min(page_number, 100_000))
        rows, total = await run_in_threadpool(store.search, q, page_number, PER_PAGE)
        counts = await run_in_threadpool(store.counts)
        pages = max(1, math.ceil(total / PER_PAGE))

        def link(number: int) -> str:
            return "/instructor?" + urlencode({"q": q, "page": number} if q else {"page": number})

        export = "/instructor/export.csv" + ("?" + urlencode({"q": q}) if q else "")
        return page(request, "instructor.html", rows=rows, total=total, q=q, page_number=page_number, pages=pages,
                    counts=counts, link=link, export=export)

    @app.post("/instructor/login", response_class=HTMLResponse)
    async def login(request: Request):
        if not config.password_hash:
            return instructor_off(request)
        wait = login_limit.hit(client_ip(request))
        if wait:
            return too_many(request, wait)
        try:
            form = await posted_form(request)
        except BadForm as exc:
            return message(request, exc.status, "Not logged in", exc.message, link=("/instructor", "Log in again"))
        if not await hashing_slot():
            return message(request, 503, "Busy", "Too many logins at once. Wait a few seconds and try again.",
                           link=("/instructor", "Log in again"), headers={"Retry-After": "5"})
        try:
            right = await run_in_threadpool(verify_password, form.get("password", ""), config.password_hash)
        finally:
            hash_slots.release()
        if not right:
            return page(request, "login.html", 401, error="Wrong password.")
        sid = secrets.token_urlsafe(24)
        await run_in_threadpool(store.open_session, sid, SESSION_SECONDS)
        response = RedirectResponse("/instructor", status_code=303)
        response.set_cookie(SESSION_COOKIE, signer.session_cookie(config.password_hash, session_id=sid),
                            max_age=SESSION_SECONDS, path="/instructor", httponly=True, samesite="strict",
                            secure=secure(request))
        return response

    @app.post("/instructor/logout")
    async def logout(request: Request):
        try:
            await posted_form(request)
        except BadForm as exc:
            return message(request, exc.status, "Not logged out", exc.message, link=("/instructor", "Back"))
        if (sid := session_id(request)) is not None:
            await run_in_threadpool(store.close_session, sid)  # the cookie, even if kept, opens nothing now
        response = RedirectResponse("/instructor", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/instructor", httponly=True, samesite="strict",
                               secure=secure(request))
        return response

    @app.get("/instructor/export.csv")
    async def export(request: Request, q: str = ""):
        if not config.password_hash:
            return instructor_off(request)
        if not await logged_in(request):
            return RedirectResponse("/instructor", status_code=303)
        if (q := checked_search(q)) is None:
            return message(request, 400, "Export not made", "The search text holds a NUL character; remove it.",
                           link=("/instructor", "Back"))
        rows = await run_in_threadpool(store.export_rows, q)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            writer.writerow([csv_cell(getattr(row, column)) for column in EXPORT_COLUMNS])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="registrations.csv"', "Cache-Control": "no-store"})

    # Health -----------------------------------------------------------------------------------------------
    @app.get("/health")
    async def health():
        try:
            revision = await run_in_threadpool(store.revision)
        except Exception as exc:  # any database failure is "unhealthy", with its kind for the operator
            return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
        return {"status": "ok", "database": "ok", "schema": revision,
                "instructor_page": "on" if config.password_hash else "off"}

    return app


def serve(host: str = "127.0.0.1", port: int = 8000, *, rate_limit: int | None = None, behind_proxy: bool = False,
          settings: Settings | None = None, announce: Callable[[str], None] = print) -> None:
    """Migrate the database and run the app with uvicorn until Ctrl+C (or SIGTERM)."""
    import uvicorn

    from zoomcamp.stack import port_is_free

    if not 0 < port < 65536:
        raise RegistrationError(f"--port must be between 1 and 65535, not {port}")
    overrides = {} if rate_limit is None else {"rate_limit": rate_limit}
    config = Config.from_settings(settings, **overrides)
    if not port_is_free(port, host):
        raise RegistrationError(f"port {port} on {host} is in use by another program: choose another with --port")
    app = create_app(config, proxy_secret=config.proxy_secret() if behind_proxy else None)
    announce(f"registration form: http://{host}:{port}/  (database: {safe_url(config.database_url)})")
    announce(f"instructor page:   http://{host}:{port}/instructor  "
             + ("(password set)" if config.password_hash else f"(off: {PASSWORD_HINT})"))
    if behind_proxy:
        announce(f"behind a proxy: X-Forwarded-For counts only with the header {PROXY_HEADER}: <the text in "
                 f"{config.folder / 'proxy_secret'}> (nginx: proxy_set_header {PROXY_HEADER} ...;)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        announce("note: serving beyond this machine; put it behind HTTPS (cookies are only marked Secure there)")
    # h11, not httptools: h11 refuses a request whose line and headers exceed MAX_HEADER_BYTES (httptools took a
    # 64 MB header, and four 256 MB ones took the server to 1.5 GB).
    # uvicorn's own proxy headers stay off: they trust X-Forwarded-For from any process on 127.0.0.1, so a client
    # that reached the app directly chose its own rate-limit key. TrustedProxy asks for the proxy's secret.
    uvicorn.run(app, host=host, port=port, proxy_headers=False,
                server_header=False, log_level="info", http="h11", h11_max_incomplete_event_size=MAX_HEADER_BYTES)
