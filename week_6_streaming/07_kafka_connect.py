# %% [markdown]
# # 07 · Kafka Connect: change data capture from PostgreSQL, and a sink by configuration
#
# **What you will learn**
# - what Kafka Connect is for: moving data between Kafka and other systems with *configuration*, not code;
#   source and sink connectors, workers and tasks, converters, and where Connect keeps its offsets;
# - change data capture (CDC) with Debezium's PostgreSQL source: every insert, update and delete of a table becomes
#   an event on a topic, with the row `before` and `after`;
# - Debezium's JDBC sink: a topic upserted into another PostgreSQL table by primary key, deletes included;
# - a worker killed with `SIGKILL` in the middle of a stream, restarted: the copy ends up exactly equal to the
#   source, nothing lost, nothing twice;
# - when to pick Connect, and when a consumer of your own (notebook 06).
#
# **What you need running:** the local stack, plus the Connect worker (the next cell starts both; the worker is one
# more JVM of about 400 MB, so a plain `zoomcamp stack up` leaves it out: `zoomcamp stack up connect` starts it).

# %%
import json
import threading
import time

import pandas as pd

from zoomcamp import datasets, db, stack, streaming
from zoomcamp.streaming import connect

stack.up()
worker = stack.up(["connect"])[0]  # on demand: Kafka Connect in distributed mode, on the course's Kafka
connect.require_logical_wal()  # Debezium reads PostgreSQL's write-ahead log: wal_level=logical
assert worker.running
print("\n".join(connect.plugins()))

# %% [markdown]
# ## What Connect is for
#
# Notebook 06 wrote a consumer to put a topic into PostgreSQL: batching, upserts, offsets in the same transaction,
# dead letters. Every team moving data between Kafka and a database, a bucket or a search index writes that same
# program again. **Kafka Connect** is that program written once, as a service:
#
# - a **connector** is a plugin plus a configuration (JSON, sent to the worker's REST API). A **source** connector
#   reads a system and writes topics; a **sink** connector reads topics and writes a system;
# - a **worker** is the JVM that runs them, split into **tasks** (the unit of parallelism). In *distributed* mode,
#   used here even with one worker, the workers form a group like consumers do: configurations, statuses and source
#   offsets live in Kafka topics (`zoomcamp-connect-configs`, `-status`, `-offsets`), so any worker can take over;
# - **converters** turn Connect's typed records into bytes and back. This worker uses JSON *with the schema in every
#   message*: verbose, but the sink needs column types to create its table (Avro or Protobuf with a schema registry
#   do the same in fewer bytes);
# - **offsets**: a source stores its own position (here: PostgreSQL's log sequence number, the LSN) in the offsets
#   topic; a sink is a consumer group (`connect-<name>`), committing as notebook 03 did. Both are written every
#   2 seconds here (`offset.flush.interval.ms`), *after* the data: at least once, so a crash repeats a little.
#
# Pick Connect when a maintained connector exists for your system and the transformation is small (renaming,
# routing, filtering: *single message transforms*). Write a consumer when the logic is yours: notebook 06's running
# totals per zone and hour cannot be a JDBC sink's upsert.
#
# The worker offers two connector plugins, resolved from Maven Central by `make setup`: Debezium's PostgreSQL source
# and Debezium's JDBC sink (listed above). (Confluent's JDBC connector, often shown in tutorials, is not on Maven
# Central; Debezium's is Apache 2.0 and is.)
#
# ## A table to capture
#
# A copy of the taxi zones, `zones_cdc`, and an empty `rides_cdc`. `REPLICA IDENTITY FULL` makes PostgreSQL log the
# whole old row of an update or delete (by default only its primary key): Debezium can then show `before`.

# %%
for name in ("cdc-source", "cdc-sink"):
    connect.delete_connector(name)  # with its offsets: a re-run starts from scratch
connect.drop_replication_slot("zoomcamp_cdc")  # the slot (and publication) of the previous run
db.execute("DROP TABLE IF EXISTS zones_cdc, rides_cdc, zones_replica, rides_replica")
db.execute("CREATE TABLE zones_cdc (location_id integer PRIMARY KEY, borough text, zone text, service_zone text)")
db.execute("ALTER TABLE zones_cdc REPLICA IDENTITY FULL")
zones = pd.read_csv(datasets.zones_file()).set_axis(["location_id", "borough", "zone", "service_zone"], axis=1)
zones.to_sql("zones_cdc", db.engine(), if_exists="append", index=False)
db.execute("CREATE TABLE rides_cdc (ride_id integer PRIMARY KEY, pickup timestamp, zone integer, amount float8)")
TOPICS = ["cdc.public.zones_cdc", "cdc.public.rides_cdc"]  # Debezium's names: <topic.prefix>.<schema>.<table>
for topic in TOPICS:
    streaming.recreate_topic(topic, partitions=1)
print(f"{len(zones)} zones in zones_cdc, rides_cdc empty")

# %% [markdown]
# ## Debezium's PostgreSQL source
#
# The connector connects as a replication client. PostgreSQL's own logical decoding plugin, `pgoutput`, turns the
# write-ahead log into row changes; a **publication** says which tables; a **replication slot** remembers how far the
# connector has confirmed, and keeps the log from that point until it has (so a stopped connector loses nothing, and
# a forgotten slot fills the disk: the last cell drops it). It first **snapshots** the rows already there (events with
# `op = "r"`), then streams every committed change. All of it is configuration (sent to the worker's REST API by
# [`connect.put_connector`](../shared/zoomcamp/streaming/connect.py)):

# %%
source = {
    "connector.class": connect.POSTGRES_SOURCE,
    # host, port, user, database; plugin.name=pgoutput; the slot and publication (see connect.postgres_source)
    **connect.postgres_source("cdc", ["public.zones_cdc", "public.rides_cdc"], slot="zoomcamp_cdc"),
    "snapshot.mode": "initial",  # the rows already there first, then the changes
}
connect.put_connector("cdc-source", source)  # PUT /connectors/cdc-source/config: create, or replace the config
print(connect.wait_running("cdc-source"))
connect.wait_for(lambda: streaming.message_count(TOPICS[0]) >= len(zones), what="the snapshot")
print(f"{streaming.message_count(TOPICS[0])} snapshot events in {TOPICS[0]}")

# %% [markdown]
# ## Inserts, updates and deletes become events
#
# Three statements, each its own transaction. The topic gets four messages: a delete is followed by a **tombstone**
# (same key, no value), which lets a compacted topic forget the key altogether.

# %%
db.execute("INSERT INTO zones_cdc VALUES (266, 'Queens', 'Flushing Meadows', 'Boro Zone')")
db.execute("UPDATE zones_cdc SET zone = 'JFK International Airport' WHERE location_id = 132")
db.execute("DELETE FROM zones_cdc WHERE location_id = 266")
connect.wait_for(lambda: streaming.message_count(TOPICS[0]) >= len(zones) + 4, what="the three changes")

events = streaming.read_topic(TOPICS[0], decode=lambda v: json.loads(v)["payload"] if v else None)
changes = events.tail(4)
summary = pd.DataFrame({
    "key": [json.loads(k)["payload"]["location_id"] for k in changes["key"]],
    "op": [e["op"] if e else "(tombstone)" for e in changes["value"]],
    "zone before": [(e or {}).get("before") and e["before"]["zone"] for e in changes["value"]],
    "zone after": [(e or {}).get("after") and e["after"]["zone"] for e in changes["value"]],
})
assert summary["op"].tolist() == ["c", "u", "d", "(tombstone)"]
summary

# %% [markdown]
# `c` create, `u` update, `d` delete (`r` for the snapshot's reads). One update event in full, without the schema
# that travels with it: the old row, the new row, and where it came from in the log (`lsn`, transaction id).

# %%
update = changes["value"].iloc[1]
print(json.dumps({k: update[k] for k in ("op", "before", "after")}, indent=1))
print({k: update["source"][k] for k in ("connector", "table", "snapshot")}, "lsn and txId:",
      type(update["source"]["lsn"]).__name__, type(update["source"]["txId"]).__name__)

# %% [markdown]
# ## Debezium's JDBC sink
#
# The sink reads both topics and writes `zones_replica` and `rides_replica`. It understands Debezium's events
# natively (`before`/`after`/`op`); the key of each message is the source's primary key, so:
#
# - `insert.mode=upsert`: `INSERT ... ON CONFLICT (location_id) DO UPDATE`. A message delivered twice writes the same
#   row twice: the *effect* is exactly once, as in notebook 06;
# - `delete.enabled=true`: a `d` event deletes the row (with `primary.key.mode=record_key`);
# - `schema.evolution=basic`: it creates the table from the messages' schemas (and adds new columns later);
# - a **single message transform** (`RegexRouter`, part of Kafka) renames each topic to its table's name.

# %%
sink = {
    "connector.class": connect.JDBC_SINK,
    "topics": ",".join(TOPICS),
    **connect.jdbc_connection(),  # connection.url=jdbc:postgresql://127.0.0.1:<port>/ny_taxi, user, password
    "insert.mode": "upsert",
    "primary.key.mode": "record_key",
    "delete.enabled": "true",
    "schema.evolution": "basic",
    "transforms": "table",
    "transforms.table.type": "org.apache.kafka.connect.transforms.RegexRouter",
    "transforms.table.regex": r"cdc\.public\.(.*)_cdc",
    "transforms.table.replacement": "$1_replica",  # cdc.public.zones_cdc -> zones_replica
}
connect.put_connector("cdc-sink", sink)
print(connect.wait_running("cdc-sink"))

COLUMNS = {"zones": "location_id, borough, zone, service_zone", "rides": "ride_id, pickup, zone, amount"}


def differences(table):
    """Rows in one table and not the other, both ways (an independent check of the copy); None before it exists."""
    if db.query(f"SELECT to_regclass('{table}_replica') IS NULL AS missing")["missing"].item():
        return None
    cols = COLUMNS[table]
    return int(db.query(f"""SELECT count(*) AS n FROM (
        (SELECT {cols} FROM {table}_cdc EXCEPT ALL SELECT {cols} FROM {table}_replica) UNION ALL
        (SELECT {cols} FROM {table}_replica EXCEPT ALL SELECT {cols} FROM {table}_cdc)) AS d""")["n"].item())


connect.wait_for(lambda: differences("zones") == 0, what="zones_replica equal to zones_cdc")
replica = db.query("SELECT * FROM zones_replica ORDER BY location_id")
assert len(replica) == len(zones) and 266 not in replica["location_id"].tolist()  # the delete was applied
assert replica.set_index("location_id").loc[132, "zone"] == "JFK International Airport"  # the update too
print(f"zones_replica = zones_cdc: {len(replica)} rows")

# %% [markdown]
# The sink created `zones_replica` itself, with the source's column types:

# %%
db.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'zones_replica' "
         "ORDER BY ordinal_position")

# %% [markdown]
# ## Kill the worker mid-stream
#
# First, where the source has got to: Connect has stored its offset (the log position of the last change it sent)
# in the offsets topic. Had the worker died before that first flush, the restarted source would find no offset and,
# with `snapshot.mode=initial`, snapshot the table again: rows come back right, but rows deleted in between are
# never deleted in the copy (a snapshot cannot show a delete). For a table that starts empty, `snapshot.mode=no_data`
# avoids that: everything streams from the slot.
#
# Now a stream: 10,000 rides written into `rides_cdc` in 20 transactions, 0.1 s apart, and halfway an `UPDATE` of
# every ride of zone 132 so far. As soon as the first rides reach the replica, the worker gets `SIGKILL`: no offset
# flush, no goodbye to its group, both connectors mid-stream. The writes go on while it is down: PostgreSQL keeps
# them, because the replication slot has not confirmed them. Then the worker is started again (it finds its
# connectors' configurations and offsets in Kafka, and both connectors start by themselves).

# %%
rides = streaming.load_rides("2021-01").head(10_000)
rows = pd.DataFrame({"ride_id": range(1, len(rides) + 1), "pickup": rides["tpep_pickup_datetime"],
                     "zone": rides["PULocationID"], "amount": rides["total_amount"]})


def write_rides():
    for batch, start in enumerate(range(0, len(rows), 500)):
        rows.iloc[start:start + 500].to_sql("rides_cdc", db.engine(), if_exists="append", index=False)
        if batch == 9:
            db.execute("UPDATE rides_cdc SET amount = amount + 1 WHERE zone = 132")
        time.sleep(0.1)


def replica_rides():
    missing = db.query("SELECT to_regclass('rides_replica') IS NULL AS m")["m"].item()
    return 0 if missing else int(db.query("SELECT count(*) AS n FROM rides_replica")["n"].item())


connect.wait_for(lambda: connect.connector_offsets("cdc-source"), what="the source's first stored offset")
stored = connect.connector_offsets("cdc-source")[0]  # in the topic zoomcamp-connect-offsets
print(stored["partition"], "->", sorted(stored["offset"]))
writer = threading.Thread(target=write_rides)
writer.start()
connect.wait_for(lambda: replica_rides() > 0, what="the first rides in rides_replica")
stack.get("connect").kill()  # SIGKILL
at_kill = replica_rides()
started = time.monotonic()
stack.up(["connect"])  # while the writes go on
writer.join()
connect.wait_running("cdc-source"), connect.wait_running("cdc-sink")
connect.wait_for(lambda: differences("rides") == 0, timeout=120, what="rides_replica catching up")
print(f"killed with {at_kill:,} of {len(rows):,} rides in the replica; restarted and caught up in "
      f"{time.monotonic() - started:.0f} s")

# %% [markdown]
# The check does not trust the pipeline: the replica is compared with the rides as pandas has them (plus the
# update, applied here), row by row.

# %%
expected = rows.copy()
expected.loc[(expected["ride_id"] <= 5_000) & (expected["zone"] == 132), "amount"] += 1
got = db.query("SELECT ride_id, pickup, zone, amount FROM rides_replica ORDER BY ride_id")
assert 0 < at_kill < len(rows) and len(got) == len(rows) and got["ride_id"].is_unique
assert got["ride_id"].tolist() == expected["ride_id"].tolist() and got["zone"].tolist() == expected["zone"].tolist()
assert (got["pickup"] == expected["pickup"]).all() and ((got["amount"] - expected["amount"]).abs() < 1e-9).all()
events = streaming.message_count(TOPICS[1])
print(f"{len(got):,} rides in rides_replica, equal to the source; {events:,} events in the topic for "
      f"{len(rows):,} inserts and {int((expected['amount'] != rows['amount']).sum())} updates")

# %% [markdown]
# Nothing was lost: the slot kept the changes made while the worker was down, and the source resumed from the LSN
# in its last flushed offset. Nothing is there twice: events after that offset may have been sent again (the topic can
# hold more events than changes: at least once), and the sink may have re-read messages after its last commit, but
# each one is an upsert (or delete) by primary key, applied in the order of the key's partition, so repeating it
# changes nothing. Connect can also make a source exactly once in the topic (`exactly.once.source.support`, with
# Kafka transactions); the upsert makes it unnecessary here.
#
# ## Clean up
#
# A replication slot nobody reads keeps PostgreSQL's log forever: delete the connectors, drop the slot, and stop the
# worker (its ~400 MB back).

# %%
for name in ("cdc-source", "cdc-sink"):
    connect.delete_connector(name)
assert connect.drop_replication_slot("zoomcamp_cdc")
print(stack.down(["connect"])[0].message)

# %% [markdown]
# ## Summary
#
# - Kafka Connect runs connectors from configuration: sources write topics, sinks read them; converters fix the bytes,
#   offsets live in Kafka, and a restarted worker carries on.
# - Debezium turns PostgreSQL's write-ahead log into change events (`op`, `before`, `after`), through a publication
#   and a replication slot (`wal_level=logical`).
# - The JDBC sink upserts by primary key and applies deletes: at-least-once delivery, exactly-once effect, even after
#   `kill -9`.
# - Write a consumer (notebook 06) when the logic is yours; use Connect when the plumbing is standard.
#
# **Next:** [08 · Kafka Streams](08_kafka_streams.ipynb)

# %%
from zoomcamp import course

course.record("week_6_streaming/07_kafka_connect.ipynb")  # this notebook ran to the end
