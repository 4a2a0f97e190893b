"""Projects through the test client: hand in a repository and commit, three peer reviewers each (never the
author, balanced), reviews with the course's rubric until the review deadline, scores (the median of the reviews),
passing, certificates (page and PDF) with a verifiable link, and the project points on the leaderboard."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from platform_support import instructor, platform_app, post_form, student

from registration.projects import check_repository, max_total, pass_mark, reviewers_for, rubric
from zoomcamp.rubric import RUBRIC


@pytest.mark.parametrize("n", range(1, 12))
def test_reviewers_are_never_the_author_and_everyone_reviews_as_many_as_they_get(n):
    plan = reviewers_for(list(range(100, 100 + n)), random.Random(n))
    wanted = min(3, n - 1)
    assert set(plan) == set(range(100, 100 + n))
    for author, reviewers in plan.items():
        assert author not in reviewers and len(set(reviewers)) == len(reviewers) == wanted
    given = [reviewer for reviewers in plan.values() for reviewer in reviewers]
    assert all(given.count(s) == wanted for s in plan)


def test_the_review_form_is_the_courses_rubric():
    assert [c.name for c in rubric()] == list(RUBRIC)
    assert rubric()[0].allowed == (0, 1, 2) and rubric()[1].allowed == (0, 2, 4)
    assert max_total() == sum(top for top, _ in RUBRIC.values()) and pass_mark() == (max_total() + 1) // 2
    assert check_repository(" https://github.com/ada/project ", "ABCDEF1")[0] == ("https://github.com/ada/project",
                                                                                   "abcdef1")
    assert set(check_repository("http://x.example/p", "xyz")[1]) == {"repo_url", "commit"}


def moment(delta_minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=delta_minutes)).strftime("%Y-%m-%dT%H:%M")


def review_form(points: str) -> dict:
    """Every criterion at its top (``"top"``) or at 0."""
    return {f"c{i}": str(c.max_points if points == "top" else 0) for i, c in enumerate(rubric())}


def test_a_cohorts_project_from_hand_in_to_certificates(tmp_path):
    app = platform_app(tmp_path)
    store = app.state.store
    people = {name: student(app, name, f"{name.lower()}@example.com") for name in ("Ada", "Bob", "Cy", "Di", "Ed")}
    boss = instructor(app)
    assert post_form(boss, "/instructor/projects", page="/instructor/projects", cohort="2026",
                     deadline=moment(60), review_deadline=moment(30)).status_code == 400  # reviews before hand-in
    assert post_form(boss, "/instructor/projects", page="/instructor/projects", cohort="2026",
                     deadline=moment(60), review_deadline=moment(120)).status_code == 303
    project = store.projects.of_cohort("2026")

    bad = post_form(people["Ada"].client, "/project", repo_url="javascript:alert(1)", commit="1")
    assert bad.status_code == 400 and store.projects.submission_of(project.id, 1) is None
    for i, name in enumerate(("Ada", "Bob", "Cy", "Di")):  # Ed hands nothing in
        sent = post_form(people[name].client, "/project",
                         repo_url=f"https://github.com/{name.lower()}/old", commit="0" * 40)
        assert sent.headers["location"] == "/project?saved=1"
        post_form(people[name].client, "/project", repo_url=f"https://github.com/{name.lower()}/dez",
                  commit=f"{i + 1:07x}")
    assert store.projects.submission_of(project.id, 1).repo_url == "https://github.com/ada/dez"  # replaced

    assert post_form(boss, f"/instructor/projects/{project.id}/assign", page="/instructor/projects").status_code == 409
    store.projects.set_deadlines(project.id, deadline=datetime.now(UTC) - timedelta(seconds=1))
    late = post_form(people["Ed"].client, "/project", repo_url="https://github.com/ed/p",
                     commit="abcdef1")
    assert late.status_code == 409 and store.projects.submission_of(project.id, 5) is None
    assigned = post_form(boss, f"/instructor/projects/{project.id}/assign", page="/instructor/projects")
    assert assigned.status_code == 200 and "12 reviews" in assigned.text  # 4 projects, 3 reviewers each
    assert post_form(boss, f"/instructor/projects/{project.id}/assign",
                     page="/instructor/projects").status_code == 409  # once

    ids = {name: i + 1 for i, name in enumerate(people)}
    given = {name: store.projects.reviews_by(project.id, ids[name]) for name in people}
    assert [len(given[n]) for n in people] == [3, 3, 3, 3, 0]
    for name in ("Ada", "Bob", "Cy", "Di"):  # four projects, three reviewers: everyone else; never oneself
        assert f"github.com/{name.lower()}/" not in " ".join(r.repo_url for r in given[name])
    others_review = given["Bob"][0].id
    assert people["Ada"].client.get(f"/project/reviews/{others_review}").status_code == 404
    assert post_form(people["Ada"].client, f"/project/reviews/{others_review}",
                     **review_form("top")).status_code == 404
    first = given["Ada"][0].id
    wrong = post_form(people["Ada"].client, f"/project/reviews/{first}",
                      **{**review_form("top"), "c1": "3"})
    assert wrong.status_code == 400 and "choose one of 0, 2, 4" in wrong.text
    # Ada and Bob give every project full points, Cy none, Di writes no review.
    for name, points in (("Ada", "top"), ("Bob", "top"), ("Cy", "zero")):
        for review in given[name]:
            saved = post_form(people[name].client, f"/project/reviews/{review.id}",
                              **review_form(points), comment=f"from {name}")
            assert saved.status_code == 303
    assert post_form(boss, f"/instructor/projects/{project.id}/score", page="/instructor/projects").status_code == 409

    store.projects.set_deadlines(project.id, review_deadline=datetime.now(UTC) - timedelta(seconds=1))
    closed = post_form(people["Di"].client, f"/project/reviews/{given['Di'][0].id}",
                       **review_form("top"))
    assert closed.status_code == 409
    scored = post_form(boss, f"/instructor/projects/{project.id}/score", page="/instructor/projects")
    assert scored.status_code == 200 and "3 projects passed" in scored.text
    results = {name: store.projects.submission_of(project.id, ids[name]) for name in ("Ada", "Bob", "Cy", "Di")}
    # Ada: Bob 26, Cy 0 -> median 13 = the pass mark; Cy: Ada 26, Bob 26; Di: 26 but Di wrote no review.
    assert {n: (r.score, r.passed) for n, r in results.items()} == {
        "Ada": (13.0, True), "Bob": (13.0, True), "Cy": (26.0, True), "Di": (26.0, False)}
    assert results["Di"].certificate is None

    page = people["Ada"].client.get("/project").text
    assert 'id="project-score">13<' in page and "from Bob" in page and "from Di" not in page
    code = results["Ada"].certificate
    public = TestClient(app)  # anyone with the link: that is the verification
    certificate = public.get(f"/certificate/{code}")
    assert certificate.status_code == 200 and 'id="certificate-name">Ada<' in certificate.text
    assert f"/certificate/{code}" in certificate.text
    pdf = public.get(f"/certificate/{code}.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert public.get("/certificate/" + "A" * 24).status_code == 404
    assert public.get("/certificate/" + "A" * 24 + ".pdf").status_code == 404

    token = post_form(people["Cy"].client, "/account/tokens").text.split('id="new-token">')[1].split("<")[0]
    mine = public.get("/api/project", headers={"Authorization": f"Bearer {token}"}).json()
    assert (mine["score"], mine["passed"], mine["reviews_written"]) == (26.0, True, 3)
    board = public.get("/api/leaderboard", headers={"Authorization": f"Bearer {token}"}).json()["standings"]
    assert [(r["name"], r["project"], r["total"]) for r in board] == [
        ("Cy", 26, 26), ("Di", 26, 26), ("Ada", 13, 13), ("Bob", 13, 13), ("Ed", 0, 0)]
    export = boss.get(f"/instructor/projects/{project.id}/export.csv").text.splitlines()
    assert export[0] == "reference,name,email,repo_url,commit,submitted_at,score,passed,reviews_done"
    assert [line.split(",")[-1] for line in export[1:]] == ["3", "3", "3", "0"]
    store.close()
