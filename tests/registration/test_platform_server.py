"""The platform as a real server process (one per database, shared with test_registration_server.py:
``registration_server`` in tests/conftest.py): 500 students handing in homework in the last moments before a
deadline (the load script's --homework run: nothing lost, nothing taken after the deadline), and
`zoomcamp homework submit N` against it. On SQLite and on the session's PostgreSQL."""

from __future__ import annotations

import pytest
from in_process import zoomcamp
from registration_support import artifacts

from registration import load_test
from registration.store import Store

pytestmark = pytest.mark.stack  # a real server, like test_registration_server.py: in full runs, not the fast loop

STUDENTS, WINDOW = 500, 3.0  # "the last minute", squeezed into 3 s: a burst, and a test of a few seconds


@pytest.fixture(scope="session", autouse=True)  # once: the shared servers interleave the two files
def fresh_figures():
    """The figures of this run only, in .zoomcamp-test/artifacts/platform-load.txt."""
    (artifacts() / "platform-load.txt").unlink(missing_ok=True)


@pytest.fixture
def server(registration_server):
    return registration_server


def test_500_students_at_the_deadline_nothing_lost_nothing_late(server):
    result = load_test.homework_run(server.url, server.database_url, STUDENTS, WINDOW)
    assert result.errors == [], result.errors[:5]
    assert result.accepted + result.refused_late == STUDENTS
    assert result.stored == result.accepted and result.stored_after_deadline == 0
    assert result.sent_after_deadline > 0 and result.refused_late >= result.sent_after_deadline  # late ones tried
    # (A refused one must have reached the server at or after the deadline: an error above otherwise.)
    with open(artifacts() / "platform-load.txt", "a") as f:
        f.write(f"{server.backend} {STUDENTS} students, {WINDOW} s window: {result.summary()}\n")


def test_homework_submit_hands_answers_yaml_in(server, tmp_path):
    from datetime import UTC, datetime, timedelta

    cohort, [(student_id, token)] = load_test.seed_students(server.database_url, 1, "cli")
    store = Store(server.database_url)
    homework_id = store.homework.open(cohort, 1, datetime.now(UTC) + timedelta(hours=1))
    answers = tmp_path / "answers.yaml"
    answers.write_text("q1: 12345\nq2: 2021-01-15\nq3: JFK Airport\nq5: 4321.12\n")
    env = {"ZOOMCAMP_PLATFORM_URL": server.url, "ZOOMCAMP_PLATFORM_TOKEN": token}
    sent = zoomcamp("homework", "submit", "1", "--answers", str(answers), "--time-spent", "2.5",
                    "--link", "https://blog.example/week1", **env)
    assert sent.returncode == 0, sent.stderr
    assert "4 answers handed in" in sent.stdout
    stored = store.homework.submission(homework_id, student_id)
    assert stored.answers == {"q1": 12345, "q2": "2021-01-15", "q3": "JFK Airport", "q5": 4321.12}
    assert stored.time_spent == 2.5 and stored.links == ["https://blog.example/week1"]

    answers.write_text("q2: 15/01/2021\n")
    wrong = zoomcamp("homework", "submit", "1", "--answers", str(answers), **env)
    assert wrong.returncode == 2 and "q2: write dates as YYYY-MM-DD" in wrong.stderr
    refused = zoomcamp("homework", "submit", "1", "--answers", str(answers), **{**env, "ZOOMCAMP_PLATFORM_TOKEN":
                                                                                 "zc_revoked"})
    assert refused.returncode == 2 and "refused the token" in refused.stderr
    store.homework.set_deadline(homework_id, datetime.now(UTC) - timedelta(seconds=1))
    answers.write_text("q1: 1\n")
    late = zoomcamp("homework", "submit", "1", "--answers", str(answers), **env)
    assert late.returncode == 2 and "deadline" in late.stderr
    assert store.homework.submission(homework_id, student_id).answers["q1"] == 12345
    store.close()
