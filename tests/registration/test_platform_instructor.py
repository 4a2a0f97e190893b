"""The instructor's overview pages through the test client: the cohorts' numbers, the student search (with
points; wildcards literal), each cohort's leaderboard as a page and as a formula-guarded CSV."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from platform_support import instructor, platform_app, post_form, register, student
from test_platform_homework import RIGHT, answers_of_week, close, open_week_1


def test_cohorts_students_and_leaderboards(tmp_path):
    app = platform_app(tmp_path, expected_answers=answers_of_week)
    ada = student(app, "Ada", "ada@example.com")
    student(app, "=HYPERLINK(evil)", "bob@example.com")
    register(app, "Cy 100%", "cy@example.com", cohort="2027")  # no password yet
    hw = open_week_1(app)
    post_form(ada.client, f"/homework/{hw}", page=f"/homework/{hw}", **RIGHT)
    close(app, hw)
    boss = instructor(app)
    post_form(boss, f"/instructor/homework/{hw}/score", page="/instructor/homework")

    cohorts = boss.get("/instructor/cohorts").text
    assert "<td>2026</td><td>2</td><td>2</td>" in cohorts and "week 1: 1 (scored)" in cohorts
    assert "<td>2027</td><td>1</td><td>0</td>" in cohorts

    found = boss.get("/instructor/students", params={"q": "100%"}).text
    assert "Cy 100%" in found and "Ada" not in found  # % is a character, not a wildcard
    everyone = boss.get("/instructor/students").text
    assert everyone.count("Set-password link") == 3 and "<td>5</td>" in everyone  # Ada's 5 homework points
    assert boss.get("/instructor/students", params={"q": "a\x00"}).status_code == 400

    page = boss.get("/instructor/leaderboard", params={"cohort": "2026"}).text
    assert page.index("Ada") < page.index("HYPERLINK")
    rows = list(csv.reader(io.StringIO(boss.get("/instructor/leaderboard",
                                                params={"cohort": "2026", "format": "csv"}).text)))
    assert rows == [["rank", "name", "homework", "project", "total"], ["1", "Ada", "5", "0.0", "5.0"],
                    ["2", "'=HYPERLINK(evil)", "0", "0.0", "0.0"]]
    for path in ("/instructor/cohorts", "/instructor/students", "/instructor/leaderboard?cohort=2026"):
        assert TestClient(app).get(path, follow_redirects=False).headers["location"] == "/instructor"
        assert ada.client.get(path, follow_redirects=False).headers["location"] == "/instructor"
    app.state.store.close()
