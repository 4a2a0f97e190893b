"""The sink: a consumer that writes a topic into PostgreSQL with an exactly-once effect, and a dead-letter topic.

How "exactly once" is reached without Kafka transactions: each batch's rows AND the consumer's position
(the next offset per partition) are written in one PostgreSQL transaction, in ``stream_offsets``. On start (and
after every rebalance) the consumer seeks to the positions stored there, not to the ones committed in Kafka.
A crash before the commit loses both the rows and the position, so the batch is read again; a crash after it
keeps both. Rows are upserts (``INSERT ... ON CONFLICT``), so even a running total (``rides = rides + 1``) is
right. A consumer that lost its partitions but still writes (a "zombie") is fenced: the position update only
applies if the stored position is still the one it started from, otherwise its batch is rolled back.

A message that cannot be used (bad JSON, a missing field, a value PostgreSQL refuses) goes to the dead-letter
topic with the reason in its headers, and the consumer goes on. Dead letters are sent before the commit, so a
crash in between may send one twice (at least once; their headers name the original partition and offset).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd
import psycopg2
from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from psycopg2.extras import execute_values

from .. import db
from ..settings import Settings, get_settings
from .broker import client_config, forget_group
from .rides import BadMessage, parse_ride

OFFSETS_TABLE = "stream_offsets"
OFFSETS_DDL = f"""CREATE TABLE IF NOT EXISTS {OFFSETS_TABLE} (
    consumer_group text NOT NULL, topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer_group, topic, partition))"""


@dataclass(frozen=True)
class SinkTable:
    """A table the sink upserts into: ``columns`` (name -> PostgreSQL type), the upsert ``key``, and the ``add``
    columns that accumulate on conflict (running aggregates); other columns take the newest value."""

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]
    add: tuple[str, ...] = ()

    def ddl(self) -> str:
        columns = ", ".join(f'"{c}" {t}' for c, t in self.columns.items())
        return f'CREATE TABLE IF NOT EXISTS "{self.name}" ({columns}, PRIMARY KEY ({self._list(self.key)}))'

    def upsert_sql(self) -> str:
        updates = [f'"{c}" = "{self.name}"."{c}" + EXCLUDED."{c}"' if c in self.add else f'"{c}" = EXCLUDED."{c}"'
                   for c in self.columns if c not in self.key]
        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        return (f'INSERT INTO "{self.name}" ({self._list(self.columns)}) VALUES %s '
                f"ON CONFLICT ({self._list(self.key)}) {action}")

    def combine(self, rows: Iterable[dict]) -> list[tuple]:
        """One tuple per key (ON CONFLICT cannot touch a row twice in one statement): ``add`` columns summed."""
        merged: dict[tuple, dict] = {}
        for row in rows:
            key = tuple(row[c] for c in self.key)
            if key in merged:
                for c in self.columns:
                    merged[key][c] = merged[key][c] + row[c] if c in self.add else row[c]
            else:
                merged[key] = dict(row)
        return [tuple(row[c] for c in self.columns) for row in merged.values()]

    @staticmethod
    def _list(names) -> str:
        return ", ".join(f'"{n}"' for n in names)


# The two sinks of week 6: every ride (keyed by where it sits in the topic), and rides per zone and hour.
RIDES = SinkTable("rides_stream", {
    "kafka_partition": "integer", "kafka_offset": "bigint", "zone": "integer", "dropoff_zone": "integer",
    "pickup": "timestamp", "dropoff": "timestamp", "passengers": "double precision",
    "distance": "double precision", "total_amount": "numeric(10, 2)",
}, key=("kafka_partition", "kafka_offset"))

ZONE_HOURS = SinkTable("rides_per_zone_hour", {
    "zone": "integer", "hour": "timestamp", "rides": "bigint", "revenue": "numeric(14, 2)",
}, key=("zone", "hour"), add=("rides", "revenue"))


def ride_rows(record) -> list[dict]:
    """A ride message -> one ``RIDES`` row."""
    ride = parse_ride(record.value)
    return [{"kafka_partition": record.partition, "kafka_offset": record.offset, "zone": ride["PULocationID"],
             "dropoff_zone": ride["DOLocationID"], "pickup": ride["tpep_pickup_datetime"],
             "dropoff": ride["tpep_dropoff_datetime"], "passengers": ride["passenger_count"],
             "distance": ride["trip_distance"], "total_amount": ride["total_amount"]}]


def zone_hour_rows(record) -> list[dict]:
    """A ride message -> +1 ride and +total_amount for its pickup zone and hour (``ZONE_HOURS``)."""
    ride = parse_ride(record.value)
    hour = ride["tpep_pickup_datetime"].replace(minute=0, second=0, microsecond=0)
    return [{"zone": ride["PULocationID"], "hour": hour, "rides": 1, "revenue": ride["total_amount"]}]


@dataclass
class SinkResult:
    topic: str
    group: str
    table: str
    consumed: int = 0       # messages read and accounted for (written or dead-lettered)
    rows: int = 0           # rows upserted (after merging equal keys within a batch)
    dead_letters: int = 0
    batches: int = 0
    fenced: int = 0         # batches rolled back because another consumer had moved the stored position
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)  # the first few dead letters' reasons

    @property
    def rate(self) -> float:
        return self.consumed / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        return (f"{self.consumed:,} messages from {self.topic!r} -> {self.rows:,} rows upserted into {self.table!r}, "
                f"{self.dead_letters} dead letters, {self.batches} batches in {self.seconds:.2f} s "
                f"({self.rate:,.0f} msgs/s)")


def _connect(settings: Settings):
    return psycopg2.connect(db.url(settings, driver="postgresql"))


def stored_offsets(group: str, settings: Settings | None = None) -> pd.DataFrame:
    """The positions the sink stored for ``group`` (one row per topic partition)."""
    db.execute(OFFSETS_DDL, settings=settings)
    return db.query(f"SELECT topic, partition, next_offset FROM {OFFSETS_TABLE} WHERE consumer_group = :g "
                    "ORDER BY topic, partition", {"g": group}, settings=settings)


def reset_sink(table: SinkTable, group: str, settings: Settings | None = None) -> None:
    """Start a sink over: drop its table, forget the group's stored positions (here and in Kafka)."""
    db.execute(OFFSETS_DDL, settings=settings)
    db.execute(f'DROP TABLE IF EXISTS "{table.name}"', settings=settings)
    db.execute(f"DELETE FROM {OFFSETS_TABLE} WHERE consumer_group = :g", {"g": group}, settings=settings)
    forget_group(group, settings)


JOIN_SECONDS = 60  # how long a sink waits for its group to give it partitions before it counts as idle


class _Positions(ConsumerRebalanceListener):
    """Seeks newly assigned partitions to the positions stored in PostgreSQL and remembers them (``expected``):
    a batch may only move a position from the value this consumer last saw."""

    def __init__(self, consumer: KafkaConsumer, conn, group: str):
        self.consumer, self.conn, self.group = consumer, conn, group
        self.expected: dict[TopicPartition, int | None] = {}
        self.joined_at: float | None = None  # when the group first gave this consumer its share (maybe none)

    def on_partitions_revoked(self, revoked):
        for tp in revoked:
            self.expected.pop(tp, None)

    def on_partitions_assigned(self, assigned):
        if self.joined_at is None:
            self.joined_at = time.monotonic()
        self.seek(list(assigned))

    def seek(self, partitions: list[TopicPartition]) -> None:
        if not partitions:
            return
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT topic, partition, next_offset FROM {OFFSETS_TABLE} WHERE consumer_group = %s",
                        (self.group,))
            stored = {TopicPartition(t, p): o for t, p, o in cur.fetchall()}
        self.conn.commit()
        for tp in partitions:
            self.expected[tp] = stored.get(tp)
            if tp in stored:
                self.consumer.seek(tp, stored[tp])
            else:  # nothing stored: from the start (not from Kafka's committed offset, which is only for lag)
                self.consumer.seek_to_beginning(tp)


def _upsert(cur, table: SinkTable, rows: list[dict]) -> int:
    values = table.combine(rows)
    if values:
        execute_values(cur, table.upsert_sql(), values, page_size=1000)
    return len(values)


def sink_to_postgres(topic: str, table: SinkTable, to_rows: Callable[[object], Iterable[dict]], *, group: str,
                     dead_letter_topic: str | None = None, batch_size: int = 1000, max_messages: int | None = None,
                     until_caught_up: bool = True, idle_seconds: float | None = 10.0, commit_to_kafka: bool = True,
                     instance: str | None = None, on_batch: Callable[[SinkResult], None] | None = None,
                     settings: Settings | None = None) -> SinkResult:
    """Consume ``topic`` as consumer group ``group`` and upsert ``to_rows(record)`` into ``table``, batch by batch.

    Stops after ``max_messages``; or, with ``until_caught_up``, once every assigned partition has been read to
    its end; or after ``idle_seconds`` without a message once the group has assigned it partitions (None: never).
    ``to_rows`` raises :class:`BadMessage` for a message it cannot use: that message goes to ``dead_letter_topic``
    (an error if there is none).

    ``instance``: a static group member name (Kafka's ``group.instance.id``) for a sink run as a long-lived
    process: restarted under the same name after a crash, it takes its partitions back at once, without waiting
    for the group to notice that the crashed one is gone (after ``session.timeout.ms``).

    Taught in week_6_streaming/06_sink_postgres.ipynb, after the student's own poll-insert-commit loop.
    """
    settings = settings or get_settings()
    conn = _connect(settings)
    with conn.cursor() as cur:
        cur.execute(OFFSETS_DDL)
        cur.execute(table.ddl())
    conn.commit()
    # A short session timeout: a killed consumer's partitions go to the others within seconds, not 45. Metadata at
    # most 5 s old: after a broker is killed, kafka-python sometimes kept fetching from the dead leader and never
    # learned the new one within the 5-minute default (the killed-broker sink test idled out 3 times in 8 runs; 5 of
    # 5 passed with this).
    consumer = KafkaConsumer(**client_config(settings), group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", max_poll_records=batch_size, session_timeout_ms=6000,
                             heartbeat_interval_ms=1000, group_instance_id=instance, metadata_max_age_ms=5000)
    # The group's assignment is computed from this consumer's metadata: on a cluster, a broker that has not yet learned
    # of a topic just created would leave the group with no partitions until the next metadata refresh (minutes).
    deadline = time.monotonic() + 15
    while not consumer.partitions_for_topic(topic) and time.monotonic() < deadline:
        time.sleep(0.2)
    positions = _Positions(consumer, conn, group)
    consumer.subscribe([topic], listener=positions)
    dead_letters: KafkaProducer | None = None
    result = SinkResult(topic, group, table.name)
    started = last_message = time.monotonic()

    def send_dead_letters(records: list[tuple[object, str]]) -> None:
        nonlocal dead_letters
        if not dead_letter_topic:
            raise BadMessage(f"{records[0][1]} (partition {records[0][0].partition}, offset {records[0][0].offset}; "
                             "give the sink a dead_letter_topic to set such messages aside)")
        dead_letters = dead_letters or KafkaProducer(**client_config(settings), acks="all", enable_idempotence=True)
        futures = []
        for record, reason in records:
            headers = [("dlt.reason", reason.encode()), ("dlt.topic", record.topic.encode()),
                       ("dlt.partition", str(record.partition).encode()), ("dlt.offset", str(record.offset).encode()),
                       ("dlt.group", group.encode())]
            futures.append(dead_letters.send(dead_letter_topic, key=record.key, value=record.value, headers=headers))
        dead_letters.flush()
        for future in futures:
            future.get(timeout=0)  # raises if one was not delivered: then nothing is committed, the batch is redone

    def write(records: list) -> bool:
        usable, rejected = [], []
        for record in records:
            try:
                usable.append((record, list(to_rows(record))))
            except BadMessage as exc:
                rejected.append((record, str(exc)))
        with conn.cursor() as cur:
            cur.execute("SAVEPOINT batch")
            try:
                written = _upsert(cur, table, [row for _, rows in usable for row in rows])
            except (psycopg2.DataError, psycopg2.IntegrityError):
                # Some value PostgreSQL refuses (out of range, ...): find it, one message at a time.
                cur.execute("ROLLBACK TO SAVEPOINT batch")
                written = 0
                for record, rows in usable:
                    cur.execute("SAVEPOINT one")
                    try:
                        written += _upsert(cur, table, rows)
                    except (psycopg2.DataError, psycopg2.IntegrityError) as exc:
                        cur.execute("ROLLBACK TO SAVEPOINT one")
                        rejected.append((record, f"rejected by PostgreSQL: {str(exc).strip().splitlines()[0]}"))
            nexts: dict[TopicPartition, int] = {}
            for record in records:
                tp = TopicPartition(record.topic, record.partition)
                nexts[tp] = max(nexts.get(tp, 0), record.offset + 1)
            for tp, next_offset in nexts.items():
                cur.execute(f"""INSERT INTO {OFFSETS_TABLE} (consumer_group, topic, partition, next_offset)
                    VALUES (%s, %s, %s, %s) ON CONFLICT (consumer_group, topic, partition)
                    DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()
                    WHERE {OFFSETS_TABLE}.next_offset IS NOT DISTINCT FROM %s""",
                            (group, tp.topic, tp.partition, next_offset, positions.expected.get(tp)))
                if cur.rowcount != 1:  # someone else moved it: this batch is theirs now
                    conn.rollback()
                    return False
            if rejected:
                send_dead_letters(rejected)  # the positions are locked by us until the commit
        conn.commit()
        positions.expected.update(nexts)
        result.rows += written
        result.dead_letters += len(rejected)
        result.reasons.extend(reason for _, reason in rejected[: max(0, 5 - len(result.reasons))])
        if commit_to_kafka:  # only so that lag shows in Kafka's tools; the truth is in PostgreSQL
            consumer.commit_async({tp: OffsetAndMetadata(o, "", -1) for tp, o in nexts.items()})
        return True

    try:
        while max_messages is None or result.consumed < max_messages:
            limit = batch_size if max_messages is None else min(batch_size, max_messages - result.consumed)
            records = [r for batch in consumer.poll(timeout_ms=200, max_records=limit).values() for r in batch]
            if not records:
                assigned = list(consumer.assignment())
                if until_caught_up and assigned:
                    ends = consumer.end_offsets(assigned)
                    if all(consumer.position(tp) >= ends[tp] for tp in assigned):
                        break
                # The idle clock starts once the group has handed out partitions: joining can take longer than
                # idle_seconds on a busy machine (a rebalance waits for the other members), and a consumer that
                # stopped before it was assigned anything would read nothing.
                joined = positions.joined_at
                waited = time.monotonic() - (max(last_message, joined) if joined else started)
                if idle_seconds is not None and waited > (idle_seconds if joined else max(idle_seconds, JOIN_SECONDS)):
                    break
                continue
            last_message = time.monotonic()
            if write(records):
                result.consumed += len(records)
                result.batches += 1
                if on_batch:
                    on_batch(result)
            else:
                result.fenced += 1
                positions.seek(list(consumer.assignment()))
    finally:
        result.seconds = time.monotonic() - started
        consumer.close(autocommit=False)
        if dead_letters:
            dead_letters.close()
        conn.close()
    return result
