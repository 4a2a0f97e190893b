"""Homework through the test client: an instructor opens week 1 for a cohort, students answer (parsed by kind,
with the checker's hints), re-submit, the deadline closes it, scoring compares with the right answers, and the
students then see their answers, the right ones and the statistics.

The right answers come from a stand-in for the course data (``WEEK_1``); that the course's own homework code
computes them is tested with the stack in tests/course."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from platform_support import instructor, platform_app, post_form, student

from registration.homework import five_numbers, parse_answer, parse_submission

WEEK_1 = {"q1": 12345, "q2": date(2021, 1, 15), "q3": "JFK Airport", "q4": 987, "q5": 4321.123456}
RIGHT = {"q1": "12,345", "q2": "2021-01-15", "q3": " jfk airport ", "q4": "987", "q5": "4321.12"}


def answers_of_week(week: int) -> dict:
    assert week == 1
    return WEEK_1


def open_week_1(app, cohort="2026", hours=1.0) -> int:
    boss = instructor(app)
    deadline = (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")
    response = post_form(boss, "/instructor/homework", page="/instructor/homework", cohort=cohort, week="1",
                         deadline=deadline)
    assert response.status_code == 303, response.text
    return app.state.store.homework.find(cohort, 1).id


def close(app, homework_id: int) -> None:
    boss = instructor(app)
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    assert post_form(boss, f"/instructor/homework/{homework_id}/deadline", page="/instructor/homework",
                     deadline=past).status_code == 303


@pytest.mark.parametrize(("kind", "text", "value", "hint"), [
    ("int", "1,234", 1234, None), ("int", "12.5", None, "whole number"), ("float", "3.5", 3.5, None),
    ("float", "nan", None, "a number"), ("date", "2021-01-15", "2021-01-15", None),
    ("date", "15/01/2021", None, "YYYY-MM-DD"), ("date", "2021-02-30", None, "YYYY-MM-DD"),
    ("text", "  Astoria ", "Astoria", None), ("int", "", None, None)])
def test_answers_are_parsed_by_kind_with_the_checkers_hints(kind, text, value, hint):
    got, message = parse_answer(kind, text)
    assert got == value and (message is None if hint is None else hint in message)


def test_links_time_and_comments_are_checked():
    questions = [("q1", "int")]
    ok, errors = parse_submission(questions, {"q1": "3"}, "https://a.example/1\n\nhttps://a.example/1", "2.5", "hm")
    assert errors == {} and ok.links == ["https://a.example/1"] and ok.time_spent == 2.5 and ok.answers == {"q1": 3}
    _, errors = parse_submission(questions, {"q1": "x"}, "javascript:alert(1)", "-1", "")
    assert set(errors) == {"q1", "links", "time_spent"}
    assert five_numbers([1, 2, 3, 4, 5]) == {"min": 1, "q1": 2, "median": 3, "q3": 4, "max": 5, "count": 5}


def test_a_week_is_answered_resubmitted_closed_scored_and_explained(tmp_path):
    app = platform_app(tmp_path, expected_answers=answers_of_week)
    homework_id = open_week_1(app)
    ada, bob = student(app, "Ada", "ada@example.com"), student(app, "Bob", "bob@example.com")
    other = student(app, "Cy", "cy@example.com", cohort="2027")
    assert other.client.get(f"/homework/{homework_id}").status_code == 404  # another cohort's homework

    page = ada.client.get(f"/homework/{homework_id}")
    assert 'id="state">open<' in page.text and "write dates as YYYY-MM-DD" in page.text
    wrong_format = post_form(ada.client, f"/homework/{homework_id}", page=f"/homework/{homework_id}",
                             **{**RIGHT, "q2": "15.01.2021"})
    assert wrong_format.status_code == 400 and "write dates as YYYY-MM-DD" in wrong_format.text
    assert app.state.store.homework.submission(homework_id, 1) is None  # nothing stored from a wrong form
    first = post_form(ada.client, f"/homework/{homework_id}", page=f"/homework/{homework_id}",
                      **{**RIGHT, "q5": "1"}, time_spent="2")
    assert first.headers["location"] == f"/homework/{homework_id}?saved=1"
    assert 'id="saved"' in ada.client.get(first.headers["location"]).text
    again = post_form(ada.client, f"/homework/{homework_id}", page=f"/homework/{homework_id}", **RIGHT,
                      links="\n".join(f"https://blog.example/{i}" for i in range(9)), time_spent="3")
    assert again.status_code == 303
    post_form(bob.client, f"/homework/{homework_id}", page=f"/homework/{homework_id}", q1="12345", q2="2021-01-16",
              time_spent="5")
    own = app.state.store.homework.submission(homework_id, 1)
    assert own.answers["q5"] == 4321.12 and own.time_spent == 3  # the second submission replaced the first
    assert "JFK Airport" not in ada.client.get(f"/homework/{homework_id}").text  # no right answers before scoring

    boss = instructor(app)
    early = post_form(boss, f"/instructor/homework/{homework_id}/score", page="/instructor/homework")
    assert early.status_code == 409  # not before the deadline
    close(app, homework_id)
    late = post_form(ada.client, f"/homework/{homework_id}", **RIGHT)
    assert late.status_code == 409 and app.state.store.homework.submission(homework_id, 1).time_spent == 3
    closed = ada.client.get(f"/homework/{homework_id}")
    assert 'id="state">closed<' in closed.text and "JFK Airport" not in closed.text

    scored = post_form(boss, f"/instructor/homework/{homework_id}/score", page="/instructor/homework")
    assert scored.status_code == 200 and "2 submissions scored" in scored.text
    page = ada.client.get(f"/homework/{homework_id}")
    assert 'id="score">12<' in page.text  # 5 right + 7 links (9 given, capped)
    assert "JFK Airport" in page.text and "2021-01-15" in page.text and "<svg" in page.text
    assert app.state.store.homework.submission(homework_id, 2).score == 1  # Bob: q1 only
    assert app.state.store.homework.statistics(homework_id) == {
        "submissions": 2, "score": {"min": 1, "q1": 3.75, "median": 6.5, "q3": 9.25, "max": 12, "count": 2},
        "time_spent": {"min": 3.0, "q1": 3.5, "median": 4.0, "q3": 4.5, "max": 5.0, "count": 2}}

    export = boss.get(f"/instructor/homework/{homework_id}/export.csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["email"], r["score"]) for r in rows] == [("ada@example.com", "12"), ("bob@example.com", "1")]
    app.state.store.close()


def test_the_instructor_cannot_open_a_week_twice_or_one_without_homework(tmp_path):
    app = platform_app(tmp_path, expected_answers=answers_of_week)
    open_week_1(app)
    boss = instructor(app)
    deadline = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    twice = post_form(boss, "/instructor/homework", page="/instructor/homework", cohort="2026", week="1",
                      deadline=deadline)
    assert twice.status_code == 409
    none = post_form(boss, "/instructor/homework", page="/instructor/homework", cohort="2026", week="99",
                     deadline=deadline)
    assert none.status_code == 400 and "has no homework" in none.text
    assert len(app.state.store.homework.of_cohort()) == 1
    app.state.store.close()


def test_scoring_says_when_the_right_answers_cannot_be_computed(tmp_path):
    from zoomcamp.homework import NotLoaded

    def not_loaded(week):
        raise NotLoaded("the tables yellow_taxi_trips and zones are not loaded: run week 1's notebook 02")

    app = platform_app(tmp_path, expected_answers=not_loaded)
    homework_id = open_week_1(app)
    close(app, homework_id)
    answer = post_form(instructor(app), f"/instructor/homework/{homework_id}/score", page="/instructor/homework")
    assert answer.status_code == 409 and "yellow_taxi_trips" in answer.text
    assert app.state.store.homework.get(homework_id).state() == "closed"
    app.state.store.close()


def test_a_hand_in_counts_when_it_arrived_and_an_older_one_never_replaces_a_newer(tmp_path):
    from registration.homework import Closed

    app = platform_app(tmp_path, expected_answers=answers_of_week)
    homework_id = open_week_1(app)
    student(app, "Ada", "ada@example.com")
    homework = app.state.store.homework
    deadline = datetime.now(UTC) - timedelta(seconds=5)  # it passed while the server was busy
    homework.set_deadline(homework_id, deadline)
    questions = homework.get(homework_id).questions
    newer, older = (parse_submission(questions, {"q1": str(n)})[0] for n in (2, 1))
    # Arrived a second before the deadline, written now: taken, with the time it arrived.
    assert homework.submit(homework_id, 1, newer, at=deadline - timedelta(seconds=1)) == deadline - timedelta(
        seconds=1)
    # One that arrived earlier still but was written after it: accepted, but the newer answers stand.
    homework.submit(homework_id, 1, older, at=deadline - timedelta(seconds=2))
    assert homework.submission(homework_id, 1).answers == {"q1": 2}
    with pytest.raises(Closed):  # arrived at the deadline: late
        homework.submit(homework_id, 1, older, at=deadline)
    assert homework.submission(homework_id, 1).answers == {"q1": 2}
    app.state.store.close()


@pytest.mark.stack
def test_the_right_answers_come_from_the_course_data_by_default(tmp_path):
    """No stand-in: the app scores with zoomcamp.homework on the week's loaded data, as a cohort's platform does."""
    from zoomcamp import datasets, ingest

    ingest.to_postgres(datasets.trip_file("yellow", "2021-01"), "yellow_taxi_trips", progress=False)
    ingest.to_postgres(datasets.zones_file(), "zones", progress=False)
    trips = datasets.read_csv(datasets.trip_file("yellow", "2021-01"))
    on_jan_15 = int((trips["tpep_pickup_datetime"].dt.date == date(2021, 1, 15)).sum())  # q1, computed here
    no_passengers = int((trips["passenger_count"] == 0).sum())  # q4

    app = platform_app(tmp_path)  # the default expected answers
    homework_id = open_week_1(app)
    ada, bob = student(app, "Ada", "ada@example.com"), student(app, "Bob", "bob@example.com")
    for who, q1 in ((ada, on_jan_15), (bob, on_jan_15 + 1)):
        saved = post_form(who.client, f"/homework/{homework_id}", page=f"/homework/{homework_id}",
                          q1=str(q1), q4=str(no_passengers))
        assert saved.status_code == 303, saved.text
    close(app, homework_id)
    scored = post_form(instructor(app), f"/instructor/homework/{homework_id}/score", page="/instructor/homework")
    assert scored.status_code == 200, scored.text
    assert app.state.store.homework.submission(homework_id, 1).score == 2  # q1 and q4 right, the rest unanswered
    assert app.state.store.homework.submission(homework_id, 2).score == 1  # q4 only
    assert f"<td>{on_jan_15}</td>" in ada.client.get(f"/homework/{homework_id}").text  # shown once scored
    app.state.store.close()
