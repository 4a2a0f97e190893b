# %% [markdown]
# # 11 · Flink into PostgreSQL: an upsert sink, a re-run, a restart
#
# **What you will learn**
# - the course's Flink job, `week_6_streaming/flink/zone_windows.py`: Kafka → tumbling windows per pickup zone →
#   PostgreSQL through the **JDBC connector**, malformed rides to a **dead-letter topic**;
# - why the table has a **primary key** and the sink **upserts** (`INSERT ... ON CONFLICT DO UPDATE`): a job that
#   is stopped and started again, or restarted from a checkpoint, writes some windows twice, and nothing doubles;
# - how to run the job: on a mini-cluster (the script's own process) or submitted to the course's standalone
#   cluster (`--jobmanager`).
#
# **What you need running:** PostgreSQL and Kafka (the next cell starts them). The job runs in Flink's environment
# as a process of its own ([`flink.run_job`](../shared/zoomcamp/streaming/flink.py) starts `.venv-flink/bin/python zone_windows.py ...`).

# %%
import pandas as pd

from zoomcamp import db, stack, streaming
from zoomcamp.settings import project_root
from zoomcamp.streaming import flink

stack.up(["postgres", "kafka"])
rides = streaming.load_rides("2021-01").head(2_000)
first, rest = rides.iloc[:1_200], rides.iloc[1_200:]
streaming.recreate_topic("flink-sink-rides", partitions=3)
streaming.recreate_topic("flink-sink-rides-dlt", partitions=1)
db.execute("DROP TABLE IF EXISTS flink_zone_windows")
streaming.replay(first, "flink-sink-rides")
# Messages that are not rides, one of each kind the job checks: each goes to the dead letters with its reason.
MALFORMED = {b"not json": "not a JSON object",
             b'{"PULocationID": "not a zone"}': "PULocationID: missing or not an integer",
             b'{"PULocationID": 5, "tpep_pickup_datetime": "never", "total_amount": 3}':
                 "tpep_pickup_datetime: missing or not an ISO timestamp"}
prod = streaming.producer()
for body in MALFORMED:
    prod.send("flink-sink-rides", body)
prod.flush()
print(f"{len(first):,} rides + {len(MALFORMED)} malformed messages in flink-sink-rides")

# %% [markdown]
# ## The job
#
# The whole job is four SQL statements: the Kafka source (the body as text, with `event_time` and a watermark),
# a view that parses and checks each ride, the JDBC sink with its primary key, and two `INSERT`s in one *statement
# set* (one job, the topic read once): the windows into PostgreSQL, the malformed rides to the dead-letter topic.

# %%
script = (project_root() / flink.JOB).read_text()
print(script[script.index("    statements = env.create_statement_set()"):script.index("    return statements")])

# %% [markdown]
# The JDBC connector does not create tables: the script creates it first, with the key that makes the writes
# upserts: `PRIMARY KEY (window_start, zone)`. `--bounded` reads up to the topic's end offsets as of the start, then
# the job finishes.

# %%
run = flink.run_job("flink-sink-rides", "flink_zone_windows", window_minutes=15, bounded=True)
print(run.summary)
table = flink.table_windows("flink_zone_windows")
pd.testing.assert_frame_equal(table, flink.expected_windows(first, 15))
assert run.value("rows") == str(len(table))
# Unkeyed, the malformed messages land on any of the 3 partitions, read in any order: so come their letters.
letters = {x["body"]: x["error"] for x in streaming.read_topic("flink-sink-rides-dlt")["value"]}
assert letters == {body.decode(): error for body, error in MALFORMED.items()}
print(f"{len(table):,} rows equal pandas; dead letters:", *letters.items(), sep="\n")

# %% [markdown]
# ## Stopped, more rides, started again
#
# The job stopped at the end of what was there. 800 more rides arrive; the job starts again. It reads the topic
# from the start (its offsets are in checkpoints of the previous run, not reused here), so every window is computed
# again, and the windows of the first run are written a second time. With a plain `INSERT` they would be there
# twice; with the upsert each (window, zone) stays one row, and the windows that the new rides completed get their
# final counts.

# %%
streaming.replay(rest, "flink-sink-rides")
again = flink.run_job("flink-sink-rides", "flink_zone_windows", window_minutes=15, bounded=True)
table = flink.table_windows("flink_zone_windows")
duplicates = db.query("SELECT count(*) - count(DISTINCT (window_start, zone)) AS n FROM flink_zone_windows")
assert int(duplicates.n.iloc[0]) == 0
pd.testing.assert_frame_equal(table, flink.expected_windows(rides, 15))
print(f"{again.summary}\n{len(table):,} rows, no duplicate key, equal to pandas over all {len(rides):,} rides")

# %% [markdown]
# A window can be emitted before *all* its rides arrived, when the watermark passed its end: the job's
# `--watermark-seconds` (60 here) says how out of order rides may come. The first run ended with the topic, so its
# last windows were emitted with the rides it had; the second run overwrote them with the full counts. That is the
# upsert at work too: a late correction replaces the row instead of adding one.
#
# ## Restarting from a checkpoint
#
# On the standalone cluster (`zoomcamp stack up flink`, `--jobmanager 127.0.0.1:<port>`) the job checkpoints every
# 2 s into `<home>/flink/checkpoints/<table>/`. `tests/streaming/test_flink.py` kills the TaskManager in the middle of a live
# job, starts a new one, and checks that the JobManager restored the job from its last checkpoint and that the table
# then equals pandas' count: rides processed after that checkpoint were processed twice, and the upsert made that
# harmless. The same holds when you stop a job with a savepoint and start it from there
# (`flink stop --savepointPath ...`, then `execution.savepoint.path`).

# %% [markdown]
# ## Summary
#
# - `zone_windows.py` reads the rides from Kafka, counts and sums them per zone and 15-minute window in event time,
#   and writes the windows to PostgreSQL through the JDBC connector; malformed rides go to a dead-letter topic.
# - The table's primary key makes the sink upsert: a re-run, a late correction or a restart from a checkpoint
#   rewrites rows, never doubles them.
# - Run it on a mini-cluster (the script's own process) or submit it to `zoomcamp stack up flink`'s cluster and
#   watch it in the web UI.
#
# **Next:** [Week 7 · the project](../week_7_project/README.md)

# %%
from zoomcamp import course

course.record("week_6_streaming/11_flink_upsert_sink.ipynb")  # this notebook ran to the end
