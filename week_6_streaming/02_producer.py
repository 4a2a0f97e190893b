# %% [markdown]
# # 02 · Producers: write one, then the course's: acks, batching, compression, idempotence
#
# **What you will learn**
# - to write a producer yourself with kafka-python: rides as JSON keyed by pickup zone, acknowledgements counted,
#   measured; and where it breaks (a value JSON cannot hold, a broker that does not answer);
# - what the course's producer (`streaming.replay`) adds to it, and that both put the same messages in the topic;
# - what `acks`, `linger.ms`, `batch.size`, `compression.type` and the idempotent producer change;
# - why batching is the biggest lever on throughput, measured: the course's producer against a send-and-flush loop.
#
# **What you need running:** the local stack (the next cell starts it).

# %%
import json
import time
from decimal import Decimal

import matplotlib.pyplot as plt
import pandas as pd
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from zoomcamp import stack, streaming
from zoomcamp.exercises import check

stack.up()
rides = streaming.load_rides("2021-01")  # the month's yellow trips, in pickup order
rides.head(3)


# %% [markdown]
# ## Build it: your own producer
#
# A producer needs three decisions. **The value**: one ride as a JSON object (readable by any consumer, in any
# language). **The key**: the pickup zone, so that Kafka sends all rides of a zone to the same partition and they stay
# in order. **Knowing it arrived**: `send()` only puts the message in a buffer and returns a *future*; the broker's
# acknowledgement completes it later. Count the acknowledgements and the failures, and `flush()` at the end (it waits
# until every buffered message is acknowledged or failed).
#
# JSON has no timestamps and no NaN: write timestamps as ISO text and a missing value as `null`, and refuse anything
# else JSON cannot hold (`allow_nan=False`), rather than write something a consumer then cannot read.

# %%
def to_json(ride: dict) -> bytes:
    """One ride as a JSON object: timestamps as ISO text, a missing value as null."""
    fields = {name: value.isoformat() if isinstance(value, pd.Timestamp) else None if pd.isna(value) else value
              for name, value in ride.items()}
    return json.dumps(fields, allow_nan=False).encode()


def produce(rides: pd.DataFrame, topic: str) -> tuple[int, int, float]:
    """Send every ride to ``topic``, keyed by pickup zone: (acknowledged, failed, seconds)."""
    producer = KafkaProducer(**streaming.client_config())
    acked, failed = [], []
    started = time.perf_counter()
    try:
        for ride in rides.to_dict("records"):
            future = producer.send(topic, key=str(ride["PULocationID"]).encode(), value=to_json(ride))
            future.add_callback(acked.append)  # called with the record's partition and offset
            future.add_errback(failed.append)  # called with the error, once the producer gave up
    finally:
        producer.flush()  # wait until everything sent so far is acknowledged (or failed)
        producer.close()
    return len(acked), len(failed), time.perf_counter() - started


mine = rides.head(20_000)
streaming.recreate_topic("rides-mine", partitions=3)
acked, failed, my_seconds = produce(mine, "rides-mine")
my_rate = acked / my_seconds
print(f"{acked:,} acknowledged, {failed} failed, in {my_seconds:.2f} s: {my_rate:,.0f} messages/s")
assert (acked, failed) == (len(mine), 0) and streaming.message_count("rides-mine") == len(mine)
print(streaming.read_topic("rides-mine", limit=1)["value"][0])

# %% [markdown]
# ### Where it breaks: a value JSON cannot hold
#
# A meter glitch writes an infinite fare; an upstream system hands over an exact `Decimal`. `to_json` refuses both,
# in the loop, and `produce` stops there: the rides before the bad one are in the topic, the rest are not, and running
# it again would send the first ones twice. Decide what happens to bad values before the loop (fix them, or set them
# aside), or make the loop skip and count them.

# %%
broken = mine.head(100).copy()
broken.loc[50, "total_amount"] = float("inf")
streaming.recreate_topic("rides-broken", partitions=3)
try:
    produce(broken, "rides-broken")
    raise AssertionError("an infinite fare went out as JSON?")
except ValueError as exc:
    print("produce stopped:", exc)
try:
    to_json({**mine.iloc[0].to_dict(), "total_amount": Decimal("12.50")})
except TypeError as exc:
    print("and a Decimal:", exc)
assert streaming.message_count("rides-broken") == 50  # half-way: the 50 rides before the bad one

# %% [markdown]
# ### Where it breaks: no broker
#
# `send()` first needs the topic's metadata (which broker leads which partition). With no broker answering it waits
# up to `max_block_ms` (60 s by default; 1 s here), then raises. Once a batch is on its way, a broker that goes down
# is another story, and `acks` decides it:
#
# - `acks=0`: the producer does not wait for an answer; a message sent to a dead broker is lost, and nobody is told;
# - `acks=1`: the partition's leader wrote it; lost if the leader dies before the replicas copied it;
# - `acks="all"`: every in-sync replica has it. A batch without an answer is *retried* until `delivery_timeout_ms`
#   (2 minutes), then its futures fail (our `failed` list). A retry after a lost *answer* sends the batch twice: a
#   duplicate, unless the producer is idempotent (below).

# %%
nowhere = KafkaProducer(bootstrap_servers=["127.0.0.1:1"], api_version=(3, 0), max_block_ms=1000)
started = time.perf_counter()
try:
    nowhere.send("rides-mine", key=b"1", value=b"{}")
    raise AssertionError("sent without a broker?")
except KafkaTimeoutError as exc:
    waited = time.perf_counter() - started
    print(f"after {waited:.1f} s: {exc}")
nowhere.close(timeout=0)
assert 0.9 < waited < 10

# %% [markdown]
# ## The course's producer
#
# [`streaming.replay`](../shared/zoomcamp/streaming/produce.py) (in `shared/zoomcamp/streaming/produce.py`) is the same
# loop, with what it adds:
#
# - **serialization in one pass**: `streaming.ride_messages` turns the whole frame into JSON at once (pandas'
#   `to_json`, NaN as `null`); a `json.dumps` per ride costs more than sending it;
# - **the course's settings** (`streaming.PRODUCER_DEFAULTS`, next sections): `acks="all"`, idempotence, batching,
#   compression;
# - **a delivery check**: an error callback on every future; after `flush()`, `DeliveryError` if any message was not
#   acknowledged, instead of a count to remember to look at;
# - **pacing**: `speedup=` keeps the gaps between pickups (a live feed), and record timestamps can be the pickup times.
#
# Both put the same messages in the topic: the same key in the same partition at the same offset, with the same fields:

# %%
streaming.recreate_topic("rides-course", partitions=3)
course_run = streaming.replay(mine, "rides-course")
print(f"yours: {my_rate:,.0f} messages/s; the course's: {course_run.rate:,.0f} messages/s")
columns = ["partition", "offset", "key", "value"]
yours, theirs = streaming.read_topic("rides-mine")[columns], streaming.read_topic("rides-course")[columns]
assert len(yours) == len(mine) and yours.to_dict("records") == theirs.to_dict("records")
key, value = streaming.ride_messages(rides.head(1))[0]
print("key:  ", key)
print("value:", value.decode())

# %% [markdown]
# ## Replaying at a chosen speed
#
# A live feed sends a ride when it happens. `replay(..., speedup=S)` keeps the gaps between pickups, divided by `S`:
# with `speedup=3600` an hour of rides arrives in a second. Without `speedup` it sends as fast as it can.
#
# Replay the first day's rides so that they take about two seconds, and compare each record's timestamp (the time
# it was sent) with its pickup time.

# %%
first_day = rides[rides["tpep_pickup_datetime"] < "2021-01-02"]
span = (first_day["tpep_pickup_datetime"].iloc[-1] - first_day["tpep_pickup_datetime"].iloc[0]).total_seconds()
speedup = span / 2.0
streaming.recreate_topic("rides-paced", partitions=1)
paced = streaming.replay(first_day, "rides-paced", speedup=speedup)
print(paced)
assert span / speedup - 0.01 <= paced.seconds < span / speedup + 3  # the pacing held, give or take a busy machine

sent = streaming.read_topic("rides-paced")
sent["pickup"] = pd.to_datetime(sent["value"].map(lambda v: v["tpep_pickup_datetime"]))
since_start = (sent["timestamp"] - sent["timestamp"].iloc[0]).dt.total_seconds()
planned = (sent["pickup"] - sent["pickup"].iloc[0]).dt.total_seconds() / speedup
assert len(sent) == len(first_day) and (since_start - planned).abs().median() < 0.1
ax = plt.figure(figsize=(5, 3)).gca()
ax.plot(planned, since_start, ".", markersize=3)
ax.set_xlabel("pickup time / speedup (s)"), ax.set_ylabel("sent at (s)"), ax.set_title(f"{speedup:,.0f}x real time");

# %% [markdown]
# ## What the producer settings do
#
# `producer.send()` does not send: it puts the message in a buffer per partition. A background thread sends a
# partition's *batch* when it is full (`batch_size` bytes) or has waited `linger_ms`. Then:
#
# | setting | what it trades |
# | --- | --- |
# | `acks=0` / `1` / `all` | no wait / the leader has it / every in-sync replica has it: speed against what a crash can lose |
# | `linger_ms`, `batch_size` | a few ms of latency for many messages per request |
# | `compression_type` | CPU for fewer bytes on the network and the disk (batches are compressed whole) |
# | `enable_idempotence` | the broker drops a retried batch it already has (producer id + sequence numbers): retries cannot duplicate |
#
# The course's defaults (`streaming.PRODUCER_DEFAULTS`): `acks=all`, idempotence on, `linger_ms=20`, 256 kB batches,
# zstd. Send every ride with a few settings and read the producer's own metrics:

# %%
streaming.PRODUCER_DEFAULTS

# %%
messages = streaming.ride_messages(rides)
configs = {
    "acks=1, no linger, 16 kB, none": dict(acks=1, enable_idempotence=False, linger_ms=0, batch_size=16384,
                                            compression_type=None),
    "linger 20 ms, 256 kB": dict(acks=1, enable_idempotence=False, compression_type=None),
    "+ gzip": dict(acks=1, enable_idempotence=False, compression_type="gzip"),
    "course: acks=all, idempotent, zstd": {},
}
runs = []
for name, options in configs.items():
    streaming.recreate_topic("rides-settings", partitions=3)
    prod = streaming.producer(**options)
    started = time.perf_counter()
    streaming.send_all(prod, "rides-settings", messages)
    seconds = time.perf_counter() - started
    metrics = prod.metrics()["producer-metrics"]
    prod.close()
    assert streaming.message_count("rides-settings") == len(messages)  # every one arrived, once
    runs.append({"settings": name, "msgs_per_s": len(messages) / seconds,
                 "records_per_request": metrics["records-per-request-avg"],
                 "compressed_size": metrics["compression-rate-avg"]})
runs = pd.DataFrame(runs).set_index("settings")
runs.round(2)

# %% [markdown]
# `records_per_request` is how many messages share one network request; `compressed_size` is the compressed
# batch size as a share of the raw size (1 = no compression). Text-like JSON compresses to a fraction. How much the
# rates differ depends on the machine and on how many cores are busy; the batching effect is the large one.
#
# ## The naive loop: send, then flush, every message
#
# A common first producer waits for each message to be acknowledged before sending the next (`send()` then
# `flush()`, or `send().get()`). Every message then costs a full round trip and travels alone:

# %%
naive_messages = messages[:300]
streaming.recreate_topic("rides-naive", partitions=3)
prod = streaming.producer()
started = time.perf_counter()
for k, v in naive_messages:
    prod.send("rides-naive", key=k, value=v)
    prod.flush()
naive_rate = len(naive_messages) / (time.perf_counter() - started)
prod.close()
assert streaming.message_count("rides-naive") == len(naive_messages)
course_rate = runs.loc["course: acks=all, idempotent, zstd", "msgs_per_s"]
print(f"send+flush per message: {naive_rate:,.0f} msgs/s; course producer: {course_rate:,.0f} msgs/s "
      f"({course_rate / naive_rate:.0f}x)")
assert course_rate > 2 * naive_rate
ax = pd.concat([runs["msgs_per_s"], pd.Series({"send + flush each": naive_rate})]).plot.barh(figsize=(6, 2.5))
ax.set_xlabel("messages per second");

# %% [markdown]
# `bench/stream.py` measures the same on a bigger replay (see the README for figures).
#
# ## Delivery and errors
#
# Your `produce` counts the failed futures; [`streaming.send_all`](../shared/zoomcamp/streaming/produce.py) attaches
# the same error callback to each and, after `flush()`, raises `DeliveryError` if any message was not acknowledged
# after all retries (`delivery_timeout_ms`, 2 minutes). With idempotence, retries are safe: `tests/streaming/test_streaming.py`
# restarts the broker in the middle of a production run and checks that every message is in the topic exactly once.
#
# ## Exercise 2
#
# Extend your own producer: give `produce` a `settings` argument passed on to `KafkaProducer` (e.g. `acks="all"`,
# `linger_ms=20`), send the rides picked up on 15 January 2021 with `acks="all"` into a new topic `rides-15th`
# (3 partitions), and return how many messages the broker acknowledged.

# %%
my_answer = None

# %%
expected = int((rides["tpep_pickup_datetime"].dt.date == pd.Timestamp("2021-01-15").date()).sum())
check(my_answer, expected)


# %% jupyter={"source_hidden": true} tags=["solution"]
def produce_with(rides: pd.DataFrame, topic: str, **settings) -> tuple[int, int]:
    """``produce``, with kafka-python settings: (acknowledged, failed)."""
    producer = KafkaProducer(**streaming.client_config(), **settings)
    acked, failed = [], []
    try:
        for ride in rides.to_dict("records"):
            future = producer.send(topic, key=str(ride["PULocationID"]).encode(), value=to_json(ride))
            future.add_callback(acked.append)
            future.add_errback(failed.append)
    finally:
        producer.flush()
        producer.close()
    return len(acked), len(failed)


streaming.recreate_topic("rides-15th", partitions=3)
day = rides[rides["tpep_pickup_datetime"].dt.strftime("%Y-%m-%d") == "2021-01-15"]
solution, failures = produce_with(day, "rides-15th", acks="all", linger_ms=20)
assert failures == 0 and check(solution, expected) and streaming.message_count("rides-15th") == expected

# %% [markdown]
# ## Summary
#
# - A producer is a loop of `send()` (a buffer and a future) and a `flush()`; count the acknowledgements. A value
#   JSON cannot hold stops the loop half-way; a missing broker blocks `send()` up to `max_block_ms`; `acks` says
#   what a dead broker can lose.
# - The course's `streaming.replay` is that loop with one-pass serialization, safe settings, a delivery check and
#   pacing (`speedup` replays at a multiple of real time); both land the same messages.
# - Throughput comes from batching (`linger_ms`, `batch_size`) and compression; safety from `acks=all` and the
#   idempotent producer. The course's producer has both.
# - Waiting for each message (send + flush) is the slow way: one round trip per message.
#
# **Next:** [03 · Consumers and consumer groups](03_consumer.ipynb)

# %%
from zoomcamp import course

course.record("week_6_streaming/02_producer.ipynb")  # this notebook ran to the end
