# %% [markdown]
# # 05 · Stream processing: windows, late data, a stream–table join (Quix Streams and Spark)
#
# **What you will learn**
# - event time vs processing time, and counting rides per pickup zone in *tumbling* and *hopping* windows;
# - late data, *grace* periods and *watermarks*: when a window is final and what happens to a ride that arrives
#   after that;
# - a stream–table join: rides enriched with their zone's borough from a compacted `zones` topic, written to an
#   output topic;
# - the same windowed count in Spark Structured Streaming, read from Kafka and written back to it with Spark's
#   own Kafka source and sink.
#
# The stream processor here is **Quix Streams**, a Python library that runs on the Kafka protocol (consumer
# groups, changelog topics for its state, transactions for exactly-once), so it works against the course's broker
# as against a real cluster. (Faust, the other common Python choice, is no longer maintained by its authors; a
# community fork exists.)
#
# **What you need running:** the local stack (the next cell starts it). Spark needs Java 17+ (`zoomcamp doctor`).

# %%
import json
import time

import pandas as pd

from zoomcamp import datasets, stack, streaming
from zoomcamp.exercises import check
from zoomcamp.streaming import quix

stack.up()
rides = streaming.load_rides("2021-01")
streaming.recreate_topic("rides", partitions=3)
streaming.replay(rides, "rides")
pickup = rides["tpep_pickup_datetime"]
print(f"{len(rides):,} rides in 'rides'")

# %% [markdown]
# ## Event time
#
# The records' own timestamps are the times they were *sent* (processing time): the whole month arrived in a
# second. What we want to count by is when the ride *happened*, the pickup time in the message (event time). Quix
# takes it from a `timestamp_extractor`; every window then follows event time.
#
# Window results carry timestamps from 2021: output topics keep them forever (`retention.ms = -1`), otherwise the
# broker would delete them at once (notebook 01).

# %%
KEEP = {"retention.ms": -1}
for name in ("zone-hours-tumbling", "zone-hours-hopping"):
    streaming.recreate_topic(name, partitions=3, config=KEEP)

app = quix.application("zone-windows")  # fresh: no offsets or window state left from an earlier run
rides_topic = app.topic("rides", value_deserializer="json", timestamp_extractor=quix.pickup_time)
sdf = app.dataframe(rides_topic)
# Tumbling: back-to-back 1-hour windows; .current() emits the running count after every ride.
sdf.tumbling_window(duration_ms=3_600_000).count().current().to_topic(
    app.topic("zone-hours-tumbling", value_serializer="json"))
# Hopping: 1-hour windows starting every 15 minutes (each ride counts in 4 of them); .final() emits a window once,
# when it is closed.
sdf.hopping_window(duration_ms=3_600_000, step_ms=900_000).count().final().to_topic(
    app.topic("zone-hours-hopping", value_serializer="json"))
started = time.perf_counter()
app.run(timeout=2)  # stop once no message came for 2 s
print(f"processed in {time.perf_counter() - started:.1f} s (including the 2 s wait)")


# %% [markdown]
# Each output message is keyed by the zone and holds `{"start", "end", "value"}`. The last `current()` update of
# a window is its count; check every one against pandas:

# %%
def windows(topic):
    out = streaming.read_topic(topic)
    frame = pd.DataFrame(list(out["value"]))
    frame["zone"] = out["key"].astype(int)
    frame["start"] = pd.to_datetime(frame["start"], unit="ms")
    return frame


tumbling = windows("zone-hours-tumbling").groupby(["zone", "start"])["value"].last()
expected = rides.groupby(["PULocationID", pickup.dt.floor("h")]).size()
expected.index.names = ["zone", "start"]
same = dict(check_names=False, check_index_type=False, check_dtype=False)  # Int64 vs int64 is no difference here
pd.testing.assert_series_equal(tumbling.sort_index(), expected.sort_index(), **same)
print(f"{len(tumbling):,} zone-hours, every count as pandas has it")
busiest = tumbling.groupby("zone").sum().nlargest(3).index
ax = tumbling.loc[list(busiest)].unstack("zone").resample("D").sum().plot(figsize=(8, 3), title="Rides per day, "
                                                                                             "busiest 3 zones")
ax.set_xlabel("");

# %% [markdown]
# The hopping windows were emitted with `.final()`: only once closed, so the last hours of each partition are not
# there yet (nothing later has arrived to close them). Every emitted count must match pandas' count of the
# zone's rides in `[start, start + 1 h)`:

# %%
hopping = windows("zone-hours-hopping")
assert len(hopping) == len(hopping.drop_duplicates(["zone", "start"]))  # final: one message per window
for window in hopping.sample(min(300, len(hopping)), random_state=1).itertuples():
    in_window = (rides["PULocationID"] == window.zone) & pickup.between(
        window.start, window.start + pd.Timedelta("1h"), inclusive="left")
    assert in_window.sum() == window.value
print(f"{len(hopping):,} closed hopping windows, the last ends at {pd.to_datetime(hopping['end'], unit='ms').max()}")

# %% [markdown]
# ## Late data, grace and watermarks
#
# A window over event time can only be *final* when no more of its rides will come. Quix closes a window once the
# stream has seen an event time later than the window's end plus a **grace** period; a ride older than that
# arrives *late* and is dropped (the `on_late` callback sees it). In Spark's words: the **watermark** is
# "latest event time seen − allowed lateness", and windows that end before it are final.
#
# Four rides of zone 1, the third one out of order (it arrived after an 11:10 ride), then a ride at 13:00 that
# closes the windows:

# %%
events = ["2021-01-01T10:05:00", "2021-01-01T10:20:00", "2021-01-01T11:10:00", "2021-01-01T10:30:00",
          "2021-01-01T13:00:00"]
streaming.recreate_topic("late-rides", partitions=1)
producer = streaming.producer()
streaming.send_all(producer, "late-rides", [(b"1", json.dumps({"tpep_pickup_datetime": t}).encode()) for t in events])


def count_with_grace(grace_minutes):
    name = f"late-counts-{grace_minutes}"
    streaming.recreate_topic(name, partitions=1, config=KEEP)
    late = []
    app = quix.application(f"late-{grace_minutes}")
    sdf = app.dataframe(app.topic("late-rides", value_deserializer="json", timestamp_extractor=quix.pickup_time))
    sdf.tumbling_window(3_600_000, grace_ms=grace_minutes * 60_000,
                        on_late=lambda value, *_: late.append(value["tpep_pickup_datetime"]) and False
                        ).count().final().to_topic(app.topic(name, value_serializer="json"))
    app.run(timeout=1.5)
    counts = {pd.Timestamp(v["start"], unit="ms").strftime("%H:%M"): v["value"] for v in streaming.read_topic(name)["value"]}
    return counts, late


no_grace, dropped = count_with_grace(0)
with_grace, dropped_with_grace = count_with_grace(45)
print("grace 0 min: ", no_grace, "late:", dropped)
print("grace 45 min:", with_grace, "late:", dropped_with_grace)
assert no_grace == {"10:00": 2, "11:00": 1} and dropped == ["2021-01-01T10:30:00"]
assert with_grace == {"10:00": 3, "11:00": 1} and dropped_with_grace == []

# %% [markdown]
# Without grace, the 11:10 ride closed the 10:00–11:00 window (count 2) and the 10:30 ride came too late. With 45
# minutes of grace the window stayed open until the stream passed 11:45, so the late ride counted. Grace trades
# latency (results come later) for completeness.
#
# ## A stream–table join: rides + zones
#
# The zone lookup is a *table*: one current value per zone. In Kafka a table is a compacted topic keyed by the
# table's key. Quix's `join_asof` keeps the right side (zones) in its state store and enriches every left record
# (a ride) with the latest zone record for the same key at or before the ride's time. Both topics need the same
# number of partitions and the same partitioner, so that zone 132's ride and zone 132's record meet in the
# same partition.
#
# The table is loaded first (as it would be in production: it exists before the rides flow), then the rides go
# through. The zone records are stamped 2020-01-01, "valid since".

# %%
zones = datasets.read_csv(datasets.zones_file())
streaming.recreate_topic("zones", partitions=3, config={"cleanup.policy": "compact"})
streaming.recreate_topic("rides-to-enrich", partitions=3)
streaming.recreate_topic("rides-enriched", partitions=3, config=KEEP)
valid_since = int(pd.Timestamp("2020-01-01").timestamp() * 1000)
streaming.send_all(producer, "zones", [(str(z.LocationID).encode(), json.dumps({"Borough": z.Borough, "Zone": z.Zone})
                                        .encode()) for z in zones.itertuples()], timestamps_ms=[valid_since] * len(zones))


def enrichment(fresh):
    app = quix.application("enrich", fresh=fresh)
    left = app.dataframe(app.topic("rides-to-enrich", value_deserializer="json", timestamp_extractor=quix.pickup_time))
    right = app.dataframe(app.topic("zones", value_deserializer="json"))
    left.join_asof(right, how="left", on_merge="keep-left").to_topic(
        app.topic("rides-enriched", value_serializer="json"))
    return app


enrichment(fresh=True).run(timeout=1.5)  # 1. the table: zones into the state store
streaming.replay(rides, "rides-to-enrich")
enrichment(fresh=False).run(timeout=1.5)  # 2. the stream, same group and state
enriched = pd.DataFrame(list(streaming.read_topic("rides-enriched")["value"]))
reference = rides.merge(zones, left_on="PULocationID", right_on="LocationID", how="left")
assert len(enriched) == len(rides)
assert enriched["Borough"].value_counts().to_dict() == reference["Borough"].value_counts().to_dict()
enriched.groupby("Borough").agg(rides=("PULocationID", "size"), revenue=("total_amount", "sum")).round(2)

# %% [markdown]
# ## The same windows in Spark Structured Streaming
#
# Spark reads and writes Kafka through its own connector, `spark-sql-kafka-0-10`. It is not part of pyspark:
# `make setup` downloaded it once from Maven Central with the course's other JVM artifacts (the `spark-kafka`
# bundle in `shared/jvm/pom.xml`, the same version as pyspark, since the connector is built against Spark's
# internals), and `streaming.spark.spark_session()` puts those local jars on Spark's class path (`spark.jars`).
# Nothing is downloaded when Spark starts.
#
# The query, step by step:
# - `readStream.format("kafka")` (`kafka_spark.read_stream`): one row per message, with `key` and `value` as bytes,
#   `topic`, `partition`, `offset` and `timestamp`;
# - `from_json` parses the value with a schema (just the two fields the count needs);
# - `withWatermark` + `window`: rides per pickup zone and event-time hour, each window final once the watermark
#   passes its end;
# - `writeStream.format("kafka")` (`kafka_spark.write_stream`): each final window to the `spark-zone-hours` topic,
#   keyed by zone, as JSON.
#
# `trigger(availableNow=True)` processes what is in the topic now and stops: a bounded run of a streaming query.
# A service would run the same query with the default trigger, forever.

# %%
from pyspark.sql import functions as F
from pyspark.sql import types as T

from zoomcamp.streaming import spark as kafka_spark

spark = kafka_spark.spark_session(cores=1)
ride_schema = T.StructType([T.StructField("tpep_pickup_datetime", T.StringType()),
                            T.StructField("PULocationID", T.IntegerType())])
parsed = (kafka_spark.read_stream(spark, "rides")  # from the earliest offset
          .select(F.from_json(F.col("value").cast("string"), ride_schema).alias("ride"))
          .select(F.to_timestamp("ride.tpep_pickup_datetime").alias("pickup"), F.col("ride.PULocationID").alias("zone")))
counts = (parsed.withWatermark("pickup", "30 minutes")  # windows ending 30 min before the latest pickup are final
          .groupBy(F.window("pickup", "1 hour"), "zone").count())
# The Kafka sink writes a `value` column (and `key`, if there is one): the zone as key, the window as JSON.
out = counts.select(F.col("zone").cast("string").alias("key"),
                    F.to_json(F.struct(F.col("window.start").alias("start"), "zone", "count")).alias("value"))
streaming.recreate_topic("spark-zone-hours", partitions=3, config=KEEP)
query = (kafka_spark.write_stream(out, "spark-zone-hours", kafka_spark.checkpoint("spark-zone-hours"))
         .outputMode("append").trigger(availableNow=True).start())
query.awaitTermination()
watermark = pd.Timestamp(query.lastProgress["eventTime"]["watermark"]).tz_localize(None)
pd.DataFrame([{"batch": p["batchId"], "rides read": p["numInputRows"], "windows written": p["sink"]["numOutputRows"],
               "watermark after": p["eventTime"]["watermark"]} for p in query.recentProgress])

# %%
# What Spark wrote, read back with kafka-python, against pandas on the same rides.
spark_counts = pd.DataFrame(list(streaming.read_topic("spark-zone-hours")["value"]))
spark_counts["start"] = pd.to_datetime(spark_counts["start"]).dt.tz_localize(None)
assert watermark == pickup.max() - pd.Timedelta("30min")
closed = expected[expected.index.get_level_values("start") + pd.Timedelta("1h") <= watermark]
got = spark_counts.set_index(["zone", "start"])["count"].sort_index()
pd.testing.assert_series_equal(got, closed.sort_index(), **same)  # exactly the closed windows, pandas' counts
print(f"watermark {watermark}: {len(got):,} final windows in 'spark-zone-hours', every count as pandas has it")
spark.stop()

# %% [markdown]
# In `append` mode Spark writes a window once, when the watermark has passed its end. Batch 0 read every ride
# and wrote nothing (the watermark only moves at the end of a batch); batch 1 read nothing new, ran because the
# watermark had moved, and wrote the closed windows. `update` mode would write every change; `complete`
# rewrites the whole table each batch.
#
# The checkpoint folder holds the query's offsets and window state: started again on the same folder, the
# query goes on where it stopped (each window still written once). `kafka_spark.checkpoint()` empties it, so
# this notebook starts over on every run.
#
# ## Exercise 7
#
# Using the tumbling-window output (`zone-hours-tumbling`), which pickup zone had the busiest single hour of the
# month, and how many rides did it have? Answer as a tuple `(zone, rides)`; on a tie, the smallest zone id.

# %%
my_answer = None

# %%
peak = expected.reset_index(name="rides").sort_values(["rides", "zone"], ascending=[False, True]).iloc[0]
expected_peak = (int(peak["zone"]), int(peak["rides"]))
check(my_answer, expected_peak)

# %% jupyter={"source_hidden": true} tags=["solution"]
last = windows("zone-hours-tumbling").groupby(["zone", "start"])["value"].last().reset_index()
top = last.sort_values(["value", "zone"], ascending=[False, True]).iloc[0]
solution = (int(top["zone"]), int(top["value"]))
assert check(solution, expected_peak)

# %% [markdown]
# ## Summary
#
# - Window by event time (the pickup), not by when a message arrived.
# - Tumbling windows partition time; hopping windows overlap; `current()` gives running results, `final()` one
#   result per closed window.
# - Grace / watermark = how long to wait for late data; later rides are dropped (and can be counted).
# - A compacted topic is a table; `join_asof` enriches a stream with it, partition by partition.
# - Spark does the same with `withWatermark` + `window`, reading and writing Kafka with its own `kafka` source
#   and sink; `trigger(availableNow=True)` runs a streaming query on what is there and stops.
#
# **Next:** [06 · Sink to PostgreSQL with an exactly-once effect](06_sink_postgres.ipynb)

# %%
from zoomcamp import course

course.record("week_6_streaming/05_stream_processing.ipynb")  # this notebook ran to the end
