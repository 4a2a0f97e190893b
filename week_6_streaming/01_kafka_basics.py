# %% [markdown]
# # 01 · What Kafka is: topics, partitions, offsets, brokers, the log
#
# **What you will learn**
# - a *topic* is a named, append-only log of messages, split into *partitions*; each message gets an *offset*;
# - how a message's *key* decides its partition (and why that keeps each pickup zone's rides in order);
# - that the log is kept for a time (*retention*) or per key (*compaction*), not until someone reads it;
# - what *brokers* and *replication* are, run for real: a 3-broker cluster losing a broker mid-production.
#
# Kafka is a distributed log. Producers append messages to the end of a topic's partitions; consumers read them
# in order, each remembering how far it got (its offset). Reading does not delete anything: ten consumers can
# read the same rides, at their own pace, and a new one can start from the beginning.
#
# **What you need running:** the local stack. The next cell starts it: PostgreSQL and an Apache Kafka broker on
# this machine (or uses the cluster in `kafka_bootstrap`, see the README). The replication section starts a
# 3-broker cluster of its own (about 1 GB of memory for a minute) and stops it at the end.

# %%
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
from kafka.partitioner.default import murmur2

from zoomcamp import stack, streaming
from zoomcamp.exercises import check
from zoomcamp.streaming.cluster import LabCluster

stack.up()
print("Kafka at", streaming.bootstrap_servers())
rides = streaming.load_rides("2021-01")  # January's yellow trips in pickup order: our stream
# The replication section's own 3 brokers take half a minute to start: they start now, in the background.
lab = LabCluster()  # in .zoomcamp/labs/replication
lab_starting = ThreadPoolExecutor(max_workers=1).submit(lab.start)
print(f"{len(rides):,} rides from {rides['tpep_pickup_datetime'].min()} to {rides['tpep_pickup_datetime'].max()}")

# %% [markdown]
# ## A topic with three partitions
#
# `recreate_topic` deletes the topic if it exists and creates it empty, so this notebook gives the same answers on
# every run. A partition is the unit of order and of parallelism: messages in one partition are read in the order
# they were written; different partitions can be read by different consumers at the same time.

# %%
streaming.recreate_topic("rides", partitions=3)
topic = streaming.describe_topic("rides")
pd.DataFrame(topic["partitions"])

# %% [markdown]
# The stack's single broker (id 1) leads every partition and is its only replica. `in_sync` (the ISR) is the set of
# replicas that have every acknowledged message: here just the leader.
#
# ## Producing: the key picks the partition
#
# Each ride is sent as JSON with its pickup zone (`PULocationID`) as the key. The producer hashes the key
# (murmur2, the same function as Kafka's Java client) and takes it modulo the number of partitions: equal keys, same
# partition, in the order they were sent.

# %%
result = streaming.replay(rides, "rides")
print(result)
offsets = streaming.topic_offsets("rides")
offsets

# %% [markdown]
# Check it independently: hash every key ourselves and count rides per partition with pandas.

# %%
keys = rides["PULocationID"].astype(str)
expected_partition = keys.map(lambda k: (murmur2(k.encode()) & 0x7FFFFFFF) % 3)
per_partition = expected_partition.value_counts().sort_index()
assert offsets["messages"].sum() == len(rides) == result.messages
assert offsets.set_index("partition")["messages"].to_dict() == per_partition.to_dict()
ax = offsets.plot.bar(x="partition", y="messages", legend=False, figsize=(5, 2.5), title="Rides per partition")
ax.set_ylabel("messages");

# %% [markdown]
# The partitions are not equal: a few zones (Midtown, the airports) have most rides, and a key always goes to
# the same partition. A "hot" key is a classic reason for an unbalanced topic.
#
# ## Offsets: a position in a partition
#
# Read the topic back (without a consumer group: `read_topic` just reads everything there is). Offsets count
# 0, 1, 2, ... within each partition; a message is identified by (topic, partition, offset).

# %%
log = streaming.read_topic("rides")
log.head()

# %%
for _partition, part in log.groupby("partition"):
    assert part["offset"].tolist() == list(range(len(part)))  # no gaps, in order
pickups = log.assign(zone=log["key"], pickup=log["value"].map(lambda v: v["tpep_pickup_datetime"]))
in_order = pickups.groupby("zone")["pickup"].apply(lambda s: s.is_monotonic_increasing)
assert in_order.all() and pickups.groupby("zone")["partition"].nunique().max() == 1
print(f"{len(in_order)} zones, each in one partition, each zone's rides in pickup order")

# %% [markdown]
# Order holds *per partition*, not across the topic: the first message of partition 2 may be older than the
# last one of partition 0. If two events must stay in order, give them the same key.
#
# ## The log is kept, not consumed: retention
#
# A topic keeps messages for `retention.ms` (7 days by default) measured against each message's *timestamp*, then
# deletes them, read or not. By default the timestamp is the time of sending. Send rides stamped with their 2021
# pickup time instead, into a topic that keeps a week, and the broker deletes them at once: they are years old.

# %%
import time

streaming.recreate_topic("rides-stamped", partitions=1, config={"retention.ms": 7 * 24 * 3600 * 1000})
streaming.replay(rides.head(100), "rides-stamped", event_timestamps=True)
for _ in range(300):  # the broker's retention check runs in the background (at first 30 s after it started)
    kept = streaming.topic_offsets("rides-stamped").iloc[0]
    if kept["messages"] == 0:
        break
    time.sleep(0.2)
assert kept["latest"] == 100 and kept["earliest"] == 100  # 100 written, 0 kept: the log starts after them
kept

# %% [markdown]
# The offsets are not reused: the partition's log now *starts* at 100. Remember this in week 6 whenever you stamp
# replayed rides with their event time: give such topics `retention.ms = -1` (keep forever) or a longer retention.
#
# The other policy is *compaction* (`cleanup.policy=compact`): the broker keeps at least the latest message of every
# key and removes older ones in the background. A compacted topic is a table: the zone lookup of notebook 05 is one.
#
# ## Brokers and replication
#
# A Kafka *cluster* is several brokers. Each partition has a *replication factor* (RF): RF copies on RF brokers.
# One replica is the *leader* (clients write and read there); the *followers* copy it. A producer with `acks=all`
# gets its acknowledgement once every replica in the in-sync set has the message, and the topic's
# `min.insync.replicas` says how small that set may get before writes are refused. When a broker stops, the
# controller makes an in-sync follower the new leader of its partitions: nothing acknowledged is lost.
#
# The stack's broker is one broker: it cannot keep three copies. So start a cluster of three, of its own
# ([`LabCluster`](../shared/zoomcamp/streaming/cluster.py), in `shared/zoomcamp/streaming/cluster.py`):
# another folder (`.zoomcamp/labs/replication`), other ports, its own data. Killing its brokers does not touch
# the stack's broker. Every broker is also a *controller* (KRaft: the brokers elect the metadata quorum among
# themselves, no ZooKeeper); topics get RF 3 and `min.insync.replicas=2` by default. They have been starting since the first cell (half a minute).

# %%
import signal
import threading

from kafka.errors import NotEnoughReplicasError

lab_starting.result()  # the start of the first cell: raises if it failed
print(lab.start().message)  # idempotent: "already running", or starts them again after lab.stop()
described = lab.describe()  # what the cluster says: the controller, the live brokers
print(described)
assert sorted(b["broker_id"] for b in described["brokers"]) == [1, 2, 3] and described["controller_id"] in (1, 2, 3)
lab.brokers()

# %% [markdown]
# A topic with 6 partitions and replication factor 3: every partition has a copy on every broker. The leaders
# are spread over the three brokers; each partition's ISR is all three.

# %%
TOPIC = "rides-replicated"
streaming.recreate_topic(TOPIC, partitions=6, replication_factor=3, settings=lab.settings)
before = lab.leaders(TOPIC)
assert (before["replicas"].map(len) == 3).all() and (before["in_sync"].map(len) == 3).all()
before

# %% [markdown]
# ## A broker dies mid-production
#
# A producer with `acks=all` and idempotence sends rides (key = the ride's number, so we can count them) at a
# steady pace. One second in, the leader of partition 0 is killed with `SIGKILL`: no flush, no goodbye. We record
# every message the producer was told was written (acknowledged).

# %%
messages = [(str(i).encode(), value) for i, (_, value) in enumerate(streaming.ride_messages(rides.head(5000)))]
victim = int(before.loc[0, "leader"])
acked, failed = [], []
producer = streaming.producer(settings=lab.settings, linger_ms=5)  # acks=all, enable_idempotence=True
killer = threading.Timer(1.0, lab.kill, args=[victim])
started = time.monotonic()
killer.start()
for i, (key, value) in enumerate(messages):
    sent = producer.send(TOPIC, key=key, value=value)
    sent.add_callback(lambda _, key=key: acked.append(key))
    sent.add_errback(lambda exc, key=key: failed.append((key, exc)))
    if i % 250 == 0:
        time.sleep(0.1)  # ~2 s of sending: the kill falls in the middle
producer.flush()
killer.join()
producer.close()
print(f"broker {victim} killed; {len(acked):,} of {len(messages):,} acknowledged, {len(failed)} failed, "
      f"all done in {time.monotonic() - started:.1f} s")
assert not lab.brokers().loc[victim, "running"]
after = lab.wait_for_leaders_off(TOPIC, victim)
after

# %% [markdown]
# The producer did not fail: requests to the dead leader were retried until the controller declared the broker
# dead (`broker.session.timeout.ms`, 9 s: the pause you measured) and made an in-sync follower the leader. Every
# partition now has a leader on a live broker and an ISR of two. Was anything acknowledged lost, or written
# twice by the retries? Read the topic back and count:

# %%
stored = streaming.read_topic(TOPIC, decode=None, settings=lab.settings)["key"].value_counts()
acknowledged = pd.Series([k.decode() for k in acked])
assert acknowledged.is_unique and len(acknowledged) == len(messages) and not failed  # every send was written
assert stored.reindex(acknowledged, fill_value=0).eq(1).all()  # every acknowledged ride: there, exactly once
# Nothing twice (idempotence: the broker drops a retried batch it already has), nothing unacknowledged:
assert stored.eq(1).all() and len(stored) == len(acknowledged)
print(f"{len(acknowledged):,} acknowledged rides, each stored exactly once")
leaders = pd.DataFrame({"before": before["leader"].value_counts(), "after": after["leader"].value_counts()})
ax = leaders.reindex([1, 2, 3]).fillna(0).plot.bar(figsize=(5, 2.5), rot=0,
                                                 title=f"Partitions led per broker (broker {victim} killed)")
ax.set_xlabel("broker")
ax.set_ylabel("partitions");

# %% [markdown]
# ## A second broker down: writes are refused
#
# `min.insync.replicas=2`: an `acks=all` write needs two in-sync copies. Stop a second broker (this time
# cleanly, `SIGTERM`: it hands its leaderships over before leaving). One copy is left: the broker still serves
# reads, but refuses writes with `NotEnoughReplicas` rather than acknowledge what a single disk holds. (A
# producer that does not retry, so we see the broker's answer at once; the course's producer would retry for up
# to `delivery.timeout.ms`.)

# %%
second = next(n for n in (1, 2, 3) if n not in (victim, int(after.loc[0, "leader"])))
lab.kill(second, signal.SIGTERM)
print(lab.leaders(TOPIC))
strict = streaming.producer(settings=lab.settings, enable_idempotence=False, retries=0, linger_ms=0)
try:
    strict.send(TOPIC, key=b"one-more", value=b"{}").get(timeout=30)
    refused = None
except NotEnoughReplicasError as exc:
    refused = exc
finally:
    strict.close()
print(f"brokers {victim} and {second} down: {type(refused).__name__}")
assert isinstance(refused, NotEnoughReplicasError)

# %% [markdown]
# ## The brokers come back: the ISR heals
#
# Start both again (same ports, same data). Each fetches what it missed from the leaders and rejoins the ISR.

# %%
started = time.monotonic()
lab.restart(victim, second)
healed = lab.wait_in_sync(TOPIC)
print(f"brokers {victim} and {second} back, every replica in sync after {time.monotonic() - started:.1f} s")
assert (healed["in_sync"].map(len) == 3).all()
healed

# %% [markdown]
# The leaders stay where they moved (Kafka moves them back to the *preferred* replica, the first of `replicas`,
# after a few minutes: `auto.leader.rebalance.enable`). Stop the lab cluster: it is only for this section.
# Its data stays in `.zoomcamp/labs/replication` for the next run.

# %%
print(lab.stop().message)

# %% [markdown]
# With Docker, [docker-compose.yaml](docker-compose.yaml) runs the same kind of cluster in containers (three
# brokers in KRaft mode, RF 3, `min.insync.replicas=2`, a schema registry and a web UI): `docker compose up -d`
# in this folder, then `ZOOMCAMP_KAFKA_BOOTSTRAP=localhost:19092,localhost:29092,localhost:39092` runs the course
# against it; `docker compose kill kafka-2` is the `SIGKILL` above.
#
# ## Exercise 1
#
# In which partition of `rides` are the rides picked up in zone 132 (JFK Airport)? Find out from the topic itself
# (e.g. with `streaming.read_topic`), not from the hash.

# %%
my_answer = None  # a partition number

# %%
expected = int(log.loc[log["key"] == "132", "partition"].iloc[0])
check(my_answer, expected)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = int(streaming.read_topic("rides").query("key == '132'")["partition"].unique()[0])
assert check(solution, expected)

# %% [markdown]
# ## Summary
#
# - A topic is a log split into partitions; offsets number the messages of a partition; order holds per partition.
# - The key chooses the partition, so a key's messages stay in order (and a hot key makes a big partition).
# - Messages are kept by retention (by timestamp) or compaction (per key), whoever has read them.
# - Replication copies each partition to RF brokers; `acks=all` + `min.insync.replicas` decide what "written"
#   means: a killed leader loses nothing acknowledged;
#   one copy left, writes are refused (`NotEnoughReplicas`); restarted brokers catch up and rejoin the ISR.
#
# **Next:** [02 · Producers](02_producer.ipynb)

# %%
from zoomcamp import course

course.record("week_6_streaming/01_kafka_basics.ipynb")  # this notebook ran to the end
