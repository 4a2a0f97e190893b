"""The web app (FastAPI): the registration form, the confirmation, the instructor's registrations page, a health
check; the platform's other routes come from their own modules (accounts, homework, projects, instructor pages,
the API), all built here on one :class:`~registration.web.Web`.

Pages are rendered on the server (Jinja2, autoescaped) and work without JavaScript; the Content-Security-Policy
allows only the app's own script files (one: the form's time-zone list narrowed to the chosen country). Built by
:func:`create_app` from a :class:`~registration.config.Config`; :func:`serve` runs it with uvicorn
(``zoomcamp registration serve``).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from zoomcamp.settings import Settings

from . import account_pages, api, forms, homework_pages, instructor_pages, project_pages
from .config import PASSWORD_HINT, Config, RegistrationError
from .security import (
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
from .web import HERE, ArrivalTime, BadForm, Web, csv_response

PER_PAGE = 50
# The most a request's line and headers may take (h11's limit; uvicorn's httptools parser has none).
MAX_HEADER_BYTES = 32 * 1024


def course_answers(week: int) -> dict:
    """A week's right answers: the course's homework code on the data the course settings point to (the
    deterministic sample data the course loads by default, or the month a real-data cohort loaded)."""
    from zoomcamp.homework import expected_answers

    return expected_answers(week)


def create_app(config: Config, *, proxy_secret: str | None = None,
               expected_answers: Callable[[int], dict] | None = None) -> FastAPI:
    """The app, its database migrated to the newest schema (rows kept). With ``proxy_secret`` (``--behind-proxy``),
    ``X-Forwarded-For``/``-Proto`` count only on requests that carry it (see :class:`TrustedProxy`).
    ``expected_answers(week)`` gives a week's right answers when an instructor scores its homework (default: the
    course's homework code on the data the course settings point to)."""
    store = Store(config.database_url)
    store.migrate()
    signer = Signer(config.secret_key())
    web = Web(config, store, signer)
    submit_limit = RateLimiter(config.rate_limit)
    login_limit = RateLimiter(config.login_rate_limit)
    page, message, posted_form, too_many = web.page, web.message, web.posted_form, web.too_many
    client_ip, secure, checked_search = web.client_ip, web.secure, web.checked_search

    app = FastAPI(title="Zoomcamp course platform", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config, app.state.store, app.state.web = config, store, web
    app.add_middleware(SecurityHeaders)
    if proxy_secret:
        app.add_middleware(TrustedProxy, secret=proxy_secret)
    app.add_middleware(ArrivalTime)  # added last: the outermost, the first to see a request
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # Helpers ----------------------------------------------------------------------------------------------
    def session_id(request: Request) -> str | None:
        """The id in a well-formed, signed, unexpired instructor cookie (anything else: None, never an error)."""
        if not config.password_hash:
            return None
        return signer.session_id(config.password_hash, request.cookies.get(SESSION_COOKIE))

    async def logged_in(request: Request) -> bool:
        """A signed cookie whose session is still open on the server (logging out closes it for good)."""
        sid = session_id(request)
        return sid is not None and await run_in_threadpool(store.session_open, sid)

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
        account = await run_in_threadpool(store.accounts.by_reference, reference)
        link = await run_in_threadpool(store.accounts.new_link, account.id)
        return page(request, "confirmation.html", 201, reference=reference, submission=submission, link=link)

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
        if not await web.hashing_slot():
            return web.busy(request, ("/instructor", "Log in again"))
        try:
            right = await run_in_threadpool(verify_password, form.get("password", ""), config.password_hash)
        finally:
            web.hash_slots.release()
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
        return csv_response("registrations.csv", EXPORT_COLUMNS, (row._mapping for row in rows))

    @app.post("/instructor/password-link")
    async def password_link(request: Request):
        """A one-time set-password link for a student (who forgot the password, or lost the first link): the
        instructor passes it on; there is no outgoing mail."""
        if not config.password_hash:
            return instructor_off(request)
        try:
            form = await posted_form(request)
        except BadForm as exc:
            return message(request, exc.status, "No link made", exc.message, link=("/instructor", "Back"))
        if not await logged_in(request):
            return RedirectResponse("/instructor", status_code=303)
        account = await run_in_threadpool(store.accounts.by_reference, form.get("reference", "")[:20])
        if account is None:
            return message(request, 404, "No link made", "No registration has that id.", link=("/instructor", "Back"))
        link = await run_in_threadpool(store.accounts.new_link, account.id)
        url = f"{request.base_url}account/password?link={link}"
        return message(request, 201, "Set-password link", f"For {account.name} ({account.reference}), once, within a "
                       f"week: {url}", link=("/instructor", "Back"))

    app.include_router(account_pages.routes(web, login_limit))
    app.include_router(homework_pages.routes(web))
    app.include_router(project_pages.routes(web))
    app.include_router(api.routes(web))
    app.include_router(instructor_pages.routes(web, expected_answers or course_answers))

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
