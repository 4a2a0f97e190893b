"""Where the broker is, and the topic chores every notebook repeats: create, recreate, count, read, lag.

All of it is plain kafka-python against whichever cluster the settings point at: the course's Apache Kafka
brokers that ``stack.up()`` starts, or an external cluster (``kafka_bootstrap``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import MemberToRemove, NewTopic
from kafka.errors import (
    BrokerResponseError,
    CoordinatorNotAvailableError,
    GroupIdNotFoundError,
    NodeNotReadyError,
    TopicAlreadyExistsError,
    UnknownBrokerIdError,
    UnknownTopicOrPartitionError,
)

from ..errors import CourseError
from ..settings import Settings, get_settings
from ..stack import StackError
from ..stack.kafka import Kafka

CLIENT_ID = "zoomcamp"


class TopicError(CourseError, ValueError):
    """A topic is missing, or exists with another shape than asked for."""


class TopicRefused(TopicError):
    """Kafka refused to create a topic (its name, partitions, replication factor or a config): retrying won't help."""


class GroupError(CourseError, RuntimeError):
    """A consumer group cannot be changed (it still has live members)."""


def bootstrap_servers(settings: Settings | None = None) -> str:
    """``host:port[,...]`` of the cluster in use (a clear error when it is not running)."""
    service = Kafka(settings or get_settings())
    if service.external:
        status = service.status()
        if not status.running:
            raise StackError(f"kafka: {status.message}")
        return service.external
    servers = service.bootstrap()
    if not servers:
        raise StackError("Kafka is not running: start it with `zoomcamp stack up` (stack.up() in a notebook)")
    return servers


def client_config(settings: Settings | None = None) -> dict:
    """The options every kafka-python client of the course gets."""
    return {"bootstrap_servers": bootstrap_servers(settings).split(","), "client_id": CLIENT_ID}


@contextmanager
def admin(settings: Settings | None = None) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(**client_config(settings))
    try:
        yield client
    finally:
        client.close()


def _consumer(settings: Settings | None = None, **options) -> KafkaConsumer:
    # Looking at a topic must not create it: with the broker's auto.create.topics.enable (Kafka's default) a metadata
    # request for a missing topic creates it with 1 partition, e.g. between recreate_topic's delete and create.
    return KafkaConsumer(**client_config(settings), enable_auto_commit=False, allow_auto_create_topics=False, **options)


def topics(settings: Settings | None = None) -> list[str]:
    """The topics on the cluster, without Kafka's internal ones (``__consumer_offsets`` ...)."""
    with admin(settings) as client:
        return sorted(t for t in client.list_topics() if not t.startswith("__"))


def describe_topic(name: str, settings: Settings | None = None) -> dict:
    """Partitions (with leader, replicas, in-sync replicas) and the topic's own configuration."""
    from kafka.admin import ConfigResource, ConfigResourceType

    with admin(settings) as client:
        try:
            (meta,) = client.describe_topics([name])
        except UnknownTopicOrPartitionError:
            raise TopicError(f"topic {name!r} does not exist") from None
        if meta["error_code"] == UnknownTopicOrPartitionError.errno:
            raise TopicError(f"topic {name!r} does not exist")
        if meta["error_code"]:  # e.g. its leaders are still being elected
            raise TopicError(f"topic {name!r} is not ready (Kafka error {meta['error_code']})")
        configs = client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    config = {k: v["value"] for k, v in configs["topic"][name].items()}
    partitions = [{"partition": p["partition_index"], "leader": p["leader_id"], "replicas": p["replica_nodes"],
                   "in_sync": p["isr_nodes"]} for p in sorted(meta["partitions"], key=lambda p: p["partition_index"])]
    return {"name": name, "partitions": partitions, "config": config}


def broker_message(exc: Exception) -> str:
    """The broker's own words (``error_message``) from a kafka-python error, else the error's name."""
    found = re.search(r"error_message=(['\"])(.*?)\1, ", str(exc))
    return found.group(2) if found else type(exc).__name__


def ensure_topic(name: str, partitions: int = 3, replication_factor: int = 1, config: dict | None = None,
                 settings: Settings | None = None) -> bool:
    """Create the topic if it is missing; True if it was created. Safe to call again: an existing topic with
    the same number of partitions is left as it is (one with another number is an error, not a silent change)."""
    topic = NewTopic(name, partitions, replication_factor, topic_configs={k: str(v) for k, v in (config or {}).items()})
    with admin(settings) as client:
        try:
            client.create_topics([topic])
            client.wait_for_topics([name], timeout_ms=10_000)  # leaders elected: ready to produce to
            return True
        except TopicAlreadyExistsError:
            pass
        except BrokerResponseError as exc:  # kafka-python's message is the whole request and response
            raise TopicRefused(f"Kafka refused to create topic {name!r}: {broker_message(exc)}") from None
    existing = len(describe_topic(name, settings)["partitions"])
    if existing != partitions:
        raise TopicError(f"topic {name!r} exists with {existing} partitions, not {partitions}: "
                         f"recreate_topic({name!r}, {partitions}) starts it over (its messages are deleted)")
    return False


def delete_topics(names: list[str], settings: Settings | None = None) -> list[str]:
    """Delete the topics that exist among ``names``; returns those deleted."""
    present = set(topics(settings))
    doomed = [n for n in names if n in present]
    deadline = time.monotonic() + 30
    while doomed:
        try:
            with admin(settings) as client:
                client.delete_topics(doomed)
            break
        except (UnknownBrokerIdError, NodeNotReadyError):
            # A cluster that has just started: the broker that answered names a controller the client has not met
            # yet (seen on notebook 01's restarted lab cluster). Nothing was sent, so asking again is safe.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return doomed


def recreate_topic(name: str, partitions: int = 3, replication_factor: int = 1, config: dict | None = None,
                   settings: Settings | None = None) -> None:
    """Delete the topic (if any) and create it empty: how a notebook starts from a known state on every run."""
    delete_topics([name], settings)
    deadline = time.monotonic() + 30
    last = "still being deleted"
    while True:  # a real cluster deletes asynchronously: creating may fail for a moment
        try:
            created = ensure_topic(name, partitions, replication_factor, config, settings)
            if created or not message_count(name, settings):
                _wait_until_described(name, partitions, settings, deadline)
                return
            delete_topics([name], settings)  # still there with its messages: the first delete did not take
        except TopicRefused:
            raise
        except TopicError as exc:
            last = str(exc)
            # Re-created by a client between our delete and create (the broker's auto.create.topics.enable makes
            # it with 1 partition on a metadata request): delete that one too.
            delete_topics([name], settings)
        if time.monotonic() > deadline:
            raise TopicError(f"topic {name!r} could not be recreated within 30 s ({last})")
        time.sleep(0.5)


def _wait_until_described(name: str, partitions: int, settings: Settings | None, deadline: float) -> None:
    """On a cluster, a broker learns of a new topic a moment after the controller created it: the next call, answered
    by another broker, may say it does not exist. Wait until every partition has a leader, twice in a row (the admin
    client asks whichever broker is least loaded)."""
    seen, last = 0, "no leaders yet"
    while seen < 2:
        try:
            found = describe_topic(name, settings)["partitions"]
            ready = len(found) == partitions and all(p["leader"] >= 0 for p in found)
            seen, last = (seen + 1, last) if ready else (0, f"{len(found)} partitions, leaders not all elected")
        except TopicError as exc:
            seen, last = 0, str(exc)
        if seen < 2:
            if time.monotonic() > deadline:
                raise TopicError(f"topic {name!r} was created but is not ready within 30 s ({last})")
            time.sleep(0.2)


def topic_offsets(name: str, settings: Settings | None = None) -> pd.DataFrame:
    """Per partition: the first offset still kept (``earliest``), the next offset to be written (``latest``), and
    ``messages`` = the difference (exact for plain topics; transaction markers and compaction make it a maximum)."""
    consumer = _consumer(settings)
    try:
        found = consumer.partitions_for_topic(name)
        if not found:
            raise TopicError(f"topic {name!r} does not exist")
        tps = [TopicPartition(name, p) for p in sorted(found)]
        first, last = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
    finally:
        consumer.close()
    frame = pd.DataFrame({"partition": [tp.partition for tp in tps], "earliest": [first[tp] for tp in tps],
                          "latest": [last[tp] for tp in tps]})
    frame["messages"] = frame["latest"] - frame["earliest"]
    return frame


def message_count(name: str, settings: Settings | None = None) -> int:
    return int(topic_offsets(name, settings)["messages"].sum())


def read_topic(name: str, decode: Callable[[bytes], object] | None = json.loads, limit: int | None = None,
               settings: Settings | None = None, timeout: float = 30.0) -> pd.DataFrame:
    """Every message now in the topic (or the first ``limit`` per partition), oldest first per partition, without
    a consumer group: ``partition, offset, timestamp, key, value, headers`` (values decoded by ``decode``)."""
    consumer = _consumer(settings, auto_offset_reset="earliest")
    rows = []
    try:
        found = consumer.partitions_for_topic(name)
        if not found:
            raise TopicError(f"topic {name!r} does not exist")
        tps = [TopicPartition(name, p) for p in sorted(found)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        stop = consumer.end_offsets(tps)
        if limit is not None:
            start = consumer.beginning_offsets(tps)
            stop = {tp: min(stop[tp], start[tp] + limit) for tp in tps}
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < stop[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TopicError(f"reading {name!r} took longer than {timeout:.0f} s")
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    if r.offset < stop[tp]:  # later ones arrived while reading: not in the snapshot
                        rows.append({"partition": r.partition, "offset": r.offset,
                                     "timestamp": pd.Timestamp(r.timestamp, unit="ms"),
                                     "key": r.key.decode(errors="replace") if r.key is not None else None,
                                     "value": decode(r.value) if decode else r.value,
                                     "headers": {k: v.decode(errors="replace") for k, v in r.headers or []}})
    finally:
        consumer.close()
    columns = ["partition", "offset", "timestamp", "key", "value", "headers"]
    return pd.DataFrame(rows, columns=columns).sort_values(["partition", "offset"], ignore_index=True)


def group_lag(group: str, topic: str, settings: Settings | None = None) -> pd.DataFrame:
    """Per partition: the group's committed offset, the latest offset, and the lag (messages not yet processed).
    Taught in week_6_streaming/03_consumer.ipynb."""
    offsets = topic_offsets(topic, settings)
    with admin(settings) as client:
        committed = client.list_group_offsets(group).get(group, {})
    done = {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == topic and meta.offset >= 0}
    frame = offsets[["partition", "latest"]].copy()
    frame["committed"] = [done.get(p, offsets.loc[i, "earliest"]) for i, p in enumerate(offsets["partition"])]
    frame["lag"] = frame["latest"] - frame["committed"]
    return frame[["partition", "committed", "latest", "lag"]]


def consumer_groups(settings: Settings | None = None) -> list[str]:
    """The consumer groups the cluster knows (with members or committed offsets)."""
    with admin(settings) as client:
        return sorted({group["group_id"] for group in client.list_groups()})


def _delete_group(client: KafkaAdminClient, group: str, timeout: float = 30):
    """``delete_groups`` for one group. On a fresh broker the first group request makes Kafka create its
    ``__consumer_offsets`` topic, and it answers "coordinator not available" until that is ready: wait."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.delete_groups([group]).get(group, "OK")
        except CoordinatorNotAvailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def clear(settings: Settings | None = None) -> list[str]:
    """Forget every consumer group and delete every topic, on the course's own broker only (an external cluster's
    may not be ours: nothing is touched there); says what went."""
    if Kafka(settings or get_settings()).external:
        return []
    removed = []
    for group in consumer_groups(settings):
        forget_group(group, settings)
        removed.append(f"consumer group {group}")
    return removed + [f"topic {t}" for t in delete_topics(topics(settings), settings)]


def forget_group(group: str, settings: Settings | None = None) -> None:
    """Delete a consumer group and its committed offsets (it starts from ``auto_offset_reset`` next time).

    Members still registered are removed first: processes that stopped without leaving (a real cluster drops them
    after ``session.timeout.ms``), and any live one, which simply joins again."""
    with admin(settings) as client:
        try:
            outcome = str(_delete_group(client, group))
            if "NonEmpty" in outcome:
                members = client.describe_groups([group])[group]["members"]
                client.remove_group_members(group, [
                    MemberToRemove(group_instance_id=m["group_instance_id"]) if m["group_instance_id"]
                    else MemberToRemove(member_id=m["member_id"]) for m in members])
                outcome = str(_delete_group(client, group))
        except GroupIdNotFoundError:
            return
    if outcome != "OK" and "NotFound" not in outcome:
        raise GroupError(f"consumer group {group!r} could not be reset ({outcome}): stop its consumers first")
