# %% [markdown]
# # 08 · Kafka Streams: the same windows in a Java app
#
# **What you will learn**
# - what Kafka Streams is: a *library* inside your own JVM application, not a cluster to run; state stores backed
#   by changelog topics; exactly-once processing;
# - a topology that counts rides per pickup zone in tumbling windows of *event time* (the pickup), with a grace
#   period, skipping malformed messages, tested without a broker (`TopologyTestDriver`);
# - building it with Maven offline and running it against the course's broker, checked against pandas;
# - why this course does not run ksqlDB, and when to choose Kafka Streams, Spark, Flink or a Python library.
#
# **What you need running:** the local stack (the next cell starts it). Java 17 and Maven (`make setup` checks
# them and fetched the app's dependencies once; everything below is offline).

# %%
import time

import pandas as pd

from zoomcamp import stack, streaming
from zoomcamp.settings import project_root
from zoomcamp.streaming import kstreams

stack.up()
print("broker:", streaming.bootstrap_servers())

# %% [markdown]
# ## A library, not a cluster
#
# Spark and Flink are clusters you submit jobs to. Kafka Streams is a jar you add to an ordinary Java (or Kotlin,
# Scala) program: the program *is* the stream processor. To scale out you start the same program again with the
# same `application.id`: the instances form a consumer group and share the input partitions (one *task* per
# partition). What a cluster would otherwise provide, Kafka Streams keeps in Kafka:
#
# - **state stores**: our window counts live in a local store, and every change is also written to a
#   *changelog topic* (`<application.id>-rides-per-zone-changelog`). An instance that takes over a partition
#   rebuilds the store from it. The default store is RocksDB on disk; ours is in memory: RocksDB keeps one segment
#   per half of the store's retention *of event time*, and replaying a month of rides in seconds made it open and
#   drop thousands of them (about 30 rides/s; in memory: the whole month in a few seconds). Measure before you pick;
# - **exactly-once** (`processing.guarantee=exactly_once_v2`): the output records, the changelog writes and the
#   input offsets are committed in one Kafka transaction, so a crash neither loses nor double-counts a ride;
# - **event time**: a `TimestampExtractor` gives each record its time (here the pickup), and windows follow it.
#
# The whole topology of `week_6_streaming/java` is one method:

# %%
source = (project_root() / kstreams.TOPOLOGY).read_text()
start = source.index("    public static Topology topology")
print(source[start:source.index("    static String toJson")].rstrip())

# %% [markdown]
# `PickupTimeExtractor` returns the ride's pickup in ms (TLC times read as UTC, as the Python side does). The
# value is parsed by `Ride.parse`; a message that is not a ride throws, and the app's *deserialization exception
# handler* (`SkipMalformedRides`) logs one line, sends the message as it came to a dead-letter topic with the reason
# in a header, and lets the app go on. (Kafka Streams' default handler would stop the app at the first bad message.)
#
# Every change of a count is written to the output, after the record cache (so not one message per ride), keyed by
# zone: the last message for a (zone, window) is its count. `.emitStrategy(EmitStrategy.onWindowClose())` would
# write each window once, when stream time passes its end + grace.
#
# ## Build and test, offline
#
# `make setup` built the project once against Maven Central, which put its dependencies and Maven's plugins into the
# course's Maven repository; from then on `mvn -o` (offline) builds it. The unit tests use `TopologyTestDriver`: the
# topology runs inside the test's JVM, no broker, record by record (window boundaries, a ride within the grace
# period, one beyond it, malformed messages). `make test` runs them (`mvn -o test`); here we only package, and like
# `make` only when the pom or a source file is newer than the jar (`make setup` built one already):

# %%
started = time.perf_counter()
jar = kstreams.build()  # mvn -o -q package -DskipTests, if a source changed since the jar was made
print(f"{jar.relative_to(project_root())} in {time.perf_counter() - started:.1f} s; libraries:",
      ", ".join(sorted(p.name for p in (jar.parent / "lib").glob("*.jar"))))

# %% [markdown]
# ## Run it against the broker
#
# The month's rides go into `rides` (keyed by pickup zone, notebook 02), plus two messages that are not rides. The
# output topic keeps its records forever (`retention.ms = -1`): they carry 2021 timestamps, which the default
# retention would delete at once (notebook 01). The app runs until every message that was in `rides` when it started
# is processed and committed, then stops (`--max-seconds` bounds a run that makes no progress).

# %%
KEEP = {"retention.ms": -1}
rides = streaming.load_rides("2021-01")
streaming.recreate_topic("rides", partitions=3)
streaming.replay(rides, "rides")
producer = streaming.producer()
streaming.send_all(producer, "rides", [(b"1", b"not json"), (b"2", b'{"PULocationID": 2}')])
for name in ("zone-windows", "zone-windows-dlt"):
    streaming.recreate_topic(name, partitions=3, config=KEEP)

run = kstreams.run_streams_app(jar, "rides", "zone-windows", window_minutes=15, grace_minutes=5,
                               application_id="zone-windows", dead_letter_topic="zone-windows-dlt")
print(run)
print("\n".join(line for line in run.log.splitlines() if "SkipMalformedRides" in line))
assert run.processed == len(rides) + 2 and run.skipped == 2

# %% [markdown]
# ([`kstreams.run_streams_app`](../shared/zoomcamp/streaming/kstreams.py) started the jar with these arguments and read
# its log until it had processed every ride.) Each window's last count, against pandas on the same rides (floor each
# pickup to its 15 minutes, count per zone):

# %%
windows = kstreams.read_windows("zone-windows")
got = windows.set_index(["window_start", "zone"])["rides"].sort_index()
pickup = rides["tpep_pickup_datetime"]
expected = rides.groupby([pickup.dt.floor("15min"), "PULocationID"]).size().sort_index()
same = dict(check_names=False, check_index_type=False, check_dtype=False)
pd.testing.assert_series_equal(got, expected, **same)
print(f"{len(windows):,} zone windows, every count as pandas has it")
windows.nlargest(3, "rides")

# %% [markdown]
# Notebook 05 counted the same rides per zone in 1-hour windows with Quix Streams. Four 15-minute windows make an
# hour, so the sums must equal its counts (read from its output topic when notebook 05 ran on this broker, otherwise
# its pandas definition):

# %%
hourly = windows.groupby([windows["window_start"].dt.floor("h"), "zone"])["rides"].sum()
if "zone-hours-tumbling" in streaming.topics():
    quix_out = streaming.read_topic("zone-hours-tumbling")
    frame = pd.DataFrame({"start": pd.to_datetime([v["start"] for v in quix_out["value"]], unit="ms"),
                          "zone": quix_out["key"].astype(int), "rides": [v["value"] for v in quix_out["value"]]})
    python_hours, source = frame.groupby(["start", "zone"])["rides"].last(), "notebook 05's Quix output"
else:
    python_hours, source = rides.groupby([pickup.dt.floor("h"), "PULocationID"]).size(), "notebook 05's definition"
pd.testing.assert_series_equal(hourly.sort_index(), python_hours.sort_index(), **same)
print(f"{len(hourly):,} zone-hours equal to {source}")

# %% [markdown]
# The two malformed messages are in the dead-letter topic, as they came, with the reason:

# %%
dead = streaming.read_topic("zone-windows-dlt", decode=bytes.decode)
print(dead[["key", "value", "headers"]].to_string(index=False))
assert sorted(dead["value"]) == ['not json', '{"PULocationID": 2}']

# %% [markdown]
# And what Kafka Streams created for itself: the changelog of the window store. A windowed changelog is
# compacted (one record per zone and window) *and* deleted after the store's retention:

# %%
internal = [t for t in streaming.topics() if t.startswith("zone-windows-") and t != "zone-windows-dlt"]
print(internal)
changelog = streaming.describe_topic("zone-windows-rides-per-zone-changelog")["config"]
print({k: changelog[k] for k in ("cleanup.policy", "retention.ms")})
assert internal == ["zone-windows-rides-per-zone-changelog"]

# %% [markdown]
# Run the app again with `fresh=False` and it resumes from its committed offsets, with its store restored:
# nothing new in `rides`, nothing to do. `kstreams.reset("zone-windows")` (what `fresh=True` does) deletes the
# group and the internal topics, like Kafka's `kafka-streams-application-reset` tool.
#
# ## ksqlDB: not runnable here
#
# ksqlDB is SQL over topics, built on Kafka Streams: each query becomes a Kafka Streams topology like ours. Its
# server and client are published by Confluent in Confluent's own Maven repository, not on Maven Central, and this
# course installs only from Maven Central, so it cannot run here (it runs in Docker next to the compose cluster).
# The same count would be:
#
# ```sql
# CREATE STREAM rides (PULocationID INT KEY, tpep_pickup_datetime VARCHAR)
#   WITH (KAFKA_TOPIC='rides', VALUE_FORMAT='JSON', TIMESTAMP='tpep_pickup_datetime',
#         TIMESTAMP_FORMAT='yyyy-MM-dd''T''HH:mm:ss');
# CREATE TABLE zone_windows AS
#   SELECT PULocationID AS zone, WINDOWSTART AS window_start, COUNT(*) AS rides
#   FROM rides WINDOW TUMBLING (SIZE 15 MINUTES, GRACE PERIOD 5 MINUTES)
#   GROUP BY PULocationID EMIT CHANGES;
# ```
#
# The runnable equivalents: Kafka Streams (this notebook: what ksqlDB compiles that to) and Flink SQL, whose
# `TUMBLE(TABLE rides, DESCRIPTOR(pickup), INTERVAL '15' MINUTES)` is the same query on Apache Flink (on Maven
# Central). ksqlDB is under the Confluent Community License, not Apache 2.0.
#
# ## Which one when
#
# | | Kafka Streams | Spark Structured Streaming | Flink | Python (Quix Streams, ...) |
# | --- | --- | --- | --- | --- |
# | what you run | your JVM app; scale = more instances | jobs on a Spark cluster | jobs on a Flink cluster | your Python process; scale = more processes |
# | sources and sinks | Kafka in, Kafka out (Connect for the rest) | many (files, Kafka, tables) | many | Kafka in and out (sinks for some) |
# | state and recovery | RocksDB + changelog topics | checkpoints in a file system | RocksDB + checkpoints (savepoints) | RocksDB + changelog topics |
# | latency | per record | micro-batches (seconds) | per record | per record |
# | pick it when | the team writes JVM services and the data lives in Kafka | you already run Spark, batch and streaming share code | large stateful jobs, event-time joins, SQL on streams | the team writes Python and volumes fit a few processes |
#
# All four do event-time windows, grace/watermarks and exactly-once (end to end when the output is Kafka or an
# idempotent sink). Kafka Streams needs no cluster beyond Kafka itself; that is its main appeal and its limit.
#
# ## Summary
#
# - Kafka Streams is a library: the app is the processor, instances share partitions as a consumer group.
# - State lives in local stores backed by changelog topics; `exactly_once_v2` commits outputs, state and offsets
#   together.
# - A `TimestampExtractor` gives event time; `TimeWindows.ofSizeAndGrace` windows it; rides later than the grace
#   are dropped and counted (`dropped-records-total`).
# - A deserialization exception handler decides what a malformed message does: here, skipped and dead-lettered.
# - `TopologyTestDriver` tests a topology without a broker; `mvn -o` builds it offline after `make setup`.
#
# **Next:** [09 · Apache Flink: sources, operators, sinks](09_flink_model.ipynb)
#

# %%
from zoomcamp import course

course.record("week_6_streaming/08_kafka_streams.ipynb")  # this notebook ran to the end
