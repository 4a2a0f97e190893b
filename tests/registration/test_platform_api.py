"""The JSON API through the test client: token auth, handing in homework, own scores and submission, statistics
and leaderboard after scoring (the leaderboard matches the scores), the OpenAPI schema of the API routes only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from platform_support import instructor, platform_app, post_form, student
from test_platform_homework import RIGHT, answers_of_week, close, open_week_1


def api_token(s) -> str:
    made = post_form(s.client, "/account/tokens")
    return made.text.split('id="new-token">')[1].split("<")[0]


def test_the_api_hands_in_homework_and_reports_scores_statistics_and_the_leaderboard(tmp_path):
    app = platform_app(tmp_path, expected_answers=answers_of_week)
    ada, bob = student(app, "Ada", "ada@example.com"), student(app, "Bob", "bob@example.com")
    post_form(bob.client, "/account/alias", alias="Bobcat")
    api = TestClient(app)
    ada_auth = {"Authorization": f"Bearer {api_token(ada)}"}
    bob_auth = {"Authorization": f"Bearer {api_token(bob)}"}

    assert api.post("/api/homework/1/submission", json={"answers": RIGHT}, headers=ada_auth).status_code == 404
    homework_id = open_week_1(app)
    for auth in ({}, {"Authorization": "Bearer zc_not-a-token"}, {"Authorization": "Basic YTpi"}):
        refused = api.post("/api/homework/1/submission", json={"answers": RIGHT}, headers=auth)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    # A logged-in browser's cookies open nothing in the API (so no cross-site requests through it).
    assert ada.client.get("/api/scores").status_code == 401

    bad = api.post("/api/homework/1/submission", json={"answers": {**RIGHT, "q2": "15/01/2021", "q9": "1"}},
                   headers=ada_auth)
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["errors"]["q2"] and "q9" in bad.json()["errors"]
    sent = api.post("/api/homework/1/submission", headers=ada_auth, json={
        "answers": {**RIGHT, "q1": 12345, "q5": 4321.12}, "links": ["https://blog.example/1"], "time_spent": 2.5})
    assert sent.status_code == 201 and sent.json()["answers"]["q1"] == 12345
    assert api.post("/api/homework/1/submission", headers=bob_auth,
                    json={"answers": {"q1": "1"}, "time_spent": 1}).status_code == 201
    assert api.post("/api/homework/1/submission", content=b"{", headers={**ada_auth, "Content-Type":
                                                                         "application/json"}).status_code == 400
    mine = api.get("/api/homework/1/submission", headers=ada_auth)
    assert mine.headers["cache-control"] == "no-store"
    mine = mine.json()
    assert mine["right_answers"] is None and mine["score"] is None and mine["time_spent"] == 2.5
    assert api.get("/api/homework/1/statistics", headers=ada_auth).status_code == 409  # not before scoring

    close(app, homework_id)
    late = api.post("/api/homework/1/submission", json={"answers": RIGHT}, headers=bob_auth)
    assert late.status_code == 409 and app.state.store.homework.submission(homework_id, 2).answers == {"q1": 1}
    post_form(instructor(app), f"/instructor/homework/{homework_id}/score", page="/instructor/homework")

    mine = api.get("/api/homework/1/submission", headers=ada_auth).json()
    assert mine["score"] == 6 and mine["right_answers"]["q2"] == "2021-01-15"
    assert api.get("/api/scores", headers=ada_auth).json()["homework"] == [{
        "homework": homework_id, "week": 1, "state": "scored", "deadline": mine_deadline(app, homework_id),
        "submitted": True, "score": 6}]
    stats = api.get("/api/homework/1/statistics", headers=bob_auth).json()
    assert stats["score"] == {"min": 0, "q1": 1.5, "median": 3.0, "q3": 4.5, "max": 6, "count": 2}
    board = api.get("/api/leaderboard", headers=bob_auth).json()
    assert board == {"cohort": "2026", "standings": [
        {"rank": 1, "name": "Ada", "homework": 6, "project": 0, "total": 6, "you": False},
        {"rank": 2, "name": "Bobcat", "homework": 0, "project": 0, "total": 0, "you": True}]}
    page = bob.client.get("/leaderboard").text
    assert "Bobcat (you)" in page and "<td>6</td>" in page
    app.state.store.close()


def mine_deadline(app, homework_id: int) -> str:
    return app.state.store.homework.get(homework_id).deadline.isoformat()


def test_the_openapi_schema_covers_the_api_routes_only_and_health_needs_no_token(tmp_path):
    app = platform_app(tmp_path)
    client = TestClient(app)
    assert client.get("/api/health").json() == {"status": "ok", "database": "ok", "schema": "0006"}
    schema = client.get("/api/openapi.json").json()
    assert set(schema["paths"]) == {"/api/health", "/api/scores", "/api/homework/{week}/submission",
                                    "/api/homework/{week}/statistics", "/api/project", "/api/leaderboard"}
    assert "answers" in schema["paths"]["/api/homework/{week}/submission"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]
    for hidden in ("/openapi.json", "/docs", "/redoc"):
        assert client.get(hidden).status_code == 404
    app.state.store.close()


def test_homework_submit_says_in_one_line_what_is_missing(tmp_path):
    from in_process import zoomcamp

    from zoomcamp.stack import free_port

    answers = tmp_path / "answers.yaml"
    answers.write_text("q1: 12345\nq2: 2021-01-15\n")
    no_token = zoomcamp("homework", "submit", "1", "--answers", str(answers), ZOOMCAMP_PLATFORM_TOKEN="")
    assert no_token.returncode == 2 and "ZOOMCAMP_PLATFORM_TOKEN" in no_token.stderr
    nobody = zoomcamp("homework", "submit", "1", "--answers", str(answers), ZOOMCAMP_PLATFORM_TOKEN="zc_x",
                      ZOOMCAMP_PLATFORM_URL=f"http://127.0.0.1:{free_port()}")
    assert nobody.returncode == 2 and "cannot reach the course platform" in nobody.stderr
    shown = zoomcamp("settings", ZOOMCAMP_PLATFORM_TOKEN="zc_secret-token")
    assert "zc_secret-token" not in shown.stdout and "platform_token" in shown.stdout
