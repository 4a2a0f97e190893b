"""Week 6: the stack's Kafka broker (one, KRaft), the streaming library, and the reliability promises:
a consumer killed mid-stream and restarted leaves every message in PostgreSQL exactly once, a broker restart
during production loses nothing, malformed messages go to a dead-letter topic while the consumer goes on."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import fastavro
import pandas as pd
import pytest
import yaml
from kafka.admin import NewTopic
from kafka.errors import InvalidReplicationFactorError

from zoomcamp import datasets, db, stack, streaming
from zoomcamp.settings import SettingsError, get_settings, load_settings
from zoomcamp.stack import StackError
from zoomcamp.stack.kafka import Kafka, answers
from zoomcamp.streaming import avro

pytestmark = pytest.mark.stack  # starts, or needs, the local services

ROOT = Path(__file__).resolve().parents[2]
WEEK = ROOT / "week_6_streaming"


@pytest.fixture(scope="module")
def rides():
    return streaming.load_rides("2021-01")


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# --- the broker in the stack --------------------------------------------------------------------------------

def test_the_stack_runs_a_kafka_broker_and_exports_its_address():
    status = stack.get("kafka").status()
    (broker,) = status.details["brokers"]  # the session's stack: one broker (node 1)
    assert status.running and broker["pid"] and broker["running"] and broker["node_id"] == 1
    assert status.details["url"].startswith("kafka://127.0.0.1:") and broker["port"] == status.details["port"]
    servers = stack.env()["KAFKA_BOOTSTRAP_SERVERS"]
    assert servers == streaming.bootstrap_servers() == f"127.0.0.1:{status.details['port']}"
    assert answers("127.0.0.1", status.details["port"])
    assert not answers("127.0.0.1", int(stack.env()["PGPORT"]))  # an open port is not enough: it must speak Kafka


def test_one_broker_refuses_replication_factor_3_and_ensure_topic_is_idempotent():
    streaming.delete_topics(["t-shape"])
    assert streaming.ensure_topic("t-shape", partitions=3) is True
    assert streaming.ensure_topic("t-shape", partitions=3) is False  # already there: left as it is
    with pytest.raises(streaming.TopicError, match="exists with 3 partitions, not 4.*recreate_topic"):
        streaming.ensure_topic("t-shape", partitions=4)
    info = streaming.describe_topic("t-shape")
    assert [p["replicas"] for p in info["partitions"]] == [[1], [1], [1]]
    with streaming.broker.admin() as client, pytest.raises(InvalidReplicationFactorError, match="only 1 broker"):
        client.create_topics([NewTopic("t-rf3", 3, 3)])
    assert "t-rf3" not in streaming.topics()


def test_a_configured_kafka_port_in_use_is_refused(settings, scratch_home):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StackError, match=f"kafka: port {port} is in use.*ZOOMCAMP_KAFKA_PORT"):
            Kafka(settings.replace(home=scratch_home, kafka_port=port)).start()
    assert not (scratch_home / "stack" / "kafka").exists() and not (scratch_home / "stack" / "kafka.json").exists()


def test_an_external_cluster_is_used_and_never_started_or_stopped(settings, scratch_home):
    running = streaming.bootstrap_servers()
    external = settings.replace(home=scratch_home, kafka_bootstrap=running)
    service = Kafka(external)
    assert service.start().running and "external cluster" in service.start().message
    assert service.env() == {"KAFKA_BOOTSTRAP_SERVERS": running}
    assert "not stopped from here" in service.stop().message
    assert stack.get("kafka").status().running  # the session's broker is untouched
    assert not (scratch_home / "stack").exists()  # nothing was started in that home
    gone = Kafka(settings.replace(home=scratch_home, kafka_bootstrap="127.0.0.1:1"))
    assert not gone.status().running and "does not answer" in gone.status().message
    with pytest.raises(StackError, match="external cluster at 127.0.0.1:1 does not answer"):
        streaming.bootstrap_servers(gone.settings)
    with pytest.raises(StackError, match="Kafka is not running"):
        streaming.bootstrap_servers(settings.replace(home=scratch_home))
    with pytest.raises(SettingsError, match="kafka_bootstrap must be host:port"):
        load_settings({"ZOOMCAMP_KAFKA_BOOTSTRAP": "localhost"}, config=scratch_home / "none.toml")


# --- messages --------------------------------------------------------------------------------------------------

def test_ride_messages_are_keyed_json_in_pickup_order(rides):
    trips = pd.read_csv(datasets.trip_file("yellow", "2021-01"), parse_dates=["tpep_pickup_datetime"])
    january = trips[(trips["tpep_pickup_datetime"] >= "2021-01-01") & (trips["tpep_pickup_datetime"] < "2021-02-01")]
    assert len(rides) == len(january) and rides["tpep_pickup_datetime"].is_monotonic_increasing
    messages = streaming.ride_messages(rides.head(50))
    for (key, value), (_, row) in zip(messages, rides.head(50).iterrows(), strict=True):
        parsed = streaming.parse_ride(value)
        assert key == str(row["PULocationID"]).encode() and parsed["PULocationID"] == row["PULocationID"]
        assert parsed["tpep_pickup_datetime"] == row["tpep_pickup_datetime"].to_pydatetime()
        assert parsed["total_amount"] == pytest.approx(row["total_amount"])


@pytest.mark.parametrize("value, reason", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "expected a JSON object, got list"),
    (json.dumps({"PULocationID": 1}).encode(), "missing fields: VendorID, tpep_pickup_datetime"),
    (None, "empty message"),
])
def test_bad_messages_say_what_is_wrong(value, reason):
    with pytest.raises(streaming.BadMessage, match=reason):
        streaming.parse_ride(value)


def test_wrong_types_are_named(rides):
    good = json.loads(streaming.ride_messages(rides.head(1))[0][1])
    for field, bad, reason in [("PULocationID", "132", "expected a number"), ("PULocationID", 1.5, "integer"),
                               ("tpep_pickup_datetime", "yesterday", "not a timestamp"),
                               ("total_amount", None, "null where a value is required")]:
        with pytest.raises(streaming.BadMessage, match=f"{field}: .*{reason}"):
            streaming.parse_ride(json.dumps({**good, field: bad}).encode())


# --- reliability ---------------------------------------------------------------------------------------------

def _consumer(topic: str, group: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WEEK / "consumer.py"), "--topic", topic, "--group", group,
                             "--sink", "zone-hours", *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=WEEK)


def test_a_consumer_killed_mid_stream_and_restarted_sinks_every_message_exactly_once(rides):
    topic, group = "reliability-kill", "reliability-kill"
    sent = rides.head(3000)
    streaming.recreate_topic(topic, partitions=3)
    streaming.reset_sink(streaming.ZONE_HOURS, group)
    streaming.replay(sent, topic)

    def sunk() -> int:
        try:
            return int(db.query("SELECT coalesce(sum(rides), 0) AS n FROM rides_per_zone_hour")["n"].item())
        except Exception:  # the table is created by the consumer
            return 0

    first = _consumer(topic, group, "--batch-size", "100", "--pause", "0.1")
    try:
        _wait_for(lambda: sunk() >= 500 or first.poll() is not None, 60, "the first batches")
        first.send_signal(signal.SIGKILL)  # a crash: no clean-up, no goodbye to the group
        first.wait(10)
    finally:
        first.kill()
    at_kill = sunk()
    assert 500 <= at_kill < len(sent), "the consumer must be killed mid-stream"

    second = _consumer(topic, group)
    out, _ = second.communicate(timeout=90)
    assert second.returncode == 0, out
    table = db.query("SELECT zone, hour, rides FROM rides_per_zone_hour")
    expected = (sent.assign(hour=sent["tpep_pickup_datetime"].dt.floor("h"))
                .groupby(["PULocationID", "hour"]).size().rename("expected").reset_index())
    both = table.merge(expected, left_on=["zone", "hour"], right_on=["PULocationID", "hour"], how="outer")
    assert both["rides"].notna().all() and both["expected"].notna().all()
    assert (both["rides"] == both["expected"]).all()  # no key counted twice, none missing
    assert int(table["rides"].sum()) == len(sent) == streaming.message_count(topic)
    stored = streaming.stored_offsets(group).set_index("partition")["next_offset"]
    assert stored.to_dict() == streaming.topic_offsets(topic).set_index("partition")["latest"].to_dict()
    assert f"{len(sent) - at_kill:,} messages" in out.strip().splitlines()[-1]  # the restart did only the rest


def test_a_broker_restart_during_production_loses_nothing(rides):
    topic = "reliability-restart"
    streaming.recreate_topic(topic, partitions=3)
    messages = [(str(i).encode(), value) for i, (_, value) in enumerate(streaming.ride_messages(rides.head(4000)))]
    broker = stack.get("kafka")
    port = broker.status().details["port"]

    def restart():
        time.sleep(0.5)
        assert not broker.stop().running
        time.sleep(1.0)  # the producer meets a dead broker: it retries
        assert broker.start().details["port"] == port

    restarter = threading.Thread(target=restart)
    prod = streaming.producer(linger_ms=5)
    restarter.start()
    try:
        # ~2 s of paced sending, so the restart falls in the middle
        streaming.send_all(prod, topic, messages, schedule=[i / 2000 for i in range(len(messages))])
    finally:
        restarter.join()
        prod.close()
    keys = streaming.read_topic(topic, decode=None)["key"]
    assert len(keys) == len(messages) and keys.nunique() == len(messages)  # all there, none twice


def test_malformed_messages_go_to_the_dead_letter_topic_and_the_consumer_goes_on(rides):
    topic, dlt, group = "reliability-dlt", "reliability-dlt-dead", "reliability-dlt"
    streaming.recreate_topic(topic, partitions=1)  # one partition: the bad ones sit between good ones
    streaming.recreate_topic(dlt, partitions=1)
    streaming.reset_sink(streaming.RIDES, group)
    good = streaming.ride_messages(rides.head(300))
    sample = json.loads(good[0][1])
    bad = [b"{oops", json.dumps({**sample, "PULocationID": "Midtown"}).encode(),
           json.dumps({k: v for k, v in sample.items() if k != "tpep_dropoff_datetime"}).encode(),
           json.dumps({**sample, "total_amount": 1e12}).encode()]  # parses, but too big for numeric(10, 2)
    stream = good[:100] + [(b"x", bad[0])] + good[100:200] + [(b"x", v) for v in bad[1:]] + good[200:]
    prod = streaming.producer()
    streaming.send_all(prod, topic, stream)
    prod.close()

    result = streaming.sink_to_postgres(topic, streaming.RIDES, streaming.ride_rows, group=group,
                                        dead_letter_topic=dlt, batch_size=50)
    assert (result.consumed, result.rows, result.dead_letters) == (len(stream), len(good), len(bad))
    sunk = db.query("SELECT kafka_offset FROM rides_stream ORDER BY 1")["kafka_offset"].tolist()
    bad_offsets = [100, 201, 202, 203]
    assert sunk == [o for o in range(len(stream)) if o not in bad_offsets]  # the good ones after the bad ones too
    dead = streaming.read_topic(dlt, decode=None)
    assert dead["value"].tolist() == bad and [int(h["dlt.offset"]) for h in dead["headers"]] == bad_offsets
    reasons = [h["dlt.reason"] for h in dead["headers"]]
    assert reasons[0].startswith("not valid JSON") and "PULocationID: expected a number" in reasons[1]
    assert "missing field: tpep_dropoff_datetime" in reasons[2]
    assert reasons[3].startswith("rejected by PostgreSQL: numeric field overflow")
    assert {h["dlt.topic"] for h in dead["headers"]} == {topic}

    # Without a dead-letter topic the same input stops the sink with the reason, and commits nothing bad.
    streaming.reset_sink(streaming.RIDES, group)
    with pytest.raises(streaming.BadMessage, match="not valid JSON.*offset 100.*dead_letter_topic"):
        streaming.sink_to_postgres(topic, streaming.RIDES, streaming.ride_rows, group=group, batch_size=50)
    assert db.query("SELECT count(*) AS n FROM rides_stream")["n"].item() == 100  # the batches before it


def test_a_zombie_consumer_is_fenced_off(rides):
    """After a rebalance the old owner of a partition may still finish a batch. The stored position is no longer the
    one it started from, so its batch is rolled back and it goes on from where the new owner got to."""
    for attempt in range(3):
        topic, group = "reliability-zombie", f"reliability-zombie-{attempt}"
        streaming.recreate_topic(topic, partitions=1)
        streaming.reset_sink(streaming.RIDES, group)
        streaming.replay(rides.head(1000), topic)

        def another_consumer_took_over(result, group=group):
            if result.batches == 1:  # as if another member had processed up to offset 500 meanwhile
                db.execute("UPDATE stream_offsets SET next_offset = 500 WHERE consumer_group = :g", {"g": group})

        result = streaming.sink_to_postgres(topic, streaming.RIDES, streaming.ride_rows, group=group, batch_size=100,
                                            on_batch=another_consumer_took_over)
        offsets = db.query("SELECT kafka_offset FROM rides_stream ORDER BY 1")["kafka_offset"].tolist()
        assert offsets == list(range(100)) + list(range(500, 1000))  # nothing of 100..499, whatever happened
        assert streaming.stored_offsets(group)["next_offset"].tolist() == [1000]
        # A real rebalance right after the first batch (a consumer's second join, on a busy machine) re-seeks to
        # the stored 500 before the zombie batch is written: right, but then nothing was fenced; try again.
        if result.fenced == 1:
            return
    pytest.fail(f"no batch was fenced in 3 attempts (last: {result})")


def test_a_second_sink_run_reads_nothing_twice(rides):
    topic, group = "reliability-again", "reliability-again"
    streaming.recreate_topic(topic, partitions=3)
    streaming.reset_sink(streaming.ZONE_HOURS, group)
    streaming.replay(rides.head(500), topic)
    first = streaming.sink_to_postgres(topic, streaming.ZONE_HOURS, streaming.zone_hour_rows, group=group)
    second = streaming.sink_to_postgres(topic, streaming.ZONE_HOURS, streaming.zone_hour_rows, group=group)
    assert (first.consumed, second.consumed) == (500, 0)
    streaming.replay(rides.iloc[500:700], topic)
    third = streaming.sink_to_postgres(topic, streaming.ZONE_HOURS, streaming.zone_hour_rows, group=group)
    assert third.consumed == 200
    assert db.query("SELECT sum(rides) AS n FROM rides_per_zone_hour")["n"].item() == 700
    revenue = db.query("SELECT sum(revenue) AS r FROM rides_per_zone_hour")["r"].item()
    assert float(revenue) == pytest.approx(rides.head(700)["total_amount"].sum(), abs=0.01)
    assert streaming.group_lag(group, topic)["lag"].sum() == 0


# --- Avro and the schema registry ---------------------------------------------------------------------------

def _record(fields):
    return {"type": "record", "name": "Ride", "fields": fields}


OLD = _record([{"name": "zone", "type": "int"}, {"name": "fare", "type": "float"}])
OLD_RECORD = {"zone": 7, "fare": 9.5}
CHANGES = {  # name: (new schema, a record written with it)
    "add field with default": (_record([*OLD["fields"], {"name": "tip", "type": "double", "default": 0.0}]),
                               {**OLD_RECORD, "tip": 1.0}),
    "add field without default": (_record([*OLD["fields"], {"name": "tip", "type": "double"}]),
                                  {**OLD_RECORD, "tip": 1.0}),
    "remove field": (_record(OLD["fields"][:1]), {"zone": 7}),
    "widen int to long": (_record([{"name": "zone", "type": "long"}, OLD["fields"][1]]), OLD_RECORD),
    "int to string": (_record([{"name": "zone", "type": "string"}, OLD["fields"][1]]), {**OLD_RECORD, "zone": "7"}),
    "make nullable": (_record([{"name": "zone", "type": ["null", "int"], "default": None}, OLD["fields"][1]]),
                      {**OLD_RECORD, "zone": None}),  # the branch old readers cannot take
}


def _fastavro_reads(reader, writer, record) -> bool:
    """The independent judge: does fastavro decode bytes written with ``writer`` using ``reader``?"""
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(writer), record)
    buffer.seek(0)
    try:
        fastavro.schemaless_reader(buffer, fastavro.parse_schema(writer), fastavro.parse_schema(reader))
        return True
    except Exception:
        return False


@pytest.mark.parametrize("change", CHANGES)
def test_compatibility_verdicts_match_what_avro_can_actually_read(change):
    new, new_record = CHANGES[change]
    assert (avro.read_problems(new, OLD) == []) == _fastavro_reads(new, OLD, OLD_RECORD)  # backward
    assert (avro.read_problems(OLD, new) == []) == _fastavro_reads(OLD, new, new_record)  # forward


def test_the_registry_refuses_incompatible_versions_and_frames_messages():
    registry = streaming.SchemaRegistry()  # BACKWARD
    first = registry.register("rides-value", OLD)
    assert registry.register("rides-value", json.dumps(OLD)) == first  # same schema, same id
    with pytest.raises(streaming.IncompatibleSchema, match="tip: new field without a default"):
        registry.register("rides-value", CHANGES["add field without default"][0])
    second = registry.register("rides-value", CHANGES["add field with default"][0])
    assert [v.version for v in registry.versions("rides-value")] == [1, 2] and second != first
    registry.set_compatibility("FULL", "rides-value")
    problems = registry.check("rides-value", CHANGES["remove field"][0])
    assert any(p.startswith("old consumers cannot read new data: fare") for p in problems)

    old_bytes = streaming.serializer(registry, "rides-value", OLD)({"zone": 7, "fare": 9.5})
    assert old_bytes[0] == 0 and int.from_bytes(old_bytes[1:5], "big") == first
    as_new = streaming.deserializer(registry, CHANGES["add field with default"][0])(old_bytes)
    assert as_new == {"zone": 7, "fare": 9.5, "tip": 0.0}  # the reader's default fills the gap
    with pytest.raises(avro.SchemaError, match="not a schema-registry Avro message"):
        streaming.deserializer(registry)(b'{"zone": 7}')


def test_the_wire_format_is_confluents():
    """Bytes from the course's serializer decode with confluent-kafka's own deserializer (same schema id)."""
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    registry = streaming.SchemaRegistry()
    data = streaming.serializer(registry, "rides-value", avro.RIDE_SCHEMA)
    ride = {"VendorID": 2, "tpep_pickup_datetime": pd.Timestamp("2021-01-01 00:15").to_pydatetime(),
            "tpep_dropoff_datetime": pd.Timestamp("2021-01-01 00:31").to_pydatetime(), "passenger_count": 1.0,
            "trip_distance": 2.1, "PULocationID": 132, "DOLocationID": 7, "payment_type": 1, "fare_amount": 9.5,
            "tip_amount": 1.0, "total_amount": 12.3}
    confluent = SchemaRegistryClient.new_client({"url": "mock://course"})  # its in-memory stand-in
    assert confluent.register_schema("rides-value", Schema(json.dumps(avro.RIDE_SCHEMA), "AVRO")) == 1
    decoded = AvroDeserializer(confluent)(data(ride), SerializationContext("rides", MessageField.VALUE))
    assert decoded["PULocationID"] == 132 and decoded["total_amount"] == 12.3
    assert decoded["tpep_pickup_datetime"].replace(tzinfo=None) == ride["tpep_pickup_datetime"]


# --- the compose cluster (checked as a file: no Docker engine here) ----------------------------------------------

def test_the_compose_file_is_a_three_broker_kraft_cluster_with_replication():
    compose = yaml.safe_load((WEEK / "docker-compose.yaml").read_text())
    services = compose["services"]
    brokers = {name: s for name, s in services.items() if s.get("image", "").startswith("apache/kafka:")}
    assert sorted(brokers) == ["kafka-1", "kafka-2", "kafka-3"]
    envs = {name: s["environment"] for name, s in brokers.items()}
    ids = {name: env["KAFKA_NODE_ID"] for name, env in envs.items()}
    assert sorted(ids.values()) == ["1", "2", "3"]
    voters = {name: env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for name, env in envs.items()}
    assert len(set(voters.values())) == 1  # one quorum, the same for everybody
    quorum = dict(v.split("@") for v in next(iter(voters.values())).split(","))
    assert {node: address.split(":")[0] for node, address in quorum.items()} == {i: n for n, i in ids.items()}
    host_ports = []
    for name, env in envs.items():
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}  # KRaft, no ZooKeeper
        assert not any("ZOOKEEPER" in key for key in env)
        assert len({env["CLUSTER_ID"] for env in envs.values()}) == 1
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3" and env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
        advertised = dict(item.split("://") for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
        assert advertised["INTERNAL"] == f"{name}:9092" and env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
        (mapping,) = brokers[name]["ports"]
        host, container = mapping.split(":")
        assert container == listeners["EXTERNAL"].lstrip(":")  # the published port is the external listener
        assert advertised["EXTERNAL"] == f"localhost:{host}"  # ... and clients are told to come back there
        host_ports.append(host)
        assert "CONTROLLER" not in advertised and brokers[name]["healthcheck"]["test"]
        assert any(v.endswith(":/var/lib/kafka/data") for v in brokers[name]["volumes"])
    assert len(set(host_ports)) == 3
    ui = services["kafka-ui"]
    assert ui["environment"]["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
    assert set(ui["depends_on"]) == set(brokers)
    # The settings example points the course at the same cluster.
    example = (ROOT / "zoomcamp.example.toml").read_text()
    assert f'bootstrap = "{",".join(f"localhost:{p}" for p in host_ports)}"' in example


def test_the_producer_script_replays_rides():
    streaming.delete_topics(["script-rides"])
    out = subprocess.run([sys.executable, str(WEEK / "producer.py"), "--topic", "script-rides", "--limit", "250"],
                         capture_output=True, text=True, check=True).stdout
    assert "250 messages to 'script-rides'" in out and streaming.message_count("script-rides") == 250
    assert len(streaming.describe_topic("script-rides")["partitions"]) == 3


def test_forget_group_removes_members_left_by_stopped_processes():
    from kafka import KafkaConsumer

    def member(group, instance=None):
        c = KafkaConsumer(**streaming.client_config(), group_id=group, group_instance_id=instance)
        deadline = time.monotonic() + 60
        # Join only once this consumer's metadata knows the topic: the group's assignment is computed from it, and a
        # join without it leaves the member with no partitions until a metadata refresh (minutes).
        while not c.partitions_for_topic("t-shape") and time.monotonic() < deadline:
            time.sleep(0.1)
        c.subscribe(["t-shape"])
        while not c.assignment():
            assert time.monotonic() < deadline, f"{group}: no partitions assigned within 60 s"
            c.poll(100)
        return c

    streaming.ensure_topic("t-shape", partitions=3)
    member("t-forget-static", "t-1").close()  # a static member does not leave on close: it is expected back
    stopped = member("t-forget-dynamic")  # stops polling, as a killed process would
    with streaming.broker.admin() as client:
        for group in ("t-forget-static", "t-forget-dynamic"):
            assert len(client.describe_groups([group])[group]["members"]) == 1
            streaming.forget_group(group)
            assert client.describe_groups([group])[group]["members"] == []
    successor = member("t-forget-dynamic")  # without forget_group it would wait for the stopped one forever
    assert sorted(tp.partition for tp in successor.assignment()) == [0, 1, 2]
    successor.close()
    stopped.close(autocommit=False)


def test_dez_homework_producer_runs_on_the_course_broker():
    """DEZ's week 6 homework, as its students write it: a plain KafkaProducer with a JSON serializer sends the green
    trips and flushes. Its `producer.bootstrap_connected()` cell shows False with kafka-python 3.0.12 (True with
    2.x): 3.x returns whether a bootstrap is *in progress* (kafka/net/compat.py), an upstream bug the course cannot
    fix; DEZ.md says so, and `partitions_for` answers the question instead."""
    from kafka import KafkaProducer

    streaming.recreate_topic("dez-green-trips", partitions=1)
    green = datasets.read_csv(datasets.trip_file("green", "2021-01"))
    columns = ["lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID", "passenger_count",
               "trip_distance", "tip_amount"]

    def json_serializer(data):
        return json.dumps(data).encode("utf-8")

    producer = KafkaProducer(bootstrap_servers=[streaming.bootstrap_servers()], value_serializer=json_serializer)
    assert producer.partitions_for("dez-green-trips") == {0}  # connected, with the topic's metadata
    connected_after_bootstrap = producer.bootstrap_connected()
    started = time.perf_counter()
    for row in green[columns].astype(str).to_dict(orient="records"):
        producer.send("dez-green-trips", value=row)
    producer.flush()
    seconds = time.perf_counter() - started
    producer.close()
    assert streaming.message_count("dez-green-trips") == len(green)
    print(f"DEZ producer: {len(green):,} messages in {seconds:.2f} s")
    import kafka

    if kafka.__version__.startswith("3."):
        assert connected_after_bootstrap is False  # the upstream bug DEZ.md describes: drop this line once fixed
    streaming.delete_topics(["dez-green-trips"])


def test_dez_avro_example_runs_with_the_course_registry_over_http():
    """DEZ's Avro example's client side (confluent_kafka: AvroSerializer/AvroDeserializer with a
    SchemaRegistryClient) against the course's registry served over Confluent's REST API, on the course's broker."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.schema_registry.error import SchemaRegistryError
    from confluent_kafka.serialization import MessageField, SerializationContext

    from zoomcamp.streaming.registry_server import serve

    key_schema = json.dumps({"type": "record", "name": "RideKey", "fields": [{"name": "vendor_id", "type": "int"}]})
    value_schema = {"type": "record", "name": "Ride", "fields": [
        {"name": "vendor_id", "type": "int"}, {"name": "trip_distance", "type": "double"},
        {"name": "total_amount", "type": "double"}]}
    green = datasets.read_csv(datasets.trip_file("green", "2021-01")).dropna(subset=["VendorID"]).head(500)
    server = serve(port=0)  # any free port: 8081 may be another program's on a shared machine
    topic, key_ctx = "dez-rides-avro", SerializationContext("dez-rides-avro", MessageField.KEY)
    value_ctx = SerializationContext(topic, MessageField.VALUE)
    try:
        registry = SchemaRegistryClient({"url": server.url})
        key_ser, value_ser = AvroSerializer(registry, key_schema), AvroSerializer(registry, json.dumps(value_schema))
        streaming.recreate_topic(topic, partitions=1)
        producer = Producer({"bootstrap.servers": streaming.bootstrap_servers()})
        for row in green.itertuples():
            record = {"vendor_id": int(row.VendorID), "trip_distance": float(row.trip_distance),
                      "total_amount": float(row.total_amount)}
            producer.produce(topic, key=key_ser({"vendor_id": record["vendor_id"]}, key_ctx),
                             value=value_ser(record, value_ctx))
        producer.flush(30)
        del producer  # librdkafka's client goes with its last reference (it would log the broker's stop otherwise)
        assert sorted(registry.get_subjects()) == [f"{topic}-key", f"{topic}-value"]
        consumer = Consumer({"bootstrap.servers": streaming.bootstrap_servers(), "group.id": "dez-avro",
                             "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        value_de = AvroDeserializer(registry)
        total, count, deadline = 0.0, 0, time.monotonic() + 60
        while count < len(green) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            total += value_de(message.value(), value_ctx)["total_amount"]
            count += 1
        consumer.close()
        assert count == len(green) and total == pytest.approx(green["total_amount"].sum())
        incompatible = dict(value_schema, fields=[*value_schema["fields"], {"name": "tip", "type": "double"}])
        with pytest.raises(SchemaRegistryError) as refused:  # a new field without a default: BACKWARD refuses it
            registry.register_schema(f"{topic}-value", Schema(json.dumps(incompatible), "AVRO"))
        assert refused.value.http_status_code == 409
    finally:
        server.shutdown()
        server.server_close()
        streaming.delete_topics([topic])
        streaming.forget_group("dez-avro")


def test_week6_homework_is_graded_on_the_topic_the_student_produced(write_answers):
    from kafka.partitioner.default import murmur2

    from zoomcamp import homework
    from zoomcamp.weeks import week_6

    rides = streaming.load_rides("2021-01", "green")
    streaming.recreate_topic(week_6.HOMEWORK_TOPIC, partitions=2)
    streaming.replay(rides, week_6.HOMEWORK_TOPIC, kind="green")
    expected = homework.expected_answers(6)
    keys = rides["PULocationID"].astype("string")
    # Independent of the broker: the default partitioner's murmur2 hash of each key, and pandas' counts.
    assert expected["q1"] == len(rides)
    assert expected["q2"] == sum((murmur2(k.encode()) & 0x7FFFFFFF) % 2 == 0 for k in keys)
    per_zone = rides.groupby("PULocationID").size()
    assert expected["q3"] == per_zone[per_zone == per_zone.max()].index.min()
    pickup = rides["lpep_pickup_datetime"]
    window = (pickup - pickup.min().normalize()).dt.total_seconds() // 300  # 5-minute buckets from midnight
    assert expected["q4"] == window.value_counts().max()
    assert [g.correct for g in homework.grade(6, write_answers(expected))] == [True] * 4
    wrong = dict(expected, q2=expected["q1"] - expected["q2"])  # partition 1's count
    assert [g.correct for g in homework.grade(6, write_answers(wrong))] == [True, False, True, True]

    # Rides produced in another format (pandas' default epoch milliseconds) are refused, not misread.
    streaming.recreate_topic(week_6.HOMEWORK_TOPIC, partitions=2)
    prod = streaming.producer()
    streaming.send_all(prod, week_6.HOMEWORK_TOPIC, [
        (b"74", json.dumps({"lpep_pickup_datetime": 1609459200000, "PULocationID": 74}).encode())])
    prod.close()
    grades = {g.question: g for g in homework.grade(6, write_answers(expected))}
    assert grades["q1"].correct is False and grades["q1"].expected == 1
    assert "ISO text" in grades["q4"].note and "cannot check yet" in grades["q3"].note
    streaming.delete_topics([week_6.HOMEWORK_TOPIC])


def test_reset_week_6_removes_topics_groups_and_sink_tables(rides):
    """Last in this file: the notebooks (run after the tests) make their topics and tables again."""
    from kafka import KafkaConsumer

    from zoomcamp import course, weeks

    streaming.recreate_topic("t-reset", partitions=1)
    streaming.replay(rides.head(10), "t-reset")
    consumer = KafkaConsumer("t-reset", **streaming.client_config(), group_id="t-reset-group",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    deadline = time.monotonic() + 30
    while not consumer.poll(500):
        assert time.monotonic() < deadline, "the group read nothing in 30 s"
    consumer.commit()
    consumer.close()
    db.execute(streaming.ZONE_HOURS.ddl())
    external = get_settings().replace(kafka_bootstrap=streaming.bootstrap_servers())
    assert not any(r.startswith(("topic", "consumer group")) for r in weeks.get(6).reset(external))  # maybe not ours
    assert "t-reset" in streaming.topics() and "t-reset-group" in streaming.consumer_groups()
    db.execute(streaming.ZONE_HOURS.ddl())
    db.execute("CREATE TABLE IF NOT EXISTS my_rides (zone int)")  # notebook 06's own sink
    removed = course.reset(6)[6]
    assert "topic t-reset" in removed and "consumer group t-reset-group" in removed
    assert "table rides_per_zone_hour" in removed and "table my_rides" in removed
    deadline = time.monotonic() + 30  # a broker may delete topics in the background
    while streaming.topics():
        assert time.monotonic() < deadline, f"topics left after reset: {streaming.topics()}"
        time.sleep(0.2)
    assert streaming.consumer_groups() == []
    assert db.query("SELECT 1 FROM pg_tables WHERE tablename IN ('rides_per_zone_hour', 'my_rides')").empty
    assert course.reset(6)[6] == []
