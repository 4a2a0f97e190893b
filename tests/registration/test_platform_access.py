"""Who may read and change what, for EVERY route of the app: anonymous, student A, student B (same cohort) and the
instructor each call each route; the test fails when the app has a route this table does not cover.

Besides the status of each call: nothing A handed in shows in a response to anyone but A and the instructor; no
right answer shows before the homework is scored; B's calls change nothing of A's; after the deadline nobody
hands anything in. On SQLite, and on the session's PostgreSQL (marked ``stack``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from platform_support import instructor, platform_app, post_form, student
from registration_support import VALID, postgres_url, token

ACTORS = ("anonymous", "A", "B", "instructor")
SECRET = "alpha-secret-answer"  # A's answer to q3: for A's and the instructor's eyes only
RIGHT = "right-answer-marker"  # the right answer to q3: for nobody's eyes before scoring
STUDENT_AREAS = ("/homework", "/project", "/leaderboard", "/account/tokens", "/account/alias")
ANSWERS = {"q1": 12345, "q2": "2021-01-15", "q3": RIGHT, "q4": 987, "q5": 1.5}


@dataclass
class Call:
    method: str
    route: str  # the route's path as the app declares it
    path: str  # the path called
    expect: dict[str, int]  # actor -> status
    form: dict | None = None
    json: dict | None = None
    page: str = "/account"  # where the CSRF token comes from
    headers: dict = field(default_factory=dict)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


def only(who: str | tuple, status: int, others: int) -> dict[str, int]:
    who = (who,) if isinstance(who, str) else who
    return {actor: status if actor in who else others for actor in ACTORS}


def calls(hw: int, project: int, a_token_id: int, deadline: str, later: str) -> list[Call]:
    students = ("A", "B")
    return [
        Call("GET", "/", "/", everyone(200)),
        Call("POST", "/register", "/register", everyone(201), form={**VALID}),
        Call("GET", "/health", "/health", everyone(200)),
        Call("GET", "/account", "/account", everyone(200)),
        Call("POST", "/account/login", "/account/login", everyone(401),
             form={"email": "a@example.com", "password": "not the password"}),
        Call("GET", "/account/password", "/account/password?link=" + "x" * 43, everyone(404)),
        Call("POST", "/account/password", "/account/password", everyone(404),
             form={"link": "x" * 43, "password": "p" * 12, "password2": "p" * 12}),
        Call("POST", "/account/tokens", "/account/tokens", only(students, 201, 303)),
        # A's token: B cannot revoke it (404), nor anyone not logged in as a student (303); A's own call is last.
        Call("POST", "/account/tokens/{token_id}/revoke", f"/account/tokens/{a_token_id}/revoke",
             {"anonymous": 303, "A": 303, "B": 404, "instructor": 303}),
        Call("POST", "/account/alias", "/account/alias", only(students, 303, 303), form={"alias": ""}),
        Call("GET", "/homework", "/homework", only(students, 200, 303)),
        Call("GET", "/homework/{homework_id}", f"/homework/{hw}", only(students, 200, 303)),
        Call("POST", "/homework/{homework_id}", f"/homework/{hw}", only(students, 303, 303),
             form={"q1": "1", "comments": "from whoever posts"}, page=f"/homework/{hw}"),
        Call("GET", "/leaderboard", "/leaderboard", only(students, 200, 303)),
        Call("GET", "/instructor", "/instructor", everyone(200)),  # the login page, or the instructor's page
        Call("POST", "/instructor/login", "/instructor/login", everyone(401), form={"password": "wrong password"},
             page="/instructor"),
        Call("GET", "/instructor/export.csv", "/instructor/export.csv", only("instructor", 200, 303)),
        Call("POST", "/instructor/password-link", "/instructor/password-link", only("instructor", 404, 303),
             form={"reference": "ZC-NOBODY"}, page="/instructor"),
        Call("GET", "/instructor/homework", "/instructor/homework", only("instructor", 200, 303)),
        Call("POST", "/instructor/homework", "/instructor/homework", only("instructor", 409, 303),
             form={"cohort": "2026", "week": "1", "deadline": deadline}, page="/instructor"),
        Call("POST", "/instructor/homework/{homework_id}/deadline", f"/instructor/homework/{hw}/deadline",
             only("instructor", 303, 303), form={"deadline": deadline}, page="/instructor"),
        Call("POST", "/instructor/homework/{homework_id}/score", f"/instructor/homework/{hw}/score",
             only("instructor", 409, 303), page="/instructor"),  # 409: not before the deadline
        Call("GET", "/instructor/homework/{homework_id}/export.csv", f"/instructor/homework/{hw}/export.csv",
             only("instructor", 200, 303)),
        Call("GET", "/project", "/project", only(students, 200, 303)),
        Call("POST", "/project", "/project", only(students, 303, 303),
             form={"repo_url": "https://github.com/whoever/p", "commit": "abcdef1"}),
        Call("GET", "/project/reviews/{review_id}", "/project/reviews/999", only(students, 404, 303)),
        Call("POST", "/project/reviews/{review_id}", "/project/reviews/999", only(students, 404, 303),
             form={"c0": "0"}),
        Call("GET", "/certificate/{code}", "/certificate/" + "A" * 24, everyone(404)),
        Call("GET", "/certificate/{code}.pdf", "/certificate/" + "A" * 24 + ".pdf", everyone(404)),
        Call("GET", "/instructor/cohorts", "/instructor/cohorts", only("instructor", 200, 303)),
        Call("GET", "/instructor/students", "/instructor/students?q=a", only("instructor", 200, 303)),
        Call("GET", "/instructor/leaderboard", "/instructor/leaderboard?cohort=2026&format=csv",
             only("instructor", 200, 303)),
        Call("GET", "/instructor/projects", "/instructor/projects", only("instructor", 200, 303)),
        Call("POST", "/instructor/projects", "/instructor/projects", only("instructor", 409, 303),
             form={"cohort": "2026", "deadline": deadline, "review_deadline": later}, page="/instructor"),
        Call("POST", "/instructor/projects/{project_id}/deadlines", f"/instructor/projects/{project}/deadlines",
             only("instructor", 303, 303), form={"deadline": deadline}, page="/instructor"),
        Call("POST", "/instructor/projects/{project_id}/assign", f"/instructor/projects/{project}/assign",
             only("instructor", 409, 303), page="/instructor"),  # 409: not before the deadline
        Call("POST", "/instructor/projects/{project_id}/score", f"/instructor/projects/{project}/score",
             only("instructor", 409, 303), page="/instructor"),
        Call("GET", "/instructor/projects/{project_id}/export.csv", f"/instructor/projects/{project}/export.csv",
             only("instructor", 200, 303)),
        Call("GET", "/api/project", "/api/project", only(students, 200, 401)),
        Call("GET", "/api/health", "/api/health", everyone(200)),
        Call("GET", "/api/openapi.json", "/api/openapi.json", everyone(200)),
        Call("GET", "/api/scores", "/api/scores", only(students, 200, 401)),
        Call("POST", "/api/homework/{week}/submission", "/api/homework/1/submission", only(students, 201, 401),
             json={"answers": {"q1": 2}, "comments": "from whoever posts"}),
        Call("GET", "/api/homework/{week}/submission", "/api/homework/1/submission", only(students, 200, 401)),
        Call("GET", "/api/homework/{week}/statistics", "/api/homework/1/statistics", only(students, 409, 401)),
        Call("GET", "/api/leaderboard", "/api/leaderboard", only(students, 200, 401)),
        # Last: logging out (each actor's own session only).
        Call("POST", "/account/logout", "/account/logout", everyone(303)),
        Call("POST", "/instructor/logout", "/instructor/logout", everyone(303), page="/instructor"),
    ]


def do(client: TestClient, call: Call, api_token: str | None, actor: str):
    if call.path.startswith("/api/"):  # the API: the actor's token, never cookies
        headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
        return TestClient(client.app).request(call.method, call.path, json=call.json, headers=headers)
    if call.method == "GET":
        return client.get(call.path, follow_redirects=False)
    form = dict(call.form or {})
    if call.route == "/register":
        form["email"] = f"new-{actor}@example.com"
        return client.post("/register", data={**form, "csrf_token": token(client.get("/").text)})
    return post_form(client, call.path, page=call.page, **form)


def walk(app) -> None:
    a, b = student(app, "Ada", "a@example.com"), student(app, "Bob", "b@example.com")
    boss = instructor(app)
    store = app.state.store
    soon = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    post_form(boss, "/instructor/homework", page="/instructor/homework", cohort="2026", week="1", deadline=soon)
    hw = store.homework.find("2026", 1).id
    later = (datetime.now(UTC) + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    post_form(boss, "/instructor/projects", page="/instructor/projects", cohort="2026", deadline=soon,
              review_deadline=later)
    project = store.projects.of_cohort("2026").id
    post_form(a.client, "/project", repo_url=f"https://github.com/{SECRET}/p", commit="abcdef1")
    tokens = {}
    for name, s in (("A", a), ("B", b)):
        made = post_form(s.client, "/account/tokens")
        tokens[name] = made.text.split('id="new-token">')[1].split("<")[0]
    post_form(a.client, "/account/tokens")  # a second token of A's: the one the revocation row aims at
    a_token_id = store.accounts.api_tokens(1)[0][0]
    post_form(a.client, f"/homework/{hw}", page=f"/homework/{hw}", q1="12345", q3=SECRET, comments=SECRET)
    clients = {"anonymous": TestClient(app), "A": a.client, "B": b.client, "instructor": boss}

    table = calls(hw, project, a_token_id, soon, later)
    declared = {(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods - {"HEAD"}}
    assert declared == {(c.method, c.route) for c in table}, "a route is missing from (or extra in) the table"

    revoked = False
    order = ("anonymous", "B", "instructor", "A")  # A last: A's own token revocation and logout come after B's tries
    for call in table:
        for actor in order:
            a_before = store.homework.submission(hw, 1)
            a_project = store.projects.submission_of(project, 1)
            got = do(clients[actor], call, tokens.get(actor), actor)
            assert got.status_code == call.expect[actor], (call.path, actor, got.status_code, got.text[:300])
            if got.status_code == 303:  # a student's page sends others to the student login, and so on
                if actor in ("anonymous", "instructor") and call.route.startswith(STUDENT_AREAS):
                    assert got.headers["location"] == "/account", (call.path, actor)
                if actor != "instructor" and call.route.startswith("/instructor/"):
                    assert got.headers["location"] == "/instructor", (call.path, actor)
            text = got.text
            assert RIGHT not in text, (call.path, actor)  # never before scoring
            if actor not in ("A", "instructor"):
                assert SECRET not in text, (call.path, actor)
            # Nobody else's call changed A's submission (or A's tokens, below).
            a_after = store.homework.submission(hw, 1)
            if actor != "A":
                assert (a_after.answers, a_after.submitted_at) == (a_before.answers, a_before.submitted_at)
                assert store.projects.submission_of(project, 1) == a_project, (call.path, actor)
            assert store.accounts.token_owner(tokens["A"]) is not None, (call.path, actor)
            revoked = revoked or (actor == "A" and call.route == "/account/tokens/{token_id}/revoke")
            assert (a_token_id in [t for t, _ in store.accounts.api_tokens(1)]) != revoked, (call.path, actor)
    assert a_token_id not in [t for t, _ in store.accounts.api_tokens(1)]  # A could revoke A's own token

    # After the deadline nobody hands anything in, through either door; scoring then shows the right answers.
    a2, b2 = student_again(app, a), student_again(app, b)
    post_form(a2.client, f"/homework/{hw}", page=f"/homework/{hw}", q3=SECRET)  # the walk replaced A's answers
    post_form(a2.client, "/project", repo_url=f"https://github.com/{SECRET}/p", commit="abcdef1")  # and project
    store.homework.set_deadline(hw, datetime.now(UTC) - timedelta(seconds=1))
    before = store.homework.submission(hw, 2)
    late = post_form(b2.client, f"/homework/{hw}", page="/account", q1="999")
    assert late.status_code == 409 and store.homework.submission(hw, 2).answers == before.answers
    late_api = TestClient(app).post("/api/homework/1/submission", json={"answers": {"q1": 999}},
                                    headers={"Authorization": f"Bearer {tokens['B']}"})
    assert late_api.status_code == 409 and store.homework.submission(hw, 2).submitted_at == before.submitted_at
    assert RIGHT not in b2.client.get(f"/homework/{hw}").text  # closed, not scored: still no right answers
    store.homework.score(hw, ANSWERS)
    seen_by_b = b2.client.get(f"/homework/{hw}").text
    assert RIGHT in seen_by_b and SECRET not in seen_by_b  # B sees the right answers, never A's
    assert SECRET in a2.client.get(f"/homework/{hw}").text
    stats = TestClient(app).get("/api/homework/1/statistics", headers={"Authorization": f"Bearer {tokens['B']}"})
    assert stats.status_code == 200 and SECRET not in stats.text

    # Peer review: B reviews A's project (and A B's); neither can read or change the other's review.
    store.projects.set_deadlines(project, deadline=datetime.now(UTC) - timedelta(seconds=1))
    assert store.projects.assign(project) == 2
    [a_review], [b_review] = store.projects.reviews_by(project, 1), store.projects.reviews_by(project, 2)
    assert SECRET in b2.client.get(f"/project/reviews/{b_review.id}").text  # B reviews A's project: sees it
    assert b2.client.get(f"/project/reviews/{a_review.id}").status_code == 404  # A's review of B: not B's
    top = {f"c{i}": "0" for i in range(7)}
    assert post_form(b2.client, f"/project/reviews/{a_review.id}", **top).status_code == 404
    assert post_form(a2.client, f"/project/reviews/{a_review.id}", **top, comment="by A").status_code == 303
    assert post_form(b2.client, f"/project/reviews/{a_review.id}", **top, comment="by B").status_code == 404
    assert store.projects.review(a_review.id, 1).comment == "by A"
    assert "by A" not in b2.client.get("/project").text  # B sees reviews of B's project only once scored
    store.close()


def student_again(app, s):
    """Log the student in again (the walk logged everyone out)."""
    from platform_support import log_in

    s.client = TestClient(app)
    assert log_in(s).status_code == 303
    return s


def test_every_route_on_sqlite(tmp_path):
    walk(platform_app(tmp_path, expected_answers=lambda week: ANSWERS))


@pytest.mark.stack
def test_every_route_on_postgres(tmp_path):
    walk(platform_app(tmp_path, database_url=postgres_url("platform_access"), expected_answers=lambda week: ANSWERS))
