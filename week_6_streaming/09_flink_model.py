# %% [markdown]
# # 09 · Apache Flink: sources, operators, sinks — the model
#
# **What you will learn**
# - Flink's model: a *job* is a graph of **sources → operators → sinks**, cut into parallel **tasks** that run in
#   **task slots** of **TaskManagers**, coordinated by a **JobManager**; **checkpoints** snapshot every operator's
#   state and the sources' offsets together, so a failed job resumes where it was;
# - the two APIs of PyFlink: the **Table API / SQL** (what this course uses) and the **DataStream** API;
# - when to pick Flink over Kafka Streams, Spark Structured Streaming or a Python stream library.
#
# **What you need running:** PostgreSQL and Kafka (the next cell starts them). This notebook runs in the
# **zoomcamp-flink** kernel: PyFlink lives in an environment of its own (`.venv-flink`, created by `make setup`),
# because its pins (py4j, pandas, numpy, pyarrow, apache-beam) cannot share the course's `.venv` with pyspark.

# %%
import pandas as pd

from zoomcamp import stack, streaming
from zoomcamp.streaming import flink

stack.up(["postgres", "kafka"])
rides = streaming.load_rides("2021-01").head(2_000)
streaming.recreate_topic("flink-rides", partitions=3)
streaming.replay(rides, "flink-rides")
print(f"{len(rides):,} rides in topic flink-rides; PyFlink {flink.FLINK_VERSION}")

# %% [markdown]
# ## A mini-cluster in this kernel
#
# [`flink.table_env()`](../shared/zoomcamp/streaming/flink.py) creates a `TableEnvironment`. With no cluster named, PyFlink starts a **mini-cluster**: a
# JobManager and a TaskManager inside one JVM that this Python process talks to (py4j). The course's connector jars
# (Kafka, JDBC, the PostgreSQL driver — `make setup` resolved them from Maven Central) go to every job through
# `pipeline.jars`. A *source* is a table declared with a connector; here Kafka's topic of JSON rides, read up to its
# end offsets as of the start (`bounded`), with an event-time column and a watermark (next notebook).

# %%
env = flink.table_env(parallelism=2)
flink.ride_source(env, "rides", "flink-rides")
print(env.explain_sql("SELECT PULocationID, COUNT(*) AS rides FROM rides GROUP BY PULocationID"))

# %% [markdown]
# The plan reads bottom-up: `TableSourceScan` (the Kafka source), `Calc` (a projection), an `Exchange` by hash of
# `PULocationID` (the shuffle: every ride of a zone goes to the same parallel task), `GroupAggregate` (the operator
# holding one count per zone as *state*). The sink here is the `collect` that brings rows back to Python.
#
# **Parallelism 2**: each operator runs as two tasks. The source tasks share the topic's 3 partitions; the
# aggregate tasks share the zones. The two are connected by the network shuffle, exactly as Spark's stages are
# separated by an exchange, except that in Flink all tasks run at once and records *stream* through them.

# %% [markdown]
# ## The same query in SQL and in the Table API
#
# The Table API is SQL as Python method calls: both compile to the same plan.

# %%
from pyflink.table.expressions import col, lit

# A streaming aggregate emits an update per ride (-U/+U: ~3,800 rows to Python for 2,000 rides). Mini-batches buffer
# up to 1 s of rides and emit one update per zone and batch: the same final rows, for a fraction of the traffic.
env.get_config().set("table.exec.mini-batch.enabled", "true")
env.get_config().set("table.exec.mini-batch.allow-latency", "1 s")
env.get_config().set("table.exec.mini-batch.size", "1000")
by_sql = flink.collect(env, """
    SELECT PULocationID AS zone, COUNT(*) AS rides, SUM(total_amount) AS revenue
    FROM rides GROUP BY PULocationID""")
table = (env.from_path("rides").group_by(col("PULocationID"))
         .select(col("PULocationID").alias("zone"), lit(1).count.alias("rides"),
                 col("total_amount").sum.alias("revenue")))
with table.execute().collect() as results:
    by_api = pd.DataFrame([tuple(r) for r in results], columns=["zone", "rides", "revenue"])


def final(frame):  # a streaming aggregate emits updates; collect() keeps the final row of each zone
    return frame.groupby("zone").last().sort_index()


expected = rides.groupby("PULocationID").agg(rides=("PULocationID", "size"), revenue=("total_amount", "sum"))
for frame in (by_sql, by_api):
    got = final(frame)
    assert got["rides"].tolist() == expected["rides"].tolist()
    assert (got["revenue"].astype(float) - expected["revenue"]).abs().max() < 0.005
print(f"{len(expected)} zones: SQL and Table API both equal pandas")

# %% [markdown]
# **DataStream API.** Below the Table API, PyFlink's `StreamExecutionEnvironment` lets you write operators as
# Python functions (`map`, `key_by`, `process` with timers and keyed state). Python functions run in a separate
# Python worker process next to each task (Apache Beam's harness), so each record crosses the JVM/Python boundary:
# expect it to be several times slower than SQL on the JVM. Pick it for logic SQL cannot say (custom state
# machines, timers); everything in this week fits SQL.
#
# ## Checkpoints
#
# Every few seconds (`execution.checkpointing.interval`) the JobManager injects a *barrier* into each source. When
# it passes an operator, that operator snapshots its state (our counts per zone and window); when every sink has
# seen it, the checkpoint is complete: the Kafka offsets and all state *as of the same point in the stream*. After
# a failure the job restarts from the last complete checkpoint: the sources rewind to its offsets, the operators
# reload its state. Rows a sink wrote after that checkpoint are written again, which is why notebook 11 writes to
# PostgreSQL with an **upsert** on a primary key: writing the same window twice leaves one row.
#
# ## A cluster you can watch
#
# The mini-cluster ends with this kernel. For jobs that outlive a notebook, the course runs a standalone cluster
# (one JobManager with the web UI, one TaskManager with 2 slots), started on demand:
#
# ```bash
# zoomcamp stack up flink      # prints the web UI's URL, e.g. http://127.0.0.1:8081
# .venv-flink/bin/python week_6_streaming/flink/zone_windows.py --topic rides --table zone_windows \
#     --jobmanager 127.0.0.1:8081            # the job runs there; watch it, its checkpoints and restarts in the UI
# zoomcamp stack down flink
# ```

# %%
(status,) = stack.status(["flink"])
print("flink cluster:", status.message)

# %% [markdown]
# ## Which stream processor?
#
# | | Flink | Kafka Streams (notebook 08) | Spark Structured Streaming (notebook 05) | Python library (Quix Streams, notebook 05) |
# |---|---|---|---|---|
# | what it is | a cluster (JobManager + TaskManagers) you submit jobs to | a Java library inside your app | micro-batches on a Spark cluster | a library inside your Python app |
# | latency | per record, milliseconds | per record | a micro-batch (100 ms to seconds) | per record |
# | state | large keyed state (heap or RocksDB), checkpointed to files/S3 | local stores + changelog topics in Kafka | state store per micro-batch, checkpointed | local RocksDB + changelog topics |
# | sources/sinks | many (Kafka, files, JDBC, CDC, Iceberg ...) | Kafka in, Kafka out | many (Kafka, files, Delta ...) | Kafka in, Kafka out (+ sinks) |
# | event time | watermarks, tumbling/hop/session/cumulate windows, late data | windows with grace periods | watermarks, windows (session since 3.2) | windows with grace |
# | SQL | yes (Flink SQL, the main API) | no (ksqlDB is separate) | yes | no |
# | Python | PyFlink: SQL on the JVM fast; Python UDFs via a worker process | no | PySpark | native |
# | ops cost | a cluster to run and upgrade (here 2 JVMs, ~1.5 GB) | none beyond Kafka | a Spark cluster (you may have one) | none |
#
# Choose **Flink** for low-latency, stateful jobs over many sources with event-time semantics and SQL; **Kafka
# Streams** when everything is in Kafka and the team writes Java services; **Spark** when you already run Spark and
# seconds of latency are fine; a **Python library** for small to medium streams owned by a Python team.

# %% [markdown]
# ## Summary
#
# - A Flink job is a graph of sources, operators and sinks, split into parallel tasks that run in the TaskManagers'
#   slots; the JobManager schedules them and takes checkpoints (operator state and source offsets together).
# - PyFlink's Table API / SQL plans the job on the JVM (no Python in the data path); the DataStream API is there for
#   what SQL cannot say. Here both gave what pandas gives.
# - Flink is the choice for low-latency, stateful, event-time jobs over many sources; the table above says when
#   Kafka Streams, Spark or a Python library is the simpler one.
#
# **Next:** [10 · event time, watermarks, tumbling and session windows](10_flink_event_time.ipynb)

# %%
from zoomcamp import course

course.record("week_6_streaming/09_flink_model.ipynb")  # this notebook ran to the end
