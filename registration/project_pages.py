"""The student's project pages: hand in the repository and commit, review the peers' projects given to you with
the course's rubric, see your project's reviews and score (``/project...``); and the certificate anyone with its
link can open, as a page and as a PDF (``/certificate/<code>``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from . import certificates
from .homework import Closed
from .projects import check_repository, check_review, max_total, pass_mark, rubric
from .web import Web

BACK = ("/project", "Back to your project")


def routes(web: Web) -> APIRouter:
    router = APIRouter()
    projects = web.store.projects

    def show(request, student, project, status=200, values=None, errors=None, saved=False):
        own = projects.submission_of(project.id, student.id) if project else None
        context = {"project": project, "state": project.state() if project else None, "own": own,
                   "values": values or ({"repo_url": own.repo_url, "commit": own.commit} if own else {}),
                   "errors": errors or {}, "saved": saved, "reviews": [], "received": [],
                   "pass_mark": pass_mark(), "max_total": max_total()}
        if project is not None:
            context["reviews"] = projects.reviews_by(project.id, student.id)
            if context["state"] == "scored" and own is not None:
                context["received"] = projects.received(own.id)
        return web.page(request, "project.html", status, **context)

    async def logged_in(request):
        student = await web.student(request)
        return student, (None if student else RedirectResponse("/account", status_code=303))

    @router.get("/project")
    async def project_page(request: Request, saved: int = 0):
        student, answer = await logged_in(request)
        if student is None:
            return answer
        project = await run_in_threadpool(projects.of_cohort, student.cohort)
        return await run_in_threadpool(show, request, student, project, 200, None, None, bool(saved))

    @router.post("/project")
    async def hand_in(request: Request):
        form, answer = await web.checked_post(request, "Not handed in", BACK)
        if form is None:
            return answer
        student, answer = await logged_in(request)
        if student is None:
            return answer
        project = await run_in_threadpool(projects.of_cohort, student.cohort)
        if project is None:
            return web.message(request, 404, "No project", "Your cohort has no project yet.", link=BACK)
        given, errors = check_repository(form.get("repo_url", ""), form.get("commit", ""))
        if given is None:
            return await run_in_threadpool(show, request, student, project, 400, form, errors)
        try:
            await run_in_threadpool(projects.submit, project.id, student.id, *given)
        except Closed:
            return web.message(request, 409, "Not handed in", "The project's deadline has passed.", link=BACK)
        return RedirectResponse("/project?saved=1", status_code=303)  # post/redirect/get

    async def own_review(request, review_id):
        student, answer = await logged_in(request)
        if student is None:
            return None, None, answer
        review = await run_in_threadpool(projects.review, review_id, student.id)
        if review is None:  # not given to this student (their own project never is)
            return None, None, web.message(request, 404, "No such review", "You were not given this review.",
                                           link=BACK)
        return student, review, None

    def review_page(request, review, status=200, values=None, errors=None):
        project = projects.get(review.project_id)
        if values is None:
            values = {f"c{i}": str((review.scores or {}).get(c.name, "")) for i, c in enumerate(rubric())}
            values["comment"] = review.comment or ""
        return web.page(request, "review.html", status, review=review, rubric=rubric(), values=values,
                        errors=errors or {}, state=project.state())

    @router.get("/project/reviews/{review_id}")
    async def review_form(request: Request, review_id: int):
        student, review, answer = await own_review(request, review_id)
        if student is None:
            return answer
        return await run_in_threadpool(review_page, request, review)

    @router.post("/project/reviews/{review_id}")
    async def save_review(request: Request, review_id: int):
        form, answer = await web.checked_post(request, "Review not saved", BACK)
        if form is None:
            return answer
        student, review, answer = await own_review(request, review_id)
        if student is None:
            return answer
        scores, comment, errors = check_review(form)
        if scores is None:
            return await run_in_threadpool(review_page, request, review, 400, form, errors)
        try:
            await run_in_threadpool(projects.save_review, review_id, student.id, scores, comment)
        except Closed:
            return web.message(request, 409, "Review not saved", "Reviews are closed for this project.", link=BACK)
        return RedirectResponse("/project", status_code=303)

    # Certificates: public, for whoever has the link ------------------------------------------------------
    def not_found(request):
        return web.message(request, 404, "No such certificate", "No certificate has this link.", link=("/", "Home"))

    @router.get("/certificate/{code}.pdf")
    async def certificate_pdf(request: Request, code: str):
        found = await run_in_threadpool(projects.certificate, code)
        if found is None:
            return not_found(request)
        data = await run_in_threadpool(certificates.pdf, found.name, found.cohort, found.score, found.scored_at,
                                       f"{request.base_url}certificate/{code}")
        return Response(data, media_type="application/pdf", headers={
            "Content-Disposition": 'inline; filename="zoomcamp-certificate.pdf"'})

    @router.get("/certificate/{code}")
    async def certificate_page(request: Request, code: str):
        found = await run_in_threadpool(projects.certificate, code)
        if found is None:
            return not_found(request)
        return web.page(request, "certificate.html", certificate=found, code=code,
                        url=f"{request.base_url}certificate/{code}")

    return router
