# %% [markdown]
# # 06 · RDDs
#
# **What you will learn**
# - what an **RDD** (resilient distributed dataset) is, and how it sits under DataFrames;
# - `map`, `filter` and `reduceByKey` — the revenue per hour and zone computed the low-level way — and why
#   `reduceByKey` beats `groupByKey`;
# - lineage: how Spark recomputes a lost partition;
# - `mapPartitions` for **batch model scoring**: load (or ship) a model once per partition, not once per row — and its
#   DataFrame form, `mapInPandas`.
#
# **What you need running:** Java 17+. The next cell starts Spark in this notebook.

# %%
from datetime import datetime

import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from zoomcamp import datasets
from zoomcamp import spark as zspark
from zoomcamp.exercises import check

spark = zspark.session("06_rdds")
sc = spark.sparkContext  # the RDD API lives on the SparkContext
path = datasets.trip_file("green", "2021-01")
trips = zspark.read_trips(spark, "green", str(path)).repartition(4)
pandas_trips = datasets.read_csv(path)
print(f"{len(pandas_trips):,} green trips")

# %% [markdown]
# ## What an RDD is
#
# An RDD is a collection split into **partitions**, each processed by one task, plus the **lineage** — the chain of
# functions that produced it from its source. It is Spark's original API and still what runs underneath: a DataFrame
# plan is compiled into RDD operations. The difference is what Spark knows: an RDD's elements are opaque Python
# objects and its functions are opaque Python code, so Spark cannot prune columns, push filters or pick a join for
# you; a DataFrame's columns and expressions it understands. Use DataFrames by default; RDDs when the work is naturally
# "apply this Python function to these records".
#
# `DataFrame.rdd` gives the rows as an RDD of `Row` objects:

# %%
rdd = trips.select("lpep_pickup_datetime", "PULocationID", "total_amount").rdd.cache()  # kept in memory once computed
assert rdd.count() == len(pandas_trips)
print(rdd.getNumPartitions(), "partitions;", rdd.take(2))

# %% [markdown]
# ## map, filter, reduceByKey
#
# Revenue and trips per hour and pickup zone, in January 2021 (the original course's RDD example):
#
# - `filter` keeps the rows of the month;
# - `map` turns each row into a **key-value pair**: key `(hour, zone)`, value `(amount, 1)`;
# - `reduceByKey` adds the values of each key: first inside each partition, then across partitions after a shuffle;
# - a last `map` unpacks the pairs into rows for a DataFrame.

# %%
start, end = datetime(2021, 1, 1), datetime(2021, 2, 1)


def keyed(row):
    hour = row.lpep_pickup_datetime.replace(minute=0, second=0)
    return (hour, row.PULocationID), (row.total_amount, 1)


def add(left, right):
    return left[0] + right[0], left[1] + right[1]


revenue_rdd = (rdd.filter(lambda row: start <= row.lpep_pickup_datetime < end)
               .map(keyed)
               .reduceByKey(add)
               .map(lambda kv: (kv[0][0], kv[0][1], round(kv[1][0], 2), kv[1][1])))
revenue = revenue_rdd.toDF(["hour", "zone", "revenue", "trips"]).toPandas()

in_month = pandas_trips[pandas_trips["lpep_pickup_datetime"].between(start, end, inclusive="left")]
expected = (in_month.groupby([in_month["lpep_pickup_datetime"].dt.floor("h"), "PULocationID"])
            .agg(revenue=("total_amount", "sum"), trips=("total_amount", "size"))
            .rename_axis(["hour", "zone"]))
assert len(revenue) == len(expected) and revenue["trips"].sum() == len(in_month)
joined = revenue.set_index(["hour", "zone"]).join(expected, rsuffix="_pandas")
assert (joined["revenue"] - joined["revenue_pandas"]).abs().max() < 0.01 and (joined["trips"] == joined["trips_pandas"]).all()
revenue.sort_values("revenue", ascending=False).head()

# %% [markdown]
# The DataFrame version is one line, and Spark can optimize it (it reads three columns of the file, not all of them):

# %%
dataframe_way = (trips.where((F.col("lpep_pickup_datetime") >= start) & (F.col("lpep_pickup_datetime") < end))
                 .groupBy(F.date_trunc("hour", "lpep_pickup_datetime").alias("hour"), F.col("PULocationID").alias("zone"))
                 .agg(F.round(F.sum("total_amount"), 2).alias("revenue"), F.count("*").alias("trips")))
assert dataframe_way.count() == len(revenue)

# %% [markdown]
# ## reduceByKey, not groupByKey
#
# `groupByKey` collects *all* the values of a key in one place before you reduce them; `reduceByKey` reduces inside each
# partition first (like a DataFrame's partial aggregation) and shuffles one value per key per partition. Measured on the
# revenue per zone:

# %%
pairs = rdd.map(lambda row: (row.PULocationID, (row.total_amount, 1)))
with zspark.measure(spark, "reduceByKey") as reduced:
    by_reduce = dict(pairs.reduceByKey(add).collect())
with zspark.measure(spark, "groupByKey") as grouped:
    by_group = dict(pairs.groupByKey().mapValues(lambda values: (sum(v[0] for v in values), len(values))).collect())
assert by_reduce.keys() == by_group.keys()
assert all(abs(by_reduce[k][0] - by_group[k][0]) < 1e-6 and by_reduce[k][1] == by_group[k][1] for k in by_reduce)
shuffled = {m.label: int(m.stages["shuffle_write_bytes"].sum()) for m in (reduced, grouped)}
assert shuffled["reduceByKey"] < shuffled["groupByKey"] / 2
pd.Series(shuffled, name="bytes shuffled")

# %% [markdown]
# `groupByKey` shuffled every trip's value; `reduceByKey` one partial sum per zone and partition. (Bytes, not
# records: PySpark ships an RDD's pairs to the JVM as pickled batches, so the UI's "records" of a Python RDD shuffle
# count batches.) On a real month (millions
# of trips, a few hundred zones) that is millions of values against a thousand — and the values of a busy zone must all
# fit in one task's memory.
#
# ## Lineage: why "resilient"
#
# An RDD remembers how it was made. `toDebugString()` prints the lineage; the indentation steps are shuffles (stage
# boundaries). If an executor dies, Spark recomputes only the lost partitions from this recipe — no replication of the
# data needed.

# %%
lineage = revenue_rdd.toDebugString().decode()
print(lineage)
assert "ShuffledRDD" in lineage or "PythonRDD" in lineage

# %% [markdown]
# ## mapPartitions: batch scoring with a model
#
# A typical job: score every trip with a model. The costly parts of scoring are loading the model and calling it;
# `map` calls your function once per **row**, `mapPartitions` once per **partition**, with an iterator over its rows:
# load once, predict a whole batch in one vectorized call, yield the results.
#
# The "model" here predicts a trip's duration (minutes) from its distance and pickup hour, fitted by least squares on
# the month in pandas — a stand-in for anything you would load from a file (scikit-learn, XGBoost, ONNX). It is
# **broadcast**: shipped once to each executor, not with every task.

# %%
minutes = (pandas_trips["lpep_dropoff_datetime"] - pandas_trips["lpep_pickup_datetime"]).dt.total_seconds() / 60
sane = (minutes > 0) & (minutes < 180)


def features(distance, hour):
    return np.column_stack([np.ones(len(distance)), distance, np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)])


X = features(pandas_trips.loc[sane, "trip_distance"].to_numpy(), pandas_trips.loc[sane, "lpep_pickup_datetime"].dt.hour.to_numpy())
coefficients, *_ = np.linalg.lstsq(X, minutes[sane].to_numpy(), rcond=None)
model = sc.broadcast(coefficients)  # every executor gets one copy
print("minutes ~ " + " + ".join(f"{c:.2f}*{name}" for c, name in zip(coefficients, ["1", "distance", "sin(hour)", "cos(hour)"], strict=True)))

# %%
calls = sc.accumulator(0)  # counts model calls across all executors


def score_partition(rows):
    """One model call per partition: all the partition's rows as one batch."""
    batch = pd.DataFrame(list(rows), columns=["key", "distance", "hour"])
    if batch.empty:
        return
    calls.add(1)
    predicted = features(batch["distance"].to_numpy(), batch["hour"].to_numpy()) @ model.value
    yield from zip(batch["key"], predicted.round(2))


to_score = (trips.withColumn("key", F.monotonically_increasing_id())
            .select("key", "trip_distance", F.hour("lpep_pickup_datetime").alias("hour")).cache())
scored = to_score.rdd.map(tuple).mapPartitions(score_partition).collect()
print(f"{len(scored):,} trips scored with {calls.value} model calls ({to_score.rdd.getNumPartitions()} partitions)")
assert len(scored) == len(pandas_trips) and calls.value <= to_score.rdd.getNumPartitions()

# %% [markdown]
# Four calls for all the trips; `rdd.map(score_one_row)` would have made one call per trip. Check the predictions
# against the same model applied to the whole pandas frame:

# %%
scores = pd.DataFrame(scored, columns=["key", "predicted"]).merge(to_score.toPandas(), on="key")
direct = (features(scores["trip_distance"].to_numpy(), scores["hour"].to_numpy()) @ coefficients).round(2)
assert np.allclose(scores["predicted"], direct)
scores.sample(3, random_state=1)


# %% [markdown]
# ## The DataFrame form: mapInPandas
#
# `DataFrame.mapInPandas(fn, schema)` is the same pattern without leaving DataFrames: `fn` receives an iterator of pandas
# DataFrames (Arrow batches of a partition) and yields pandas DataFrames. It is the usual way to score a model with
# Spark today (and `pandas_udf` for one column in, one column out):

# %%
def score_batches(batches):
    for batch in batches:
        yield batch.assign(predicted=(features(batch["trip_distance"].to_numpy(), batch["hour"].to_numpy())
                                      @ model.value).round(2))


with_predictions = to_score.mapInPandas(score_batches, schema="key long, trip_distance double, hour int, predicted double")
in_pandas = with_predictions.toPandas().merge(scores[["key", "predicted"]], on="key", suffixes=("", "_rdd"))
assert len(in_pandas) == len(pandas_trips) and np.allclose(in_pandas["predicted"], in_pandas["predicted_rdd"])

# %% [markdown]
# ## Exercise 6
#
# With the RDD API only (`map`, `filter`, `reduceByKey`), count the trips per `payment_type`, skipping the rows
# without one. Return a Python dict `{payment_type: trips}` with integer keys (e.g. `{1: 3000, 2: 1400, ...}`).

# %%
my_answer = None  # e.g. dict(trips.select("payment_type").rdd.filter(...).map(...).reduceByKey(...).collect())

# %%
expected_6 = {int(k): int(v) for k, v in pandas_trips["payment_type"].dropna().value_counts().items()}
check(None if my_answer is None else dict(sorted(my_answer.items())), dict(sorted(expected_6.items())))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = dict(trips.select("payment_type").rdd
                .filter(lambda row: row.payment_type is not None)
                .map(lambda row: (int(row.payment_type), 1))
                .reduceByKey(lambda a, b: a + b)
                .collect())
assert check(dict(sorted(solution.items())), dict(sorted(expected_6.items())))
solution

# %%
spark.stop()

# %% [markdown]
# ## Summary
#
# - An RDD is partitions plus lineage; DataFrames compile to RDDs but add a schema Spark can optimize. Prefer
#   DataFrames; use RDDs for arbitrary Python per record.
# - `map`/`filter` are narrow; `reduceByKey` combines before the shuffle, `groupByKey` does not.
# - Lost partitions are recomputed from the lineage ("resilient").
# - `mapPartitions` (or `mapInPandas`) scores a model once per batch, not once per row; broadcast the model.
#
# **Next:** [07 · Beyond one machine: spark-submit and a cluster](07_spark_submit_and_clusters.ipynb)

# %%
from zoomcamp import course

course.record("week_5_batch/06_rdds.ipynb")  # this notebook ran to the end
