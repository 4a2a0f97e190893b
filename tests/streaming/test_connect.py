"""Kafka Connect (week 6, notebook 07): the worker as an on-demand service, one-line errors for bad connectors, and
the reliability claim (a worker killed mid-stream loses and duplicates nothing), checked against independent counts."""

from __future__ import annotations

import json
import threading
import time

import pytest
from typer.testing import CliRunner

from zoomcamp import db, stack, streaming
from zoomcamp.cli import app
from zoomcamp.stack.connect import PLUGINS
from zoomcamp.streaming import connect

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def worker():
    started = time.monotonic()
    status = stack.up(["connect"])[0]
    print(f"connect worker up in {time.monotonic() - started:.1f} s")
    return status


def test_a_plain_stack_up_leaves_the_worker_out():
    assert "connect" in stack.SERVICES and "connect" not in stack.DEFAULT_SERVICES


def test_postgres_runs_with_logical_decoding():
    assert stack.get("postgres").status().details["wal_level"] == "logical"
    assert db.query("SHOW wal_level")["wal_level"].item() == "logical"
    connect.require_logical_wal()


def test_the_worker_answers_with_both_plugins_and_shows_in_status(worker):
    assert worker.running and worker.details["url"].startswith("http://127.0.0.1:")
    assert set(PLUGINS.values()) <= set(connect.plugins())  # a real REST request
    assert stack.env()["CONNECT_URL"] == worker.details["url"]
    assert "already running" in stack.up(["connect"])[0].message
    result = CliRunner().invoke(app, ["stack", "status", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)["connect"]
    assert shown["running"] and shown["pid"] == worker.details["pid"] and shown["url"] == worker.details["url"]


def test_an_invalid_configuration_is_one_clear_line(worker):
    with pytest.raises(connect.ConnectError) as caught:
        connect.put_connector("broken-source", {"connector.class": connect.POSTGRES_SOURCE,
                                                "database.hostname": "127.0.0.1"})
    message = str(caught.value)
    assert message.startswith("connector 'broken-source': invalid configuration: ") and "\n" not in message
    assert "topic.prefix" in message
    with pytest.raises(connect.ConnectError, match="'nope': no plugin com.example.Nope on this worker") as caught:
        connect.put_connector("nope", {"connector.class": "com.example.Nope"})
    assert "\n" not in str(caught.value)
    assert "broken-source" not in connect.connectors()


def test_a_failed_task_gives_its_traces_first_line(worker):
    streaming.recreate_topic("connect-schemaless", partitions=1)
    producer = streaming.producer()
    streaming.send_all(producer, "connect-schemaless", [(b"1", b'{"no": "schema"}')])
    producer.close()
    connect.delete_connector("schemaless-sink")
    connect.put_connector("schemaless-sink", {"connector.class": connect.JDBC_SINK, "topics": "connect-schemaless",
                                              **connect.jdbc_connection(), "primary.key.mode": "none"})
    try:
        connect.wait_for(lambda: connect.connector_status("schemaless-sink")["trace"], what="the task failing")
        with pytest.raises(connect.ConnectError) as caught:
            connect.wait_running("schemaless-sink")
        message = str(caught.value)
        assert message.startswith("connector 'schemaless-sink' failed: org.apache.kafka.connect.errors.") \
            and "\n" not in message
    finally:
        connect.delete_connector("schemaless-sink")
        streaming.delete_topics(["connect-schemaless"])


def test_a_worker_killed_mid_stream_loses_and_duplicates_nothing(worker):
    rows, slot, topic = 6_000, "zoomcamp_test_cdc", "test.public.connect_src"
    for name in ("test-source", "test-sink"):
        connect.delete_connector(name)
    connect.drop_replication_slot(slot)
    db.execute("DROP TABLE IF EXISTS connect_src, connect_copy")
    db.execute("CREATE TABLE connect_src (id integer PRIMARY KEY, v integer NOT NULL)")
    streaming.recreate_topic(topic, partitions=2)
    connect.put_connector("test-source", {"connector.class": connect.POSTGRES_SOURCE,
                                          **connect.postgres_source("test", ["public.connect_src"], slot=slot),
                                          # An empty table: nothing to snapshot, so every change streams from the
                                          # slot, even after a kill before the first offset flush (with "initial",
                                          # that restart snapshots again, and a snapshot cannot show deletes).
                                          "snapshot.mode": "no_data"})
    connect.put_connector("test-sink", {
        "connector.class": connect.JDBC_SINK, "topics": topic, **connect.jdbc_connection(),
        "insert.mode": "upsert", "primary.key.mode": "record_key", "delete.enabled": "true",
        "schema.evolution": "basic", "collection.name.format": "connect_copy"})
    connect.wait_running("test-source"), connect.wait_running("test-sink")

    def write():  # inserts in 30 transactions, then updates and deletes, while the worker dies and comes back
        for start in range(0, rows, 200):
            db.execute("INSERT INTO connect_src SELECT g, g FROM generate_series(:a, :b) AS g",
                       {"a": start + 1, "b": start + 200})
            time.sleep(0.05)
        db.execute("UPDATE connect_src SET v = v * 10 WHERE id % 7 = 0")
        db.execute("DELETE FROM connect_src WHERE id % 11 = 0")

    def copied() -> int:
        if db.query("SELECT to_regclass('connect_copy') IS NULL AS m")["m"].item():
            return 0
        return int(db.query("SELECT count(*) AS n FROM connect_copy")["n"].item())

    writer = threading.Thread(target=write)
    writer.start()
    try:
        connect.wait_for(lambda: copied() > 0, what="the first rows in the copy")
        stack.get("connect").kill()
        at_kill = copied()
        stack.up(["connect"])
    finally:
        writer.join()
    # What the copy must hold, computed here, not read from the pipeline.
    expected = {i: i * 10 if i % 7 == 0 else i for i in range(1, rows + 1) if i % 11 != 0}
    connect.wait_running("test-source"), connect.wait_running("test-sink")
    connect.wait_for(lambda: copied() == len(expected) and
                     db.query("SELECT sum(v) AS s FROM connect_copy")["s"].item() == sum(expected.values()),
                     timeout=120, what="the copy catching up")
    copy = db.query("SELECT id, v FROM connect_copy")
    assert 0 < at_kill < rows
    assert len(copy) == copy["id"].nunique() == len(expected)
    assert dict(zip(copy["id"], copy["v"], strict=True)) == expected
    for name in ("test-source", "test-sink"):
        assert connect.delete_connector(name)
    assert connect.drop_replication_slot(slot)
    db.execute("DROP TABLE connect_src, connect_copy")


def test_the_worker_stops_cleanly(worker):
    stopped = stack.down(["connect"])[0]
    assert not stopped.running and stopped.message == "stopped"
    assert stack.down(["connect"])[0].message == "not running"
    assert "CONNECT_URL" not in stack.env()
    with pytest.raises(stack.StackError, match="zoomcamp stack up connect"):
        connect.connectors()
