# %% [markdown]
# # 03 · Consumers and consumer groups
#
# **What you will learn**
# - how a consumer reads partitions and *commits* its offsets, and how a restart resumes from them;
# - consumer groups: partitions shared out between the members, *rebalancing* when one joins or leaves;
# - at-most-once vs at-least-once, shown with a crash at the wrong moment;
# - seeking: replay from the beginning or from a point in time; *lag*, the work a group has not done yet.
#
# **What you need running:** the local stack (the next cell starts it and fills the topic `rides`).

# %%
import time

import pandas as pd
from kafka import KafkaConsumer, TopicPartition

from zoomcamp import stack, streaming
from zoomcamp.exercises import check

stack.up()
rides = streaming.load_rides("2021-01")
streaming.recreate_topic("rides", partitions=3)
streaming.replay(rides, "rides")
TOTAL = streaming.message_count("rides")
print(f"{TOTAL:,} rides in the topic")


def consumer(group=None, **options):
    """A kafka-python consumer of the course's cluster: manual commits, from the earliest offset when it has none."""
    return KafkaConsumer(**streaming.client_config(), group_id=group, enable_auto_commit=False,
                         auto_offset_reset="earliest", **options)


def read_to_end(c, limit=None):
    """Poll until every assigned partition is read to its end (or ``limit`` messages); returns the records."""
    records = []
    while not c.assignment():
        records += [r for batch in c.poll(200).values() for r in batch]
    ends = c.end_offsets(list(c.assignment()))
    while any(c.position(tp) < ends[tp] for tp in c.assignment()) and (limit is None or len(records) < limit):
        max_records = 500 if limit is None else min(500, limit - len(records))
        records += [r for batch in c.poll(200, max_records=max_records).values() for r in batch]
    return records


# %% [markdown]
# ## One consumer, committed offsets, lag
#
# A consumer in a *group* (`group_id`) gets partitions assigned by the group's coordinator (a broker). After
# processing it *commits* its position: the offset of the next message to read, per partition, stored by Kafka
# in the internal topic `__consumer_offsets`. *Lag* = latest offset − committed offset: what is left to do
# ([`streaming.group_lag`](../shared/zoomcamp/streaming/broker.py) asks the broker for both).

# %%
streaming.forget_group("counter")
before = streaming.group_lag("counter", "rides")
c = consumer("counter")
c.subscribe(["rides"])
records = read_to_end(c)
c.commit()
c.close()
after = streaming.group_lag("counter", "rides")
assert len(records) == TOTAL and before["lag"].sum() == TOTAL and after["lag"].sum() == 0
after

# %% [markdown]
# ## A restart resumes where the commits left off
#
# Read 1,000 rides, commit, stop. A new consumer in the same group starts at the committed offsets.

# %%
streaming.forget_group("resume")
first = consumer("resume")
first.subscribe(["rides"])
done = read_to_end(first, limit=1000)
first.commit()
first.close()
second = consumer("resume")
second.subscribe(["rides"])
rest = read_to_end(second)
second.close()
seen = {(r.partition, r.offset) for r in done} | {(r.partition, r.offset) for r in rest}
assert len(done) == 1000 and len(rest) == TOTAL - 1000 and len(seen) == TOTAL
print(f"first run: {len(done):,}, after the restart: {len(rest):,}, together every ride once")

# %% [markdown]
# ## Consumer groups: sharing partitions, rebalancing
#
# The members of a group split the topic's partitions between them; a partition belongs to one member at a time.
# When a member joins or leaves, the group *rebalances*: partitions are revoked and assigned again. Members take
# part by calling `poll()`, so each of the two members below polls in a thread of its own (as two processes would).

# %%
import threading


class Member(threading.Thread):
    """A consumer of 'rides' in ``group`` that polls until told to stop, then leaves the group."""

    def __init__(self, group="sharing", **options):
        super().__init__(daemon=True)
        self.group, self.options = group, options
        self.assigned, self.stop = [], threading.Event()

    def run(self):
        c = consumer(self.group, **self.options)
        c.subscribe(["rides"])
        while not self.stop.is_set():
            c.poll(100)
            self.assigned = sorted(tp.partition for tp in c.assignment())
        c.close()  # a clean goodbye: the group rebalances at once


def wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the group did not settle"
        time.sleep(0.05)


streaming.forget_group("sharing")
a, b = Member(), Member()
a.start()
wait_for(lambda: a.assigned == [0, 1, 2])
alone = a.assigned
b.start()
wait_for(lambda: a.assigned and b.assigned and sorted(a.assigned + b.assigned) == [0, 1, 2])
shared = [a.assigned, b.assigned]
b.stop.set()
b.join()
wait_for(lambda: a.assigned == [0, 1, 2])
back = a.assigned
a.stop.set()
a.join()
table = pd.DataFrame({"a alone": [alone, None], "b joined": shared, "b left": [back, None]}, index=["a", "b"])
table

# %% [markdown]
# With three partitions, a fourth member of the group would get nothing: partitions are the limit of a group's
# parallelism.
#
# ## A member that crashes
#
# `b` said goodbye (`close()`), so the group rebalanced at once. A member that *crashes* says nothing: the group
# coordinator removes it when it has sent no heartbeat for `session.timeout.ms` (45 s by default; the broker
# accepts 6 s and up, `group.min.session.timeout.ms`), and only then are its partitions given to the others.
# Below, the crashing member is a real process of its own (a few lines of kafka-python), killed with `SIGKILL`:
#

# %%
import signal
import subprocess
import sys

CRASHING = """
import sys
from kafka import KafkaConsumer
c = KafkaConsumer("rides", bootstrap_servers=sys.argv[1].split(","), group_id="crash", enable_auto_commit=False,
                  session_timeout_ms=6000, heartbeat_interval_ms=1000)
while True:
    c.poll(200)
"""
streaming.forget_group("crash")
survivor = Member("crash", session_timeout_ms=6000, heartbeat_interval_ms=1000)
survivor.start()
wait_for(lambda: survivor.assigned == [0, 1, 2])
process = subprocess.Popen([sys.executable, "-c", CRASHING, streaming.bootstrap_servers()])
wait_for(lambda: 0 < len(survivor.assigned) < 3)  # the process joined: it holds the other partitions
with_process = survivor.assigned
process.send_signal(signal.SIGKILL)  # no goodbye, no more heartbeats
process.wait()
killed = time.monotonic()
wait_for(lambda: survivor.assigned == [0, 1, 2])
evicted_after = time.monotonic() - killed
survivor.stop.set()
survivor.join()
print(f"survivor's partitions: {with_process} while the process lived; [0, 1, 2] again {evicted_after:.1f} s "
      "after the SIGKILL")
assert 3 < evicted_after < 30  # about session.timeout.ms (6 s): not at once, and not never


# %% [markdown]
# For those seconds the crashed member's partitions were read by nobody: their lag grew. A shorter
# `session.timeout.ms` notices sooner, but a member that pauses longer (a long garbage collection, a slow network)
# is thrown out for nothing. The course's sink (notebook 06) uses 6 s and *static membership*: a process restarted
# under the same `group.instance.id` takes its place back at once.
#
# ## At-most-once and at-least-once
#
# When you commit decides what a crash does. Process in batches; crash after three batches:
# - commit **after** processing: the batch processed but not committed is processed again → duplicates (at least once);
# - commit **before** processing: the batch committed but not processed is never processed → losses (at most once).

# %%
def run(group, commit_first, crash_after=None):
    """Consume 'rides' in batches of 500 into a list; optionally "crash" (stop without the last commit)."""
    processed, c = [], consumer(group, max_poll_records=500)
    c.subscribe(["rides"])
    batches = 0
    while True:
        records = [r for batch in c.poll(1000).values() for r in batch]
        if not records:
            if c.assignment() and all(c.position(tp) >= end for tp, end in c.end_offsets(list(c.assignment())).items()):
                break
            continue
        batches += 1
        crash = batches == crash_after
        if commit_first:
            c.commit()
        if not (commit_first and crash):
            processed += [(r.partition, r.offset) for r in records]
        if not commit_first and not crash:
            c.commit()
        if crash:
            break
    c.close(autocommit=False)
    return processed


outcomes = {}
for name, commit_first in [("at-least-once", False), ("at-most-once", True)]:
    streaming.forget_group(name)
    processed = run(name, commit_first, crash_after=3) + run(name, commit_first)
    outcomes[name] = {"processed": len(processed), "distinct": len(set(processed)),
                      "duplicates": len(processed) - len(set(processed)), "lost": TOTAL - len(set(processed))}
outcomes = pd.DataFrame(outcomes).T
assert outcomes.loc["at-least-once", "lost"] == 0 and outcomes.loc["at-least-once", "duplicates"] > 0
assert outcomes.loc["at-most-once", "duplicates"] == 0 and outcomes.loc["at-most-once", "lost"] > 0
outcomes

# %% [markdown]
# Kafka's own answer to "exactly once" is transactions (a consume-process-produce loop whose output and offsets
# commit together). When the output is a database, the same effect comes from storing the offsets *in the
# database*, in the transaction that writes the results: notebook 06.
#
# ## Seek: replay from the start or from a point in time
#
# A consumer can move its position: `seek_to_beginning()`, `seek(tp, offset)`, or find the offset of a moment
# with `offsets_for_times()` (the first message whose timestamp is at or after it). For that the timestamps must be
# the pickup times: replay into a topic stamped with event times and kept forever (`retention.ms = -1`, see 01).

# %%
streaming.recreate_topic("rides-by-time", partitions=3, config={"retention.ms": -1})
streaming.replay(rides, "rides-by-time", event_timestamps=True)


def rides_since(moment):
    c = consumer()  # no group: assign partitions by hand, nothing is committed
    parts = [TopicPartition("rides-by-time", p) for p in range(3)]
    c.assign(parts)
    starts = c.offsets_for_times({tp: int(pd.Timestamp(moment).timestamp() * 1000) for tp in parts})
    for tp in parts:
        if starts[tp] is None:  # no message that late in this partition: start at its end
            c.seek_to_end(tp)
        else:
            c.seek(tp, starts[tp].offset)
    records = read_to_end(c)
    c.close()
    return records


since_20th = rides_since("2021-01-20")
expected_20th = int((rides["tpep_pickup_datetime"] >= "2021-01-20").sum())
assert len(since_20th) == expected_20th
print(f"{len(since_20th):,} rides picked up on or after 20 January, as pandas counts")

# %% [markdown]
# ## Lag per partition
#
# A group that read only part of the topic: its lag per partition is what monitoring watches (a growing lag = the
# consumers do not keep up).

# %%
streaming.forget_group("slow")
slow = consumer("slow")
slow.subscribe(["rides"])
slow_records = read_to_end(slow, limit=2000)
slow.commit()
slow.close()
lag = streaming.group_lag("slow", "rides")
assert lag["lag"].sum() == TOTAL - 2000
ax = lag.plot.bar(x="partition", y=["committed", "lag"], stacked=True, figsize=(5, 2.5), title="Group 'slow'")
ax.set_ylabel("messages");

# %% [markdown]
# ## Exercise 3
#
# How many rides in `rides-by-time` were picked up on or after 25 January 2021? Use `offsets_for_times` (as
# `rides_since` does) and count the messages you read.

# %%
my_answer = None

# %%
expected = int((rides["tpep_pickup_datetime"] >= "2021-01-25").sum())
check(my_answer, expected)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = len(rides_since("2021-01-25"))
assert check(solution, expected)

# %% [markdown]
# ## Exercise 4
#
# Group `slow` has read 2,000 rides. Which partition has the largest lag, and how big is it? Answer as a tuple
# `(partition, lag)`.

# %%
my_answer = None

# %%
# From what the group read: each partition's size minus the records read from it.
sizes = streaming.topic_offsets("rides").set_index("partition")["latest"]
read = pd.Series([r.partition for r in slow_records]).value_counts().reindex(sizes.index, fill_value=0)
expected_lag = sizes - read
expected = (int(expected_lag.idxmax()), int(expected_lag.max()))
check(my_answer, expected)

# %% jupyter={"source_hidden": true} tags=["solution"]
lags = streaming.group_lag("slow", "rides").sort_values("lag", ascending=False)
solution = (int(lags.iloc[0]["partition"]), int(lags.iloc[0]["lag"]))
assert check(solution, expected)

# %% [markdown]
# ## Summary
#
# - Committed offsets are a group's position; a restart resumes there; lag = latest − committed.
# - A group splits partitions among its members and rebalances when members come and go.
# - Commit after processing: at least once (duplicates on a crash); before: at most once (losses).
# - `seek` and `offsets_for_times` replay from any point the topic still holds.
#
# **Next:** [04 · Schemas: Avro and a schema registry](04_schemas_avro.ipynb)

# %%
from zoomcamp import course

course.record("week_6_streaming/03_consumer.ipynb")  # this notebook ran to the end
