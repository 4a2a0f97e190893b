"""The student's homework pages: the cohort's homework, a week's form until its deadline, and after scoring the
answers, the right ones, the score and the statistics (``/homework...``); and the cohort's leaderboard
(``/leaderboard``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from zoomcamp.answers import same
from zoomcamp.homework import FORMAT_HINTS

from . import plots
from .homework import LINK_POINTS_CAP, Closed, parse_submission
from .leaderboard import standings
from .web import Web

BACK = ("/homework", "Back to your homework")


def routes(web: Web) -> APIRouter:
    router = APIRouter()
    homeworks = web.store.homework

    def show(request, student, homework, status=200, values=None, errors=None, saved=False):
        own = homeworks.submission(homework.id, student.id)
        context = {"homework": homework, "state": homework.state(), "own": own, "hints": FORMAT_HINTS,
                   "errors": errors or {}, "saved": saved, "cap": LINK_POINTS_CAP, "stats": None,
                   "score_plot": None, "time_plot": None, "marks": {}}
        if values is None and own is not None:
            values = {**{k: str(v) for k, v in own.answers.items()}, "links": "\n".join(own.links),
                      "time_spent": "" if own.time_spent is None else f"{own.time_spent:g}",
                      "comments": own.comments or ""}
        context["values"] = values or {}
        if context["state"] == "scored":
            stats = homeworks.statistics(homework.id)
            top = len(homework.questions) + LINK_POINTS_CAP
            context["marks"] = {qid: bool(own) and same(own.answers.get(qid), homework.expected.get(qid), kind)
                                for qid, kind in homework.questions}
            context.update(stats=stats, score_plot=plots.box(stats["score"], top, own.score if own else None),
                           time_plot=plots.box(stats["time_spent"], None, own.time_spent if own else None))
        return web.page(request, "homework.html", status, **context)

    async def own_homework(request, homework_id):
        """(student, homework) when a student is logged in and the homework is their cohort's; else (None, the
        answer: the login page, or 404 — another cohort's homework is not theirs to see)."""
        student = await web.student(request)
        if student is None:
            return None, RedirectResponse("/account", status_code=303)
        homework = await run_in_threadpool(homeworks.get, homework_id)
        if homework is None or homework.cohort != student.cohort:
            return None, web.message(request, 404, "No such homework", "Your cohort has no homework with that "
                                     "number.", link=BACK)
        return student, homework

    @router.get("/homework")
    async def homework_list(request: Request):
        student = await web.student(request)
        if student is None:
            return RedirectResponse("/account", status_code=303)
        rows = await run_in_threadpool(homeworks.scores_of, student.id, student.cohort)
        return web.page(request, "homework_list.html", student=student, rows=rows)

    @router.get("/homework/{homework_id}")
    async def homework_page(request: Request, homework_id: int, saved: int = 0):
        student, homework = await own_homework(request, homework_id)
        if student is None:
            return homework
        return await run_in_threadpool(show, request, student, homework, 200, None, None, bool(saved))

    @router.post("/homework/{homework_id}")
    async def submit(request: Request, homework_id: int):
        form, answer = await web.checked_post(request, "Not submitted", BACK)
        if form is None:
            return answer
        student, homework = await own_homework(request, homework_id)
        if student is None:
            return homework
        given, errors = parse_submission(homework.questions, form, form.get("links", ""),
                                         form.get("time_spent", ""), form.get("comments", ""))
        if given is None:
            return await run_in_threadpool(show, request, student, homework, 400, form, errors)
        try:
            await run_in_threadpool(homeworks.submit, homework.id, student.id, given, request.state.arrived_at)
        except Closed:
            return web.message(request, 409, "Not submitted", "The deadline has passed: submissions are closed.",
                               link=(f"/homework/{homework.id}", "Back to the homework"))
        # Post/redirect/get: reloading the page shows it again rather than sending the answers twice.
        return RedirectResponse(f"/homework/{homework.id}?saved=1", status_code=303)

    @router.get("/leaderboard")
    async def leaderboard(request: Request):
        student = await web.student(request)
        if student is None:
            return RedirectResponse("/account", status_code=303)
        board = await run_in_threadpool(standings, web.store.engine, student.cohort)
        return web.page(request, "leaderboard.html", board=board, cohort=student.cohort, me=student.id)

    return router
