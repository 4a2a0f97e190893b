"""Week 6's Flink job (week_6_streaming/flink/zone_windows.py) on the test stack's Kafka and PostgreSQL, run in
Flink's own environment (.venv-flink): a TaskManager killed mid-job, and the one-line errors. Its table against
pandas, every kind of malformed message as a dead letter and a re-run's upserts are asserted by notebook
week_6_streaming/11_flink_upsert_sink.ipynb (one run of the job there instead of one more here)."""

from __future__ import annotations

import pandas as pd
import pytest

from zoomcamp import db, streaming
from zoomcamp.streaming import flink

pytestmark = pytest.mark.stack  # every test runs the job (or its checks) against the stack's Kafka and PostgreSQL

@pytest.fixture(scope="module")
def rides():
    return streaming.load_rides("2021-01").head(2_000)


@pytest.fixture(scope="module")
def topic():
    """A topic that exists: the errors below come after the job's check that it does (before any JVM starts)."""
    streaming.recreate_topic("flink-rides", partitions=1)
    return "flink-rides"


def test_a_missing_topic_is_one_line():
    with pytest.raises(flink.FlinkError, match=r"^zone_windows: topic 'no-such-rides' does not exist$"):
        flink.run_job("no-such-rides", "flink_nothing", bounded=True, timeout=120)


def test_missing_jars_say_run_make_setup(monkeypatch, tmp_path, topic):
    monkeypatch.setenv("ZOOMCAMP_JVM_DIR", str(tmp_path))
    not_set_up = r"^zone_windows: the course.s JVM artifacts are not set up \(flink/.*: run `make setup`$"
    with pytest.raises(flink.FlinkError, match=not_set_up):
        flink.run_job(topic, "flink_nothing", bounded=True, timeout=120)


def test_postgres_down_is_one_line(monkeypatch, tmp_path, topic):
    # A home without a running PostgreSQL, on the same Kafka.
    monkeypatch.setenv("ZOOMCAMP_KAFKA_BOOTSTRAP", streaming.bootstrap_servers())
    monkeypatch.setenv("ZOOMCAMP_HOME", str(tmp_path))
    with pytest.raises(flink.FlinkError, match=r"^zone_windows: PostgreSQL is not running .*zoomcamp stack up"):
        flink.run_job(topic, "flink_nothing", bounded=True, timeout=120)


def test_bad_arguments_are_refused():
    with pytest.raises(flink.FlinkError, match="--window-minutes must be 1 or more"):
        flink.run_job("flink-rides", "flink_nothing", window_minutes=0)


@pytest.fixture(scope="module")
def cluster():
    from zoomcamp import stack

    service = stack.get("flink")
    service.start()
    yield service
    service.stop()


def test_the_cluster_shows_in_stack_status(cluster):
    from zoomcamp import stack

    (status,) = stack.status(["flink"])
    assert status.running and status.details["taskmanagers"] == 1 and status.details["slots"] == 2
    assert status.details["url"] == f"http://127.0.0.1:{status.details['port']}"
    assert "flink" not in stack.DEFAULT_SERVICES  # on demand: a plain `stack up` leaves it off


def test_a_taskmanager_killed_mid_job_restarts_from_a_checkpoint_and_counts_every_ride_once(cluster, rides):
    """A live (unbounded) job on the cluster: half the rides, a checkpoint, the TaskManager killed, the other half
    produced while it is down, a TaskManager back; rides stamped 2030 on every partition then move the watermark
    past every real window, and the table equals pandas' count."""
    streaming.recreate_topic("flink-live", partitions=3)
    db.execute("DROP TABLE IF EXISTS flink_live_windows")
    half = len(rides) // 2
    streaming.replay(rides.iloc[:half], "flink-live")
    run = flink.run_job("flink-live", "flink_live_windows", window_minutes=15, bounded=False,
                        jobmanager=flink.jobmanager(), detach=True, extra=["--checkpoint-seconds", "1"])
    job = run.value("job")
    try:
        flink.wait_until(lambda: flink.checkpoints(job).get("completed", 0) >= 2 and
                         db.query("SELECT count(*) AS n FROM flink_live_windows")["n"].iloc[0] > 0,
                         180, "a checkpoint after the first windows")
        cluster.kill_taskmanager()
        streaming.replay(rides.iloc[half:], "flink-live")
        cluster.start()  # a new TaskManager; the JobManager restarts the job on it from the last checkpoint
        flink.wait_until(lambda: flink.job_state(job) == "RUNNING" and flink.checkpoints(job)["restored"],
                         180, "the job's restart from a checkpoint")
        prod = streaming.producer()
        future = rides.iloc[:1].assign(tpep_pickup_datetime=pd.Timestamp("2030-01-01"))
        for partition in range(3):
            prod.send("flink-live", streaming.ride_messages(future)[0][1], partition=partition)
        prod.flush()
        prod.close()
        expected = flink.expected_windows(rides, 15)
        flink.wait_until(lambda: len(flink.table_windows("flink_live_windows")) >= len(expected), 180,
                         "every window in the table")
        restored = flink.checkpoints(job)["restored"]
    finally:
        flink.cancel_job(job)
    assert restored["id"] >= 1
    pd.testing.assert_frame_equal(flink.table_windows("flink_live_windows"), expected)
