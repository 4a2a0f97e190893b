"""The instructor's homework and project pages: open a week's homework for a cohort, move its deadline, score
(and re-score) it, download its submissions as CSV (``/instructor/homework...``); open a cohort's project, assign
its peer reviewers, score it, download its projects as CSV (``/instructor/projects...``); the cohorts' numbers,
a search over students with their points, each cohort's leaderboard (page or CSV). Every page is behind the
instructor login."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from zoomcamp.errors import CourseError

from . import overview
from .homework import Closed
from .leaderboard import standings
from .web import Web, csv_response

BACK = ("/instructor/homework", "Back to the homework")
LEADERBOARD_COLUMNS = ("rank", "name", "homework", "project", "total")
PROJECT_COLUMNS = ("reference", "name", "email", "repo_url", "commit", "submitted_at", "score", "passed",
                   "reviews_done")
SUBMISSION_COLUMNS = ("reference", "name", "email", "submitted_at", "answers", "links", "time_spent", "comments",
                      "correct", "score")


def parse_deadline(text: str) -> datetime | None:
    """A deadline typed as YYYY-MM-DDTHH:MM (the browser's datetime-local), read as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def routes(web: Web, expected_answers: Callable[[int], dict]) -> APIRouter:
    router = APIRouter()
    homeworks = web.store.homework

    async def instructor_form(request):
        """The form of a valid post by a logged-in instructor, or the answer to give instead."""
        form, answer = await web.checked_post(request, "Not done", BACK)
        if form is None:
            return None, answer
        if not await web.instructor(request):
            return None, RedirectResponse("/instructor", status_code=303)
        return form, None

    def instructor_page(handler):
        """A page behind the instructor login: anyone else is sent to the login page (FastAPI reads the handler's
        own parameters through functools.wraps)."""
        @functools.wraps(handler)
        async def guarded(request: Request, **params):
            if not await web.instructor(request):
                return RedirectResponse("/instructor", status_code=303)
            return await handler(request, **params)

        return guarded

    def listing(request, status=200, error=None):
        from zoomcamp.homework import weeks_with_homework

        return web.page(request, "instructor_homework.html", status, homeworks=homeworks.of_cohort(),
                        weeks=weeks_with_homework(), error=error, now=datetime.now(UTC))

    @router.get("/instructor/homework")
    @instructor_page
    async def homework_list(request: Request):
        return await run_in_threadpool(listing, request)

    @router.post("/instructor/homework")
    async def open_homework(request: Request):
        form, answer = await instructor_form(request)
        if form is None:
            return answer
        cohort, deadline = form.get("cohort", ""), parse_deadline(form.get("deadline", ""))
        try:
            week = int(form.get("week", ""))
        except ValueError:
            week = 0
        if cohort not in web.config.cohorts or deadline is None:
            return await run_in_threadpool(listing, request, 400, "Choose a cohort, a week and a deadline.")
        try:
            made = await run_in_threadpool(homeworks.open, cohort, week, deadline)
        except CourseError as exc:
            return await run_in_threadpool(listing, request, 400, str(exc))
        if made is None:
            return await run_in_threadpool(listing, request, 409, f"Cohort {cohort} has week {week}'s homework "
                                           "already: change its deadline instead.")
        return RedirectResponse("/instructor/homework", status_code=303)

    @router.post("/instructor/homework/{homework_id}/deadline")
    async def move_deadline(request: Request, homework_id: int):
        form, answer = await instructor_form(request)
        if form is None:
            return answer
        deadline = parse_deadline(form.get("deadline", ""))
        if deadline is None or not await run_in_threadpool(homeworks.set_deadline, homework_id, deadline):
            return web.message(request, 400, "Deadline not moved", "Give a date and time; a scored homework keeps "
                               "its deadline.", link=BACK)
        return RedirectResponse("/instructor/homework", status_code=303)

    @router.post("/instructor/homework/{homework_id}/score")
    async def score(request: Request, homework_id: int):
        form, answer = await instructor_form(request)
        if form is None:
            return answer
        homework = await run_in_threadpool(homeworks.get, homework_id)
        if homework is None:
            return web.message(request, 404, "No such homework", "There is no homework with that number.", link=BACK)
        try:
            expected = await run_in_threadpool(expected_answers, homework.week)
            scored = await run_in_threadpool(homeworks.score, homework_id, expected)
        except Closed:
            return web.message(request, 409, "Not scored", "The deadline has not passed yet.", link=BACK)
        except CourseError as exc:  # e.g. NotLoaded: the data the right answers come from is not loaded
            return web.message(request, 409, "Not scored", f"The right answers could not be computed: {exc}",
                               link=BACK)
        return web.message(request, 200, "Scored", f"Week {homework.week}, cohort {homework.cohort}: {scored} "
                           "submissions scored.", link=BACK)

    @router.get("/instructor/homework/{homework_id}/export.csv")
    @instructor_page
    async def export(request: Request, homework_id: int):
        rows = await run_in_threadpool(homeworks.submissions, homework_id)
        return csv_response(f"homework-{homework_id}.csv", SUBMISSION_COLUMNS, (
            {**sub._mapping, "answers": json.dumps(sub.answers), "links": " ".join(sub.links)} for sub in rows))

    # Cohorts, students, leaderboards --------------------------------------------------------------------
    @router.get("/instructor/cohorts")
    @instructor_page
    async def cohort_overview(request: Request):
        rows = await run_in_threadpool(overview.cohorts, web.store.engine, web.config.cohorts)
        return web.page(request, "instructor_cohorts.html", cohorts=rows)

    @router.get("/instructor/students")
    @instructor_page
    async def student_search(request: Request, q: str = ""):
        if (q := web.checked_search(q)) is None:
            return web.message(request, 400, "Search not run", "The search text holds a NUL character; remove it.",
                               link=("/instructor/students", "Back"))
        rows = await run_in_threadpool(overview.find_students, web.store.engine, q)
        return web.page(request, "instructor_students.html", rows=rows, q=q)

    @router.get("/instructor/leaderboard")
    @instructor_page
    async def cohort_leaderboard(request: Request, cohort: str = "", format: str = "html"):
        board = await run_in_threadpool(standings, web.store.engine, cohort[:40])
        if format == "csv":
            return csv_response("leaderboard.csv", LEADERBOARD_COLUMNS, board)
        return web.page(request, "leaderboard.html", board=board, cohort=cohort, me=None)

    # Projects ---------------------------------------------------------------------------------------------
    projects = web.store.projects
    projects_back = ("/instructor/projects", "Back to the projects")

    def project_listing(request, status=200, error=None):
        return web.page(request, "instructor_projects.html", status, projects=projects.every(), error=error,
                        now=datetime.now(UTC))

    @router.get("/instructor/projects")
    @instructor_page
    async def project_list(request: Request):
        return await run_in_threadpool(project_listing, request)

    @router.post("/instructor/projects")
    async def open_project(request: Request):
        form, answer = await instructor_form(request)
        if form is None:
            return answer
        cohort = form.get("cohort", "")
        deadline, review_deadline = parse_deadline(form.get("deadline", "")), parse_deadline(
            form.get("review_deadline", ""))
        if cohort not in web.config.cohorts or deadline is None or review_deadline is None or (
                review_deadline <= deadline):
            return await run_in_threadpool(project_listing, request, 400, "Choose a cohort, a deadline and a later "
                                           "review deadline.")
        if await run_in_threadpool(projects.open, cohort, deadline, review_deadline) is None:
            return await run_in_threadpool(project_listing, request, 409, f"Cohort {cohort} has a project already.")
        return RedirectResponse("/instructor/projects", status_code=303)

    @router.post("/instructor/projects/{project_id}/deadlines")
    async def move_project_deadlines(request: Request, project_id: int):
        form, answer = await instructor_form(request)
        if form is None:
            return answer
        deadline, review_deadline = parse_deadline(form.get("deadline", "")), parse_deadline(
            form.get("review_deadline", ""))
        if (deadline is None and review_deadline is None) or not await run_in_threadpool(
                projects.set_deadlines, project_id, deadline, review_deadline):
            return web.message(request, 400, "Deadlines not moved", "Give a date and time; a scored project keeps "
                               "its deadlines.", link=projects_back)
        return RedirectResponse("/instructor/projects", status_code=303)

    @router.post("/instructor/projects/{project_id}/assign")
    async def assign(request: Request, project_id: int):
        form, answer = await instructor_form(request)
        if form is None:
            return answer
        try:
            count = await run_in_threadpool(projects.assign, project_id)
        except Closed:
            return web.message(request, 409, "Reviewers not assigned", "Reviewers are assigned once, after the "
                               "project's deadline.", link=projects_back)
        return web.message(request, 200, "Reviewers assigned", f"{count} reviews to write.", link=projects_back)

    @router.post("/instructor/projects/{project_id}/score")
    async def score_project(request: Request, project_id: int):
        form, answer = await instructor_form(request)
        if form is None:
            return answer
        try:
            passed = await run_in_threadpool(projects.score, project_id)
        except Closed:
            return web.message(request, 409, "Not scored", "Projects are scored after the review deadline.",
                               link=projects_back)
        return web.message(request, 200, "Scored", f"{passed} projects passed.", link=projects_back)

    @router.get("/instructor/projects/{project_id}/export.csv")
    @instructor_page
    async def export_projects(request: Request, project_id: int):
        rows = await run_in_threadpool(projects.submissions, project_id)
        return csv_response(f"projects-{project_id}.csv", PROJECT_COLUMNS, (row._mapping for row in rows))

    return router
