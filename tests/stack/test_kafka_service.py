"""The stack's Apache Kafka service on its own: two starts at once start one cluster, and a cluster's files and
ports are its own (the session's broker is untouched)."""

from __future__ import annotations

import threading

import pytest

from zoomcamp import stack
from zoomcamp.stack.kafka import HOST, Kafka, answers

pytestmark = pytest.mark.stack  # starts, or needs, the local services


def test_two_starts_at_once_start_one_broker_and_a_clean_stop_leaves_nothing_running(settings, scratch_home):
    scratch = settings.replace(home=scratch_home)
    results, errors = [], []

    def start():
        try:
            results.append(Kafka(scratch).start())
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(r.running for r in results)
    assert sorted("already running" in r.message for r in results) == [False, True]
    (broker,) = Kafka(scratch).status().details["brokers"]
    assert broker["running"] and answers(HOST, broker["port"])
    assert broker["port"] != stack.get("kafka").status().details["port"]  # the session's broker keeps its own
    stopped = Kafka(scratch).stop()
    assert not stopped.running and not answers(HOST, broker["port"])
    assert stack.get("kafka").status().running


def test_the_brokers_map_the_class_data_archive_make_setup_made(settings):
    """Made once by make setup (a second call makes nothing); the session's broker started with it and mapped it (a
    JVM that cannot use an archive runs without mapping it)."""
    from zoomcamp import jvm
    from zoomcamp.stack.kafka import CDS_ARCHIVE, make_cds_archive

    assert make_cds_archive(settings) is False
    archive = jvm.archive_path(CDS_ARCHIVE, jvm.classpath("kafka", settings), settings)
    pid = stack.get("kafka").status().details["brokers"][0]["pid"]
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f"-XX:SharedArchiveFile={archive}" in f.read().decode().split("\0")
    with open(f"/proc/{pid}/maps") as f:
        assert str(archive) in f.read()
