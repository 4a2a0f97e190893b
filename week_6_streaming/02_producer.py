# %% [markdown]
# # 02 · Producers: replaying rides, acks, batching, compression, idempotence
#
# **What you will learn**
# - how the course turns trips into messages (JSON keyed by pickup zone) and replays them at a chosen speed;
# - what `acks`, `linger.ms`, `batch.size`, `compression.type` and the idempotent producer change;
# - why batching is the biggest lever on throughput, measured: the course's producer against a send-and-flush loop.
#
# **What you need running:** the local stack (the next cell starts it).

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd

from zoomcamp import stack, streaming
from zoomcamp.exercises import check

stack.up()
rides = streaming.load_rides("2021-01")
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
# `send()` returns a future. `streaming.send_all` attaches an error callback to each and, after `flush()`, raises
# `DeliveryError` if any message was not acknowledged after all retries (`delivery_timeout_ms`, 2 minutes). With
# idempotence, retries are safe: `tests/streaming/test_streaming.py` restarts the broker in the middle of a production run
# and checks that every message is in the topic exactly once.
#
# ## Exercise 2
#
# Replay the rides picked up on 15 January 2021 into a new topic `rides-15th` (3 partitions), then return how many
# messages the topic holds, read from the broker (`streaming.message_count`).

# %%
my_answer = None

# %%
expected = int((rides["tpep_pickup_datetime"].dt.date == pd.Timestamp("2021-01-15").date()).sum())
check(my_answer, expected)

# %% jupyter={"source_hidden": true} tags=["solution"]
streaming.recreate_topic("rides-15th", partitions=3)
day = rides[rides["tpep_pickup_datetime"].dt.strftime("%Y-%m-%d") == "2021-01-15"]
streaming.replay(day, "rides-15th")
solution = streaming.message_count("rides-15th")
assert check(solution, expected)

# %% [markdown]
# ## Summary
#
# - Rides go out as JSON keyed by pickup zone; `speedup` replays them at a multiple of real time.
# - Throughput comes from batching (`linger_ms`, `batch_size`) and compression; safety from `acks=all` and the
#   idempotent producer. The course's producer has both.
# - Waiting for each message (send + flush) is the slow way: one round trip per message.
#
# **Next:** [03 · Consumers and consumer groups](03_consumer.ipynb)

# %%
from zoomcamp import course

course.record("week_6_streaming/02_producer.ipynb")  # this notebook ran to the end
