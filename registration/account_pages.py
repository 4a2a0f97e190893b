"""The student's account pages: log in and out, set a password through a one-time link, the API tokens and the
leaderboard alias (``/account...``)."""

from __future__ import annotations

import re
import secrets
from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from .config import RegistrationError
from .forms import normalize_email
from .security import SESSION_SECONDS, STUDENT_COOKIE, RateLimiter, hash_password, verify_password
from .web import Web

ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{1,38}[A-Za-z0-9]")
_LINK = re.compile(r"[A-Za-z0-9_-]{43}")
BACK = ("/account", "Back to your account")


@cache
def _decoy_hash(n: int) -> str:
    """Checked against when nobody has that address (or no password is set yet): a wrong address takes as long
    as a wrong password, so the time of an answer does not tell who has an account."""
    return hash_password(secrets.token_urlsafe(16), n=n)


def routes(web: Web, login_limit: RateLimiter) -> APIRouter:
    router = APIRouter()
    accounts = web.store.accounts

    def account_page(request, student, status=200, **extra):
        tokens = accounts.api_tokens(student.id)
        return web.page(request, "account.html", status, student=student, tokens=tokens,
                        **{"new_token": None, "alias_error": None, **extra})

    def login_page(request, status=200, error=None, notice=None):
        return web.page(request, "student_login.html", status, error=error, notice=notice)

    @router.get("/account")
    async def account(request: Request, done: str = ""):
        student = await web.student(request)
        if student is None:
            notice = "Your password is set: log in with it." if done == "password" else None
            return login_page(request, notice=notice)
        return await run_in_threadpool(account_page, request, student)

    @router.post("/account/login")
    async def login(request: Request):
        wait = login_limit.hit(web.client_ip(request))
        if wait:
            return web.too_many(request, wait, link=BACK)
        form, answer = await web.checked_post(request, "Not logged in", BACK)
        if form is None:
            return answer
        student = await run_in_threadpool(accounts.by_email, normalize_email(form.get("email", "")))
        own = student.password_hash if student else None
        stored = own or _decoy_hash(web.config.student_scrypt_n)
        if not await web.hashing_slot():
            return web.busy(request, BACK)
        try:
            right = await run_in_threadpool(verify_password, form.get("password", ""), stored)
        finally:
            web.hash_slots.release()
        if not right or student is None or not student.password_hash:
            return login_page(request, 401, error="Wrong email address or password.")
        sid = secrets.token_urlsafe(24)
        await run_in_threadpool(accounts.open_session, student.id, sid, SESSION_SECONDS)
        response = RedirectResponse("/account", status_code=303)
        response.set_cookie(STUDENT_COOKIE, web.signer.session_cookie("", session_id=sid, purpose="student"),
                            max_age=SESSION_SECONDS, path="/", httponly=True, samesite="strict",
                            secure=web.secure(request))
        return response

    @router.post("/account/logout")
    async def logout(request: Request):
        form, answer = await web.checked_post(request, "Not logged out", BACK)
        if form is None:
            return answer
        sid = web.signer.session_id("", request.cookies.get(STUDENT_COOKIE), purpose="student")
        if sid is not None:
            await run_in_threadpool(accounts.close_session, sid)  # a kept copy of the cookie opens nothing now
        response = RedirectResponse("/account", status_code=303)
        response.delete_cookie(STUDENT_COOKIE, path="/", httponly=True, samesite="strict", secure=web.secure(request))
        return response

    # The password, set through a one-time link ------------------------------------------------------------
    def link_gone(request):
        return web.message(request, 404, "This link does not work",
                           "It was used already, or is older than a week. Ask an instructor for a new one.",
                           link=BACK)

    @router.get("/account/password")
    async def password_form(request: Request, link: str = ""):
        if not _LINK.fullmatch(link) or await run_in_threadpool(accounts.link_owner, link) is None:
            return link_gone(request)
        return web.page(request, "set_password.html", link=link, error=None)

    @router.post("/account/password")
    async def set_password(request: Request):
        form, answer = await web.checked_post(request, "Password not set", BACK)
        if form is None:
            return answer
        link, password = form.get("link", ""), form.get("password", "")
        if not _LINK.fullmatch(link) or await run_in_threadpool(accounts.link_owner, link) is None:
            return link_gone(request)
        if password != form.get("password2", ""):
            return web.page(request, "set_password.html", 400, link=link, error="The two passwords differ.")
        if not await web.hashing_slot():
            return web.busy(request, BACK)
        try:
            hashed = await run_in_threadpool(hash_password, password, n=web.config.student_scrypt_n, whose="your")
        except RegistrationError as exc:
            return web.page(request, "set_password.html", 400, link=link, error=f"{str(exc).capitalize()}.")
        finally:
            web.hash_slots.release()
        if await run_in_threadpool(accounts.set_password, link, hashed) is None:
            return link_gone(request)
        return RedirectResponse("/account?done=password", status_code=303)

    # API tokens and the alias ----------------------------------------------------------------------------
    async def logged_in_form(request):
        """(student, form) of a valid post by a logged-in student; else (None, the answer to give)."""
        form, answer = await web.checked_post(request, "Not saved", BACK)
        if form is None:
            return None, answer
        student = await web.student(request)
        if student is None:
            return None, RedirectResponse("/account", status_code=303)
        return student, form

    @router.post("/account/tokens")
    async def new_token(request: Request):
        student, form = await logged_in_form(request)
        if student is None:
            return form
        secret = await run_in_threadpool(accounts.new_api_token, student.id)
        if secret is None:
            return web.message(request, 400, "No new token", "You have five tokens already: revoke one first.",
                               link=BACK)
        return await run_in_threadpool(account_page, request, student, 201, new_token=secret)

    @router.post("/account/tokens/{token_id}/revoke")
    async def revoke_token(request: Request, token_id: int):
        student, form = await logged_in_form(request)
        if student is None:
            return form
        if not await run_in_threadpool(accounts.revoke_api_token, student.id, token_id):
            return web.message(request, 404, "No such token", "You have no token with that number.", link=BACK)
        return RedirectResponse("/account", status_code=303)

    @router.post("/account/alias")
    async def alias(request: Request):
        student, form = await logged_in_form(request)
        if student is None:
            return form
        alias = " ".join(form.get("alias", "").split())
        if alias and not ALIAS.fullmatch(alias):
            error = "An alias is 3–40 letters, digits, spaces, dots, dashes or underscores."
            return await run_in_threadpool(account_page, request, student, 400, alias_error=error)
        if not await run_in_threadpool(accounts.set_alias, student.id, alias or None):
            return await run_in_threadpool(account_page, request, student, 409,
                                           alias_error="Someone else has chosen that alias.")
        return RedirectResponse("/account", status_code=303)

    return router
