"""The platform's JSON API (``/api/...``): a student's own scores and submissions, handing in homework (what
``zoomcamp homework submit N`` calls), a scored homework's statistics, the student's project, the cohort's
leaderboard, a health check,
and the OpenAPI schema of exactly these routes (``/api/openapi.json``).

Authentication is the API token from the account page, as ``Authorization: Bearer zc_...``; cookies count for
nothing here, so another site cannot make a browser call the API (no CSRF), and a token sees only its student's
things and cohort.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import HTTPException
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from .accounts import Account
from .homework import Closed, HomeworkInfo, parse_submission
from .leaderboard import standings
from .web import BadForm, Web, read_body

MAX_JSON_BYTES = 32 * 1024


class SubmissionIn(BaseModel):
    """A week's answers, as text or numbers (parsed by each question's kind, as in the browser)."""
    answers: dict[str, str | int | float] = Field(max_length=50)
    links: list[str] = Field(default_factory=list, max_length=10)
    time_spent: float | None = Field(default=None, description="hours")
    comments: str | None = Field(default=None, max_length=2000)


class Accepted(BaseModel):
    week: int
    submitted_at: str
    deadline: str
    answers: dict[str, Any]


class Health(BaseModel):
    status: str
    database: str
    schema_revision: str | None = Field(alias="schema")


bearer = HTTPBearer(auto_error=False, description="an API token from your account page")


def no_store(response: Response) -> None:
    """Answers are one student's own: no cache keeps them."""
    response.headers["Cache-Control"] = "no-store"


def routes(web: Web) -> APIRouter:
    router = APIRouter(prefix="/api", dependencies=[Depends(no_store)])
    homeworks, accounts = web.store.homework, web.store.accounts

    async def student(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Account:
        account = None
        if credentials is not None and credentials.scheme.lower() == "bearer":
            account = await run_in_threadpool(accounts.token_owner, credentials.credentials)
        if account is None:
            raise HTTPException(401, "an API token is needed (Authorization: Bearer zc_...): make one on your "
                                     "account page", headers={"WWW-Authenticate": "Bearer"})
        return account

    async def week_of(account: Account, week: int) -> HomeworkInfo:
        homework = await run_in_threadpool(homeworks.find, account.cohort, week)
        if homework is None:
            raise HTTPException(404, f"cohort {account.cohort} has no week {week} homework")
        return homework

    @router.get("/health", response_model=Health)
    async def health():
        try:
            revision = await run_in_threadpool(web.store.revision)
        except Exception as exc:  # any database failure is "unhealthy", with its kind for the operator
            return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
        return {"status": "ok", "database": "ok", "schema": revision}

    @router.get("/scores")
    async def scores(account: Account = Depends(student)) -> dict[str, Any]:
        """Your homework, week by week: state, whether you handed it in, your score once scored."""
        rows = await run_in_threadpool(homeworks.scores_of, account.id, account.cohort)
        return {"name": account.shown_name, "cohort": account.cohort, "homework": rows}

    @router.post("/homework/{week}/submission", status_code=201, response_model=Accepted, openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": SubmissionIn.model_json_schema()}}}})
    async def submit(week: int, request: Request, account: Account = Depends(student)):
        """Hand in (or replace, until the deadline) your answers to a week's homework."""
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise HTTPException(415, "send JSON (Content-Type: application/json)")
        try:
            payload = SubmissionIn.model_validate_json(await read_body(request, MAX_JSON_BYTES))
        except BadForm as exc:
            raise HTTPException(exc.status, "the request is too large") from None
        except ValidationError as exc:
            raise HTTPException(400, f"not a submission: {exc.errors()[0]['msg']}") from None
        homework = await week_of(account, week)
        given, errors = parse_submission(
            homework.questions, {k: str(v) for k, v in payload.answers.items()}, "\n".join(payload.links),
            "" if payload.time_spent is None else str(payload.time_spent), payload.comments or "")
        unknown = sorted(set(payload.answers) - {qid for qid, _ in homework.questions})
        if unknown:
            errors = {**errors, **{qid: f"not a question of week {week}" for qid in unknown}}
        if given is None or unknown:
            return JSONResponse({"detail": "some answers are not in the right form", "errors": errors}, 400)
        try:
            at = await run_in_threadpool(homeworks.submit, homework.id, account.id, given,
                                         request.state.arrived_at)
        except Closed:  # with the moment the request arrived: whoever doubts it can compare
            return JSONResponse({"detail": f"the deadline ({homework.deadline.isoformat()}) has passed",
                                 "arrived_at": request.state.arrived_at.isoformat()}, 409)
        return {"week": week, "submitted_at": at.isoformat(), "deadline": homework.deadline.isoformat(),
                "answers": given.answers}

    @router.get("/homework/{week}/submission")
    async def own_submission(week: int, account: Account = Depends(student)) -> dict[str, Any]:
        """Your submission; the right answers and your score once the homework is scored."""
        homework = await week_of(account, week)
        own = await run_in_threadpool(homeworks.submission, homework.id, account.id)
        if own is None:
            raise HTTPException(404, f"you have not handed in week {week}")
        scored = homework.state() == "scored"
        return {"week": week, "state": homework.state(), "submitted_at": own.submitted_at.isoformat(),
                "answers": own.answers, "links": own.links, "time_spent": own.time_spent, "comments": own.comments,
                "right_answers": homework.expected if scored else None, "score": own.score if scored else None}

    @router.get("/homework/{week}/statistics")
    async def statistics(week: int, account: Account = Depends(student)) -> dict[str, Any]:
        """min, quartiles, median and max of the scores and of the time spent; once scored."""
        homework = await week_of(account, week)
        if homework.state() != "scored":
            raise HTTPException(409, f"week {week} is not scored yet")
        return {"week": week, **await run_in_threadpool(homeworks.statistics, homework.id)}

    @router.get("/project")
    async def project(request: Request, account: Account = Depends(student)) -> dict[str, Any]:
        """Your project: what you handed in, the reviews you owe, and once scored your score and certificate."""
        projects = web.store.projects
        info = await run_in_threadpool(projects.of_cohort, account.cohort)
        if info is None:
            raise HTTPException(404, f"cohort {account.cohort} has no project")
        own = await run_in_threadpool(projects.submission_of, info.id, account.id)
        owed = await run_in_threadpool(projects.reviews_by, info.id, account.id)
        scored = info.state() == "scored" and own is not None
        return {"state": info.state(), "deadline": info.deadline.isoformat(),
                "review_deadline": info.review_deadline.isoformat(),
                "repo_url": own.repo_url if own else None, "commit": own.commit if own else None,
                "reviews_to_write": len(owed), "reviews_written": sum(r.reviewed_at is not None for r in owed),
                "score": own.score if scored else None, "passed": own.passed if scored else None,
                "certificate": f"{request.base_url}certificate/{own.certificate}" if scored and own.passed else None}

    @router.get("/leaderboard")
    async def leaderboard(account: Account = Depends(student)) -> dict[str, Any]:
        """Your cohort's standings (names or aliases), best first."""
        board = await run_in_threadpool(standings, web.store.engine, account.cohort)
        return {"cohort": account.cohort, "standings": [
            {"rank": r["rank"], "name": r["name"], "homework": r["homework"], "project": r["project"],
             "total": r["total"], "you": r["student"] == account.id} for r in board]}

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi():
        """The OpenAPI schema of the API routes only (the pages are not an API)."""
        return get_openapi(title="Zoomcamp course platform API", version="1", routes=router.routes,
                           description=__doc__)

    return router
