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
