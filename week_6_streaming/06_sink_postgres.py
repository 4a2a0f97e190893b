# %% [markdown]
# # 06 · Sink to PostgreSQL: yours, then one with an exactly-once effect; Kafka Connect, ksqlDB and the alternatives
#
# **What you will learn**
# - to write a sink yourself (poll, insert, commit the offsets), and why "write to the database, then commit the
#   offset" writes rows twice after a crash, shown;
# - the course's sink: upserts, and the consumer's offsets stored *in the same transaction* as the rows, so a
#   consumer killed at any moment and restarted leaves every message in the table exactly once;
# - dead letters: a malformed message is set aside with its reason, the consumer goes on;
# - what Kafka Connect and ksqlDB would do here, and how Pub/Sub, Pulsar, Redpanda and Kinesis compare.
#
# **What you need running:** the local stack (the next cell starts it and fills the topic `rides`).

# %%
import json
import signal
import subprocess
import sys
import time

import pandas as pd
import psycopg2
from kafka import KafkaConsumer
from psycopg2.extras import execute_values

from zoomcamp import db, stack, streaming
from zoomcamp.exercises import check

stack.up()
rides = streaming.load_rides("2021-01")
streaming.recreate_topic("rides", partitions=3)
streaming.replay(rides, "rides")
TOTAL = len(rides)
hourly = rides.assign(hour=rides["tpep_pickup_datetime"].dt.floor("h")).groupby(["PULocationID", "hour"]).agg(
    rides=("total_amount", "size"), revenue=("total_amount", "sum"))
hourly.index.names = ["zone", "hour"]
print(f"{TOTAL:,} rides in the topic, {len(hourly):,} (zone, hour) pairs")

# %% [markdown]
# ## Build it: your own sink
#
# A sink is a loop: **poll** a batch of messages, **insert** them, **commit** the offsets (tell Kafka "done up to
# here", so that a restarted consumer goes on from there). One row per ride in a table `my_rides`; the commit comes
# after PostgreSQL has the rows, so a crash cannot lose a ride. One detail: a consumer that subscribes to a topic
# created a moment ago may join its group before it has learnt that the topic exists, and then get no partitions;
# so it waits until it knows the topic's partitions first.

# %%
COLUMNS = "zone, dropoff_zone, pickup, dropoff, total_amount"


def caught_up(consumer) -> bool:
    """True once the consumer has partitions and has read each to its end."""
    assigned = list(consumer.assignment())
    ends = consumer.end_offsets(assigned) if assigned else {}
    return bool(assigned) and all(consumer.position(tp) >= end for tp, end in ends.items())


def my_sink(group: str, crash_after: int | None = None) -> int:
    """Insert every ride of `rides` into my_rides, batch by batch, as consumer group `group`; with `crash_after`,
    stop as a crash would: after that batch's rows are committed, before its offsets are. Returns the rows written."""
    consumer = KafkaConsumer(**streaming.client_config(), group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", max_poll_records=500)
    while not consumer.partitions_for_topic("rides"):  # see above: know the topic before joining the group
        time.sleep(0.2)
    consumer.subscribe(["rides"])
    conn = psycopg2.connect(db.url(driver="postgresql"))
    written = batches = 0
    try:
        while True:
            records = [r for batch in consumer.poll(1000).values() for r in batch]
            if not records:
                if caught_up(consumer):
                    break
                continue
            rows = [(ride["PULocationID"], ride["DOLocationID"], ride["tpep_pickup_datetime"],
                     ride["tpep_dropoff_datetime"], ride["total_amount"]) for ride in (json.loads(r.value) for r in records)]
            with conn.cursor() as cur:
                execute_values(cur, f"INSERT INTO my_rides ({COLUMNS}) VALUES %s", rows)
            conn.commit()  # 1. the rows, in PostgreSQL
            written, batches = written + len(rows), batches + 1
            if batches == crash_after:
                break  # the crash: the rows are committed, the offsets are not
            consumer.commit()  # 2. the offsets, in Kafka
    finally:
        conn.close()
        consumer.close(autocommit=False)
    return written


def start_over(group: str) -> None:
    db.execute("DROP TABLE IF EXISTS my_rides")
    db.execute("CREATE TABLE my_rides (zone int, dropoff_zone int, pickup timestamp, dropoff timestamp, "
               "total_amount numeric(10, 2))")
    streaming.forget_group(group)  # its committed offsets too: from the start of the topic


start_over("my-sink")
started = time.perf_counter()
written = my_sink("my-sink")
my_seconds = time.perf_counter() - started
mine = db.query(f"SELECT {COLUMNS} FROM my_rides")
print(f"{written:,} rides into my_rides in {my_seconds:.1f} s ({written / my_seconds:,.0f}/s)")
assert written == len(mine) == TOTAL

# %% [markdown]
# ### Where it breaks: a crash between the insert and the commit
#
# Kill the consumer after PostgreSQL committed a batch and before Kafka got the offsets (here: it stops after its
# third batch). The restarted consumer starts from the last *committed* offsets, so it reads that batch again and
# inserts its rides a second time. Insert-then-commit is *at least once*: nothing lost, some rows twice.

# %%
start_over("my-sink")
before_crash = my_sink("my-sink", crash_after=3)
after_restart = my_sink("my-sink")
in_table = int(db.query("SELECT count(*) AS n FROM my_rides")["n"].item())
twice = int(db.query(f"SELECT coalesce(sum(n - 1), 0) AS n FROM (SELECT count(*) AS n FROM my_rides "
                     f"GROUP BY {COLUMNS}) AS g")["n"].item())
print(f"rides in the topic: {TOTAL:,}; rows in my_rides after a crash and a restart: {in_table:,} ({twice:,} twice)")
assert in_table == before_crash + after_restart > TOTAL and twice >= in_table - TOTAL > 0

# %% [markdown]
# With a running total instead (`rides = rides + n` per zone and hour), the same crash silently double-counts.
# Committing the offsets *before* the insert turns it around: a crash in between loses the batch (*at most once*).
# Neither order is right, because the rows and the offsets live in two systems that cannot commit together.
#
# ## Exercise 8
#
# Extend your sink so that a crash cannot write a ride twice: store each ride with where it sits in the topic
# (`kafka_partition`, `kafka_offset`, the message's `partition` and `offset`) as the primary key of `my_rides`, and
# insert with `ON CONFLICT ... DO NOTHING`. Start over (group `my-sink`), crash it after its third batch, restart it,
# and return the number of rows in `my_rides`.

# %%
my_answer = None

# %%
check(my_answer, TOTAL)


# %% jupyter={"source_hidden": true} tags=["solution"]
def my_idempotent_sink(group: str, crash_after: int | None = None) -> int:
    """my_sink, keyed by the message's place in the topic: a batch read twice inserts nothing the second time."""
    consumer = KafkaConsumer(**streaming.client_config(), group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", max_poll_records=500)
    while not consumer.partitions_for_topic("rides"):
        time.sleep(0.2)
    consumer.subscribe(["rides"])
    conn = psycopg2.connect(db.url(driver="postgresql"))
    batches = 0
    try:
        while True:
            records = [r for batch in consumer.poll(1000).values() for r in batch]
            if not records:
                if caught_up(consumer):
                    break
                continue
            rows = [(r.partition, r.offset, ride["PULocationID"], ride["DOLocationID"], ride["tpep_pickup_datetime"],
                     ride["tpep_dropoff_datetime"], ride["total_amount"]) for r, ride in
                    ((r, json.loads(r.value)) for r in records)]
            with conn.cursor() as cur:
                execute_values(cur, f"INSERT INTO my_rides (kafka_partition, kafka_offset, {COLUMNS}) VALUES %s "
                               "ON CONFLICT (kafka_partition, kafka_offset) DO NOTHING", rows)
            conn.commit()
            batches += 1
            if batches == crash_after:
                break
            consumer.commit()
    finally:
        conn.close()
        consumer.close(autocommit=False)
    return batches


db.execute("DROP TABLE IF EXISTS my_rides")
db.execute("CREATE TABLE my_rides (kafka_partition int, kafka_offset bigint, zone int, dropoff_zone int, "
           "pickup timestamp, dropoff timestamp, total_amount numeric(10, 2), PRIMARY KEY (kafka_partition, kafka_offset))")
streaming.forget_group("my-sink")
my_idempotent_sink("my-sink", crash_after=3)
my_idempotent_sink("my-sink")
solution = int(db.query("SELECT count(*) AS n FROM my_rides")["n"].item())
assert check(solution, TOTAL)

# %% [markdown]
# ## The course's sink: offsets in the same transaction
#
# [`streaming.sink_to_postgres`](../shared/zoomcamp/streaming/sink.py) (in `shared/zoomcamp/streaming/sink.py`) is your
# loop with the offsets moved into PostgreSQL. It writes each batch in **one PostgreSQL transaction**: the rows *and*
# the next offset of every partition it read, in the table `stream_offsets`. On start (and after a rebalance) it seeks
# to the offsets stored there. A crash before the commit undoes both; after it, both are kept: there is no moment
# where the rows and the position disagree. What else it adds to `my_sink`:
#
# - **upserts** (`INSERT ... ON CONFLICT` on a key: here the ride's partition and offset), so a row written twice is
#   one row, and running totals add up right;
# - **a fence against zombies**: a consumer that lost its partitions in a rebalance but still writes is rolled back;
# - **dead letters**: a message it cannot parse goes to another topic with the reason, the loop goes on (below);
# - **stopping** when caught up or idle, static group membership for a restarted process, Kafka's committed offsets
#   still updated afterwards (only so that lag shows in Kafka's tools).
#
# Run it on the same topic, one row per ride (`streaming.RIDES`): it lands the same rides as your sink's clean run.

# %%
streaming.reset_sink(streaming.RIDES, "rides-course")
# Until caught up; idle_seconds bounds the wait for the group to hand out partitions (slow on a busy machine).
course_run = streaming.sink_to_postgres("rides", streaming.RIDES, streaming.ride_rows, group="rides-course",
                                        idle_seconds=60)
print(course_run)
theirs = db.query(f"SELECT {COLUMNS} FROM rides_stream")
order = COLUMNS.split(", ")
assert course_run.consumed == len(theirs) == TOTAL
assert theirs.sort_values(order, ignore_index=True).equals(mine.sort_values(order, ignore_index=True))

# %% [markdown]
# The rides per zone and hour (`streaming.ZONE_HOURS`, a running total) are where a duplicate hurts most. The table
# and the statement the sink runs for them:

# %%
print(streaming.ZONE_HOURS.ddl())
print(streaming.ZONE_HOURS.upsert_sql())

# %% [markdown]
# Rides of the same zone and hour within a batch are added up first (one row per key per statement). One more
# guard: the offset update only applies if the stored offset is still the one this consumer started the batch from
# (`WHERE next_offset = <expected>`). A "zombie" consumer that lost its partitions in a rebalance but still writes
# finds another offset there, and its whole batch is rolled back.
#
# ## Kill it, restart it
#
# [consumer.py](consumer.py) runs the sink as a process of its own. Start it (slowed down so we can catch it
# mid-stream), kill it with `SIGKILL` (no clean-up at all), start it again:

# %%
streaming.reset_sink(streaming.ZONE_HOURS, "zone-hours")


def sunk():
    try:
        return int(db.query("SELECT coalesce(sum(rides), 0) AS n FROM rides_per_zone_hour")["n"].item())
    except Exception:  # the consumer has not created the table yet
        return 0


command = [sys.executable, "consumer.py", "--topic", "rides", "--group", "zone-hours", "--sink", "zone-hours"]
first = subprocess.Popen([*command, "--batch-size", "100", "--pause", "0.1"], stdout=subprocess.DEVNULL)
while sunk() < TOTAL // 4 and first.poll() is None:
    time.sleep(0.05)
first.send_signal(signal.SIGKILL)
first.wait()
at_kill = sunk()
print(f"killed with {at_kill:,} of {TOTAL:,} rides in the table")
second = subprocess.run(command, capture_output=True, text=True, check=True)
print(second.stdout.strip().splitlines()[-1])

# %%
table = db.query("SELECT zone, hour, rides, revenue FROM rides_per_zone_hour").set_index(["zone", "hour"]).sort_index()
assert at_kill < TOTAL and int(table["rides"].sum()) == TOTAL
assert table["rides"].to_dict() == hourly["rides"].to_dict()  # every (zone, hour): exactly pandas' count
revenue_gap = (table["revenue"].astype(float) - hourly["revenue"]).abs().max()
assert revenue_gap < 0.01 * hourly["rides"].max()  # cents: each ride's amount is rounded once, in numeric(14, 2)
offsets = streaming.stored_offsets("zone-hours").set_index("partition")["next_offset"]
assert offsets.to_dict() == streaming.topic_offsets("rides").set_index("partition")["latest"].to_dict()
print(f"{int(table['rides'].sum()):,} rides in {len(table):,} rows, as pandas counts them; stored offsets = "
      f"end of every partition")
ax = table["rides"].groupby("hour").sum().plot(figsize=(9, 2.5), title="Rides per hour, from the sink")
ax.set_xlabel("");

# %% [markdown]
# `tests/streaming/test_streaming.py` does the same kill-and-restart on every test run, and checks the zone/hour counts.
#
# The restarted process used Kafka's *static membership* (`group.instance.id`, `--instance sink-1`): coming back
# under the same name it gets its partitions at once instead of waiting for the group to notice the old process
# is gone: a member that died without a goodbye is only removed after `session.timeout.ms` (6 s for the course's
# sink, 45 s by default; notebook 03 measures it), and until then nobody reads its partitions.
#
# ## Dead letters
#
# A message the sink cannot use — not JSON, a field missing or of the wrong type, a value PostgreSQL refuses — goes
# to a *dead-letter topic* with the reason in its headers, and the consumer carries on. Append a few to `rides`
# between good rides and run the sink again (it continues where it stopped):

# %%
good = streaming.ride_messages(rides.tail(5))
sample = json.loads(good[0][1])
broken = [b"this is not json",
          json.dumps({**sample, "PULocationID": "Times Sq"}).encode(),
          json.dumps({k: v for k, v in sample.items() if k != "total_amount"}).encode(),
          json.dumps({**sample, "total_amount": 1e13}).encode()]  # too big for numeric(14, 2)
producer = streaming.producer()
streaming.send_all(producer, "rides", [good[0], *[(b"bad", m) for m in broken], *good[1:]])
producer.close()
streaming.recreate_topic("rides-dlt", partitions=1)
result = streaming.sink_to_postgres("rides", streaming.ZONE_HOURS, streaming.zone_hour_rows, group="zone-hours",
                                    dead_letter_topic="rides-dlt", instance="sink-1")  # the same member as consumer.py
print(result)
dead = streaming.read_topic("rides-dlt", decode=None)
reasons = pd.DataFrame(list(dead["headers"]))[["dlt.partition", "dlt.offset", "dlt.reason"]]
assert (result.consumed, result.dead_letters) == (len(good) + len(broken), len(broken))
assert dead["value"].tolist() == broken and sunk() == TOTAL + len(good)  # the good ones after the bad ones too
reasons

# %% [markdown]
# Someone fixes and re-sends dead letters later (or decides to drop them); the stream did not stop for them.
#
# ## Kafka Connect and ksqlDB
#
# **Kafka Connect** runs connectors: configuration instead of code for moving data between Kafka and other systems.
# [Notebook 07](07_kafka_connect.ipynb) runs it for real on the course's Kafka: Debezium's PostgreSQL source captures
# every insert, update and delete of a table as change events, and Debezium's JDBC sink upserts them into another
# table by primary key (deletes included), even across a worker killed mid-stream. (Confluent's JDBC sink, which
# many tutorials show, is not on Maven Central; Debezium's is, so it is the one that runs here.) Its upserts give
# Connect's at-least-once delivery an exactly-once *effect* for tables keyed like their source. Aggregates (our
# `rides + n`) cannot be written that way: compute them first, in a stream processor, into a topic keyed by
# (zone, hour), and sink *that* with upserts.
#
# **ksqlDB** is SQL over topics: that stream processor, written as queries, e.g.
#
# ```sql
# CREATE STREAM rides (PULocationID INT KEY, tpep_pickup_datetime VARCHAR, total_amount DOUBLE)
#   WITH (KAFKA_TOPIC='rides', VALUE_FORMAT='JSON', TIMESTAMP='tpep_pickup_datetime',
#         TIMESTAMP_FORMAT='yyyy-MM-dd''T''HH:mm:ss');
# CREATE TABLE rides_per_zone_hour AS
#   SELECT PULocationID, COUNT(*) AS rides, SUM(total_amount) AS revenue
#   FROM rides WINDOW TUMBLING (SIZE 1 HOUR, GRACE PERIOD 10 MINUTES) GROUP BY PULocationID EMIT CHANGES;
# ```
#
# ksqlDB is a JVM service next to the brokers (not in this offline course; it runs against the compose cluster), under
# the Confluent Community License, not Apache 2.0.
#
# ## The alternatives
#
# | | Kafka | Redpanda | Pulsar | Google Pub/Sub | AWS Kinesis Data Streams |
# | --- | --- | --- | --- | --- | --- |
# | what | the log, open source (Apache) | Kafka-protocol broker in C++, no JVM | brokers + BookKeeper storage, multi-tenant | managed messaging | managed shards |
# | order | per partition | per partition | per partition (key-shared too) | per ordering key (opt-in) | per shard |
# | keep and replay | retention/compaction; seek anywhere | same (tiered storage) | retention, tiered storage | up to 31 days; seek to a time/snapshot | 24 h to 365 days |
# | consumers | consumer groups, offsets | the same | subscriptions (exclusive, shared, failover, key-shared) | subscriptions, per-message acks | shard iterators; KCL leases in DynamoDB |
# | exactly once | idempotent producer + transactions | the same | transactions | exactly-once delivery (pull, one region) | at least once |
# | scaling unit | partitions (add, never remove) | partitions | partitions/segments | automatic | shards (split/merge) |
# | Kafka clients work | yes | yes | with a protocol handler (KoP) | no | no |
#
# The course runs Apache Kafka itself (KRaft mode); Redpanda speaks the same protocol, so the clients here would not
# know the difference, and everything runs unchanged against the compose cluster too.

# %% [markdown]
# ## Summary
#
# - Your sink (poll, insert, commit) is at least once: a crash between the insert and the commit writes a batch
#   twice; with running totals, it double-counts.
# - Rows and offsets in one database transaction (plus upserts, plus a fence against zombies) give an exactly-once
#   effect: kill the consumer anywhere, restart it, every message counts once.
# - Unusable messages go to a dead-letter topic with their reason; the stream keeps flowing.
# - Kafka Connect moves data by configuration, ksqlDB processes it with SQL; Redpanda speaks Kafka, Pulsar, Pub/Sub
#   and Kinesis are different systems with similar ideas.
#
# **Next:** [07 · Kafka Connect: change data capture with Debezium](07_kafka_connect.ipynb)

# %%
from zoomcamp import course

course.record("week_6_streaming/06_sink_postgres.ipynb")  # this notebook ran to the end
