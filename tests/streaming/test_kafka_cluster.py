"""Week 6 on a real 3-broker Kafka cluster (KRaft, RF 3, min.insync.replicas=2), next to the session's broker:
the course's sink loses nothing acknowledged through a broker SIGKILLed mid-sink, the CLI lists every broker; and
bad input (a busy port, no or an old Java, a damaged jar cache, a refused topic name) is one
clear line with nothing left half-started.

One cluster (``streaming.cluster.LabCluster`` in ``<test home>/labs/tests``) is shared by this module's tests. A
broker SIGKILLed mid-production (every acknowledged send stored exactly once, the leaders moved, the cluster seen
by a describe) is week_6_streaming/01_kafka_basics.ipynb's replication section."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zoomcamp import db, jvm, streaming
from zoomcamp.stack import StackError
from zoomcamp.stack.kafka import Kafka
from zoomcamp.streaming.cluster import LabCluster

pytestmark = pytest.mark.stack  # starts, or needs, the local services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab(settings):
    cluster = LabCluster(settings, name="tests")
    shutil.rmtree(cluster.settings.home, ignore_errors=True)  # a cluster left by an interrupted run
    started = time.monotonic()
    cluster.start()
    print(f"3-broker cluster started in {time.monotonic() - started:.1f} s")
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.settings.home, ignore_errors=True)


@pytest.fixture(scope="module")
def rides():
    return streaming.load_rides("2021-01")


def _whole_again(lab: LabCluster, topic: str, killed: int) -> None:
    """Restart the killed broker and wait for every replica to be in sync (the next test gets the whole cluster)."""
    lab.restart(killed)
    lab.wait_in_sync(topic, timeout=90)


def test_the_postgres_sink_counts_every_ride_once_through_a_killed_broker(lab, settings, rides):
    topic, group = "cluster-sink", "cluster-sink"
    table = dataclasses.replace(streaming.ZONE_HOURS, name="cluster_rides_per_zone_hour")
    sent = rides.head(3000)
    clients = lab.client_settings(settings)  # the session's PostgreSQL, the lab's brokers
    streaming.recreate_topic(topic, partitions=3, replication_factor=3, settings=clients)
    streaming.reset_sink(table, group, settings=clients)
    streaming.replay(sent, topic, settings=clients)
    victim = int(lab.leaders(topic).loc[0, "leader"])

    def kill_after_three_batches(result):
        if result.batches == 3:
            lab.kill(victim)

    result = streaming.sink_to_postgres(topic, table, streaming.zone_hour_rows, group=group, batch_size=100,
                                        idle_seconds=60, on_batch=kill_after_three_batches, settings=clients)
    assert not lab.kafka.status().details["brokers"][victim - 1]["running"] and result.batches > 3
    counted = db.query(f"SELECT zone, hour, rides FROM {table.name}", settings=settings)
    expected = (sent.assign(hour=sent["tpep_pickup_datetime"].dt.floor("h"))
                .groupby(["PULocationID", "hour"]).size().rename("expected").reset_index())
    both = counted.merge(expected, left_on=["zone", "hour"], right_on=["PULocationID", "hour"], how="outer")
    assert both["rides"].notna().all() and both["expected"].notna().all()
    assert (both["rides"] == both["expected"]).all() and int(counted["rides"].sum()) == len(sent)
    db.execute(f"DROP TABLE {table.name}", settings=settings)
    _whole_again(lab, topic, victim)


def _cli(lab: LabCluster, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZOOMCAMP_HOME": str(lab.settings.home), "ZOOMCAMP_KAFKA_BROKERS": "3",
           "ZOOMCAMP_JVM_DIR": str(lab.settings.jvm_path)}
    return subprocess.run([str(Path(sys.executable).parent / "zoomcamp"), *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_the_cli_lists_every_broker_and_exports_all_three(lab):
    done = _cli(lab, "stack", "status", "--json")
    assert done.returncode == 0, done.stderr
    kafka = json.loads(done.stdout)["kafka"]
    listed = {b["node_id"]: b for b in kafka["brokers"]}
    expected = lab.brokers()
    assert sorted(listed) == [1, 2, 3] and kafka["running"]
    for node_id, b in listed.items():
        assert b["running"] and b["pid"] == expected.loc[node_id, "pid"] and b["port"] == expected.loc[node_id, "port"]
        assert Path(f"/proc/{b['pid']}/cmdline").read_text().find(f"broker-{node_id}") >= 0
    done = _cli(lab, "stack", "env")
    assert done.returncode == 0, done.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines())
    servers = exports["KAFKA_BOOTSTRAP_SERVERS"].split(",")
    assert sorted(servers) == sorted(f"127.0.0.1:{b['port']}" for b in listed.values())


# --- bad input: one clear line, nothing left half-started ----------------------------------------------------------

def _nothing_started(home: Path) -> None:
    assert not list((home / "stack").glob("kafka/broker-*/server.log"))
    marker = str(home / "stack" / "kafka")
    for proc in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert marker not in proc.read_text(), f"a broker of {home} is running"
        except OSError:
            pass


def test_a_configured_port_in_use_is_one_line_for_a_cluster_too(settings, scratch_home):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StackError, match=f"^kafka: port {port} is in use by another program") as error:
            Kafka(settings.replace(home=scratch_home, kafka_brokers=3, kafka_port=port)).start()
    assert "\n" not in str(error.value)
    _nothing_started(scratch_home)


@pytest.mark.parametrize("java", ["missing", "1.8.0"])
def test_no_java_or_an_old_one_is_one_line(settings, scratch_home, tmp_path, monkeypatch, java):
    bin_dir = tmp_path / "jdk" / "bin"
    bin_dir.mkdir(parents=True)
    if java != "missing":  # a fake java that says what Java 8 says (on stderr, as java does)
        (bin_dir / "java").write_text(f'#!/bin/sh\necho \'openjdk version "{java}_292"\' >&2\n')
        (bin_dir / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no other java to fall back on
    expected = "Java is not installed" if java == "missing" else "is Java 8: the course needs Java 17 or newer"
    with pytest.raises(jvm.JvmError, match=expected) as error:
        Kafka(settings.replace(home=scratch_home, kafka_brokers=3)).start()
    assert "\n" not in str(error.value)
    _nothing_started(scratch_home)


def test_a_damaged_jar_cache_is_one_line_saying_run_make_setup(settings, scratch_home, tmp_path):
    copy = tmp_path / "jvm"
    shutil.copytree(settings.jvm_path / "lib" / "kafka", copy / "lib" / "kafka")  # a copy: the real one stays whole
    jar = sorted((copy / "lib" / "kafka").glob("kafka_*.jar"))[0]
    with open(jar, "r+b") as f:
        f.truncate(jar.stat().st_size // 2)  # as an interrupted download leaves it
    with pytest.raises(jvm.JvmError, match=f"kafka/{jar.name} differs from jvm.lock.*run `make setup`") as error:
        Kafka(settings.replace(home=scratch_home, kafka_brokers=3, jvm_dir=copy)).start()
    assert "\n" not in str(error.value)
    _nothing_started(scratch_home)


@pytest.mark.parametrize("name, reason", [("bad topic!", "characters other than ASCII alphanumerics"),
                                          ("x" * 250, "longer than the max allowed length 249")])
def test_a_topic_name_kafka_refuses_is_one_line(name, reason):
    with pytest.raises(streaming.TopicError, match=f"Kafka refused to create topic .*{reason}") as error:
        streaming.ensure_topic(name)
    assert "\n" not in str(error.value) and "CreateTopicsRequest" not in str(error.value)
    with pytest.raises(streaming.TopicError, match="Kafka refused"):
        streaming.recreate_topic(name)  # not retried for 30 s: it will never be accepted
    assert name not in streaming.topics()
