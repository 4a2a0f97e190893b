"""Week 6's Flink job (week_6_streaming/flink/zone_windows.py) on the test stack's Kafka and PostgreSQL, run in
Flink's own environment (.venv-flink): its table against pandas, a re-run, dead letters, and the one-line errors."""

from __future__ import annotations

import pandas as pd
import pytest

from zoomcamp import db, streaming
from zoomcamp.streaming import flink

BAD = [b"not json", b'{"PULocationID": "x", "total_amount": 1}',
       b'{"PULocationID": 5, "tpep_pickup_datetime": "never", "total_amount": 3}']


@pytest.fixture(scope="module")
def rides():
    return streaming.load_rides("2021-01").head(2_000)


@pytest.fixture(scope="module")
def topic(rides):
    streaming.recreate_topic("flink-rides", partitions=3)
    streaming.recreate_topic("flink-rides-dlt", partitions=1)
    streaming.replay(rides, "flink-rides")
    prod = streaming.producer()
    for body in BAD:
        prod.send("flink-rides", body)
    prod.flush()
    prod.close()
    db.execute("DROP TABLE IF EXISTS flink_zone_windows")
    return "flink-rides"


def test_job_table_equals_pandas_and_a_rerun_changes_nothing(rides, topic):
    expected = flink.expected_windows(rides, 15)
    run = flink.run_job(topic, "flink_zone_windows", window_minutes=15, bounded=True)
    assert run.value("rows") == str(len(expected))
    pd.testing.assert_frame_equal(flink.table_windows("flink_zone_windows"), expected)
    assert int(expected["rides"].sum()) == len(rides)

    letters = {letter["body"]: letter["error"] for letter in streaming.read_topic("flink-rides-dlt")["value"]}
    assert letters == {  # unkeyed, so spread over the partitions: compared as a mapping
        BAD[0].decode(): "not a JSON object", BAD[1].decode(): "PULocationID: missing or not an integer",
        BAD[2].decode(): "tpep_pickup_datetime: missing or not an ISO timestamp"}

    again = flink.run_job(topic, "flink_zone_windows", window_minutes=15, bounded=True)  # upserts: same rows
    assert again.value("rows") == str(len(expected))
    pd.testing.assert_frame_equal(flink.table_windows("flink_zone_windows"), expected)


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
