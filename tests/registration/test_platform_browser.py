"""The platform end to end in a real browser (Debian's headless Chromium, driven by Playwright) against a real
server: the student's flow (register, set the password, log in, hand in homework, see the score after scoring,
hand in the project, review a peer, get the certificate) and the instructor's (cohorts, homework, deadlines,
scoring, projects, reviewers, search, leaderboard, CSV). Screenshots in .zoomcamp-test/artifacts/platform-*.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from platform_support import STUDENT_PASSWORD, platform_app
from registration_support import PASSWORD, ThreadedServer, artifacts

from registration.forms import Submission
from registration.security import hash_password

pytestmark = pytest.mark.stack  # like the registration browser test: with the real-browser tests of `make test`

WEEK_1 = {"q1": 12345, "q2": "2021-01-15", "q3": "JFK Airport", "q4": 987, "q5": 4321.12}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("platform-browser")
    with ThreadedServer(platform_app(folder, expected_answers=lambda week: WEEK_1)) as running:
        yield running


def minute(delta: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=delta)).strftime("%Y-%m-%dT%H:%M")


def instructor_page(browser, server):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/instructor")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Registrations").wait_for()
    return page


def seeded_peer(server, cohort: str, name: str) -> int:
    """Another student of the cohort, with a password and a project handed in (made through the store)."""
    store = server.app.state.store
    store.register(Submission(name=name, email=f"{name.lower()}@example.com", country="NL", timezone="UTC",
                              experience="none", role="other", cloud="none", heard_from="other", cohort=cohort))
    account = store.accounts.by_email(f"{name.lower()}@example.com")
    store.accounts.set_password(store.accounts.new_link(account.id), hash_password(STUDENT_PASSWORD, n=2**10))
    return account.id


def test_the_student_flow(browser, server):
    store = server.app.state.store
    boss = instructor_page(browser, server)
    boss.goto(server.url + "/instructor/homework")
    boss.get_by_label("Cohort", exact=True).select_option("2026")
    boss.get_by_label("Week", exact=True).select_option("1")
    boss.get_by_label("Deadline (UTC)").fill(minute(60))
    boss.get_by_role("button", name="Open").click()
    boss.locator("#homework tbody tr", has_text="2026").wait_for()

    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(server.url + "/")
    page.get_by_label("Name", exact=True).fill("Grace Hopper")
    page.get_by_label("Email", exact=True).fill("grace@example.com")
    page.get_by_label("Country", exact=True).select_option(label="United States")
    page.get_by_label("Time zone", exact=True).select_option("America/New_York")
    page.get_by_label("Advanced: I work with data pipelines every day").check()
    page.get_by_label("Role", exact=True).select_option(label="Data engineer")
    page.get_by_label("Google Cloud (GCP)").check()
    page.get_by_label("How did you hear about the course?").select_option(label="YouTube")
    page.get_by_label("Cohort", exact=True).select_option("2026")
    page.get_by_label("I agree").check()
    page.get_by_role("button", name="Register").click()
    page.get_by_role("link", name="set its password").click()
    page.get_by_label("New password (at least 12 characters)").fill(STUDENT_PASSWORD)
    page.get_by_label("The same password again").fill(STUDENT_PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    page.get_by_label("Email address").fill("grace@example.com")
    page.get_by_label("Password", exact=True).fill(STUDENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Grace Hopper").wait_for()

    page.get_by_role("link", name="Homework").click()
    page.get_by_role("link", name="Week 1").click()
    for qid, value in {"q1": "12,345", "q2": "15/01/2021", "q3": "jfk airport", "q4": "987", "q5": "4321.12"}.items():
        page.get_by_label(qid, exact=False).first.fill(value)
    page.get_by_label("Time spent (hours)").fill("3")
    page.get_by_role("button", name="Submit").click()
    assert "write dates as YYYY-MM-DD" in page.locator(".field-error").inner_text()  # the checker's hint
    page.locator("#q2").fill("2021-01-15")
    page.get_by_role("button", name="Submit").click()
    page.locator("#saved").wait_for()
    page.screenshot(path=artifacts() / "platform-homework.png", full_page=True)

    # The deadline passes (the instructor moves it), then the instructor scores.
    row = boss.locator("#homework tbody tr", has_text="2026")
    row.get_by_label("New deadline").fill(minute(-1))
    row.get_by_role("button", name="Move").click()
    boss.locator("#homework tbody tr", has_text="2026").get_by_role("button", name="Score").click()
    boss.get_by_role("heading", name="Scored").wait_for()
    page.reload()  # the page after handing in was a GET (post/redirect/get): reloading sends nothing
    assert page.locator("#score").inner_text() == "5" and page.locator("#state").inner_text() == "scored"
    assert "JFK Airport" in page.locator("#answers").inner_text()
    assert page.locator("figure.plot svg").count() == 2
    page.screenshot(path=artifacts() / "platform-homework-scored.png", full_page=True)

    # The project: open it, hand in, a peer hands in too; after the deadline reviewers are assigned.
    boss.goto(server.url + "/instructor/projects")
    boss.get_by_label("Cohort", exact=True).select_option("2026")
    boss.get_by_label("Hand-in deadline (UTC)").fill(minute(60))
    boss.get_by_label("Review deadline (UTC)").fill(minute(120))
    boss.get_by_role("button", name="Open").click()
    project = store.projects.of_cohort("2026")
    peer = seeded_peer(server, "2026", "Linus")
    store.projects.submit(project.id, peer, "https://github.com/linus/dez", "1234567")
    page.goto(server.url + "/account")
    page.get_by_role("link", name="Project").click()
    page.get_by_label("Repository (https)").fill("https://github.com/grace/dez-project")
    page.get_by_label("Commit to review").fill("abcdef1234")
    page.get_by_role("button", name="Hand in").click()
    page.locator("#saved").wait_for()
    store.projects.set_deadlines(project.id, deadline=datetime.now(UTC) - timedelta(seconds=1))
    boss.goto(server.url + "/instructor/projects")
    boss.get_by_role("button", name="Assign reviewers").click()
    boss.get_by_role("heading", name="Reviewers assigned").wait_for()

    page.goto(server.url + "/project")
    page.get_by_role("link", name="https://github.com/linus/dez").click()
    for select in page.locator("main select").all():
        select.select_option(index=select.locator("option").count() - 1)  # top points everywhere
    page.get_by_label("Comment for the author").fill("Clear README; it ran.")
    page.screenshot(path=artifacts() / "platform-review.png", full_page=True)
    page.get_by_role("button", name="Hand in the review").click()
    assert "done" in page.locator("#reviews").inner_text()
    [linus_review] = store.projects.reviews_by(project.id, peer)
    store.projects.save_review(linus_review.id, peer, {"Problem description": 2, "Cloud and IaC": 4,
                                                       "Data ingestion (batch or stream)": 4, "Data warehouse": 2,
                                                       "Transformations": 4, "Dashboard": 4,
                                                       "Reproducibility": 2}, "Nice dashboard")
    store.projects.set_deadlines(project.id, review_deadline=datetime.now(UTC) - timedelta(seconds=1))
    boss.goto(server.url + "/instructor/projects")
    boss.get_by_role("button", name="Score").click()
    boss.get_by_role("heading", name="Scored").wait_for()

    page.goto(server.url + "/project")
    assert page.locator("#project-score").inner_text() == "22"
    page.get_by_role("link", name="Your certificate").click()
    assert page.locator("#certificate-name").inner_text() == "Grace Hopper"
    page.screenshot(path=artifacts() / "platform-certificate.png", full_page=True)
    pdf = page.request.get(page.url + ".pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
    page.goto(server.url + "/leaderboard")
    assert "Grace Hopper (you)" in page.locator("#leaderboard").inner_text()
    page.context.close()
    boss.context.close()


def test_the_instructor_flow(browser, server):
    store = server.app.state.store
    seeded_peer(server, "2027", "Barbara")
    page = instructor_page(browser, server)
    page.get_by_role("link", name="Cohorts").click()
    assert "2027" in page.locator("#cohorts").inner_text()
    page.get_by_role("link", name="Homework").click()
    page.get_by_label("Cohort", exact=True).select_option("2027")
    page.get_by_label("Week", exact=True).select_option("1")
    page.get_by_label("Deadline (UTC)").fill(minute(30))
    page.get_by_role("button", name="Open").click()
    row = page.locator("#homework tbody tr", has_text="2027")
    assert "open" in row.inner_text()
    homework = store.homework.find("2027", 1)
    barbara = store.accounts.by_email("barbara@example.com")
    from registration.homework import parse_submission

    store.homework.submit(homework.id, barbara.id, parse_submission(homework.questions, {"q1": "12345"})[0])
    row.get_by_label("New deadline").fill(minute(-1))
    row.get_by_role("button", name="Move").click()
    row = page.locator("#homework tbody tr", has_text="2027")
    assert "closed" in row.inner_text()
    row.get_by_role("button", name="Score").click()
    assert "1 submissions scored" in page.locator("main").inner_text()
    page.goto(server.url + "/instructor/homework")
    page.locator("#homework tbody tr", has_text="2027").get_by_role("button", name="Score again").click()
    page.get_by_role("heading", name="Scored").wait_for()
    with page.expect_download() as download:
        page.goto(server.url + "/instructor/homework")
        page.locator("#homework tbody tr", has_text="2027").get_by_role("link", name="CSV").click()
    assert "barbara@example.com" in open(download.value.path()).read()

    page.goto(server.url + "/instructor/students")
    page.get_by_label("Search name, email, id, alias or cohort").fill("barbara")
    page.get_by_role("button", name="Search").click()
    assert page.locator("#students tbody tr").count() == 1
    page.get_by_role("button", name="Set-password link").click()
    assert "/account/password?link=" in page.locator("main").inner_text()
    page.goto(server.url + "/instructor/cohorts")
    page.locator("#cohorts tbody tr", has_text="2027").get_by_role("link", name="Leaderboard").click()
    assert "Barbara" in page.locator("#leaderboard").inner_text()
    page.screenshot(path=artifacts() / "platform-instructor.png", full_page=True)
    page.context.close()
