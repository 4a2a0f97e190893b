"""End to end in a real browser: Debian's headless Chromium, driven by Playwright, with JavaScript switched
off (the app must not need it). Fill in the form, see the confirmation, find the row on the instructor page.
Screenshots go to .zoomcamp-test/artifacts/."""

from __future__ import annotations

import pytest
from registration_support import PASSWORD, ThreadedServer, artifacts, count_rows, password_hash

from registration.app import create_app
from registration.config import Config

pytestmark = pytest.mark.stack  # starts, or needs, the local services


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app with the production rate limit on, served over TCP (in a thread: `zoomcamp registration serve` itself
    starts in test_registration_server.py). One for both tests: the JavaScript one registers nobody."""
    folder = tmp_path_factory.mktemp("registration-browser")
    config = Config.from_settings(database_url=f"sqlite:///{folder / 'registration.db'}", folder=folder,
                                  password_hash=password_hash(), rate_limit=10)  # as the command builds it
    with ThreadedServer(create_app(config)) as running:
        running.database_url = config.database_url
        yield running


def test_register_and_find_the_row_in_a_browser_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/")
    assert page.title().startswith("Register")

    # Leave a field out first: the browser's own check stops the submission...
    page.get_by_label("Name", exact=True).fill("Katherine <b>Johnson</b>")
    page.get_by_label("Email", exact=True).fill("  Katherine.Johnson@Example.com ")
    page.get_by_role("button", name="Register").click()
    assert page.url == server.url + "/" and count_rows(server.database_url) == 0
    # ...then everything, as a person would: by the labels.
    page.get_by_label("Country", exact=True).select_option(label="United States")
    page.get_by_label("Time zone", exact=True).select_option("America/New_York")
    page.get_by_label("Advanced: I work with data pipelines every day").check()
    page.get_by_label("Role", exact=True).select_option(label="Data scientist")
    page.get_by_label("Amazon Web Services (AWS)").check()
    page.get_by_label("How did you hear about the course?").select_option(label="YouTube")
    page.get_by_label("Cohort", exact=True).select_option("2026")
    page.get_by_label("I agree").check()
    page.screenshot(path=artifacts() / "registration-form.png", full_page=True)
    page.get_by_role("button", name="Register").click()

    page.get_by_role("heading", name="You are registered").wait_for()
    reference = page.locator("#reference").inner_text()
    assert reference.startswith("ZC-") and len(reference) == 13
    assert "Katherine <b>Johnson</b>" in page.locator("main").inner_text()  # shown as text, not bold
    assert page.locator("main b").count() == 0
    page.screenshot(path=artifacts() / "registration-confirmation.png", full_page=True)

    # The instructor logs in and finds the row.
    page.goto(server.url + "/instructor")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Registrations").wait_for()
    row = page.locator("tbody tr", has_text=reference)
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[2:10] == ["Katherine <b>Johnson</b>", "Katherine.Johnson@Example.com", "United States",
                          "America/New_York", "Advanced", "Data scientist", "AWS", "YouTube"]
    assert page.locator("svg[role=img]").count() == 2
    page.screenshot(path=artifacts() / "registration-instructor.png", full_page=True)
    context.close()
    assert count_rows(server.database_url) == 1
    for name in ("form", "confirmation", "instructor"):
        assert (artifacts() / f"registration-{name}.png").stat().st_size > 10_000


def test_with_javascript_the_time_zones_are_the_chosen_countrys(browser, server):
    """form.js, allowed by the Content-Security-Policy (a blocked script would leave the whole list)."""
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(server.url + "/")
    zone = page.get_by_label("Time zone", exact=True)
    everything = zone.locator("option").count()
    page.get_by_label("Country", exact=True).select_option(label="Germany")
    assert zone.locator("option").all_inner_texts() == ["Choose your time zone", "UTC", "Europe/Berlin",
                                                        "Europe/Busingen"]
    page.get_by_label("Country", exact=True).select_option(label="Iceland")  # one zone: chosen for you
    assert zone.input_value() == "Atlantic/Reykjavik"
    page.get_by_label("Country", exact=True).select_option("")  # no country: the whole list again
    assert zone.locator("option").count() == everything > 300
    assert not [e for e in errors if "Content Security Policy" in e]  # (the browser's own /favicon.ico is a 404)
    context.close()
