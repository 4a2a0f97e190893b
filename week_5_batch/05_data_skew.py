# %% [markdown]
# # 05 · Data skew
#
# **What you will learn**
# - what **data skew** is: a few key values holding a large share of the rows — here, the busiest taxi zones;
# - how to see it: rows per partition after a shuffle, and the task statistics of a stage (records and time per task,
#   what the Spark UI's stage page shows);
# - why aggregations mostly cope and joins do not;
# - two fixes for a skewed join, measured before and after: **salting** the key, and **AQE's skew join**.
#
# **What you need running:** Java 17+. The next cell starts Spark in this notebook (16 shuffle partitions, so the
# partitions are easy to see) and puts a month of yellow trips in the lake folder.

# %%
import matplotlib.pyplot as plt
import pandas as pd
from pyspark.sql import functions as F

from zoomcamp import datasets
from zoomcamp import spark as zspark
from zoomcamp.exercises import check

PARTITIONS = 16
spark = zspark.session("05_data_skew", shuffle_partitions=PARTITIONS)
lake = zspark.local_lake()
lake.ingest("yellow", "2021-01", progress=False)  # idempotent
trips = zspark.read_trips(spark, "yellow", lake.uri("yellow"), months="2021-01")
pandas_trips = datasets.read_csv(datasets.trip_file("yellow", "2021-01"))
print(f"{len(pandas_trips):,} trips")

# %% [markdown]
# ## A skewed key
#
# Taxi demand is far from uniform: a few Manhattan zones and the airports get most pickups (the course's sample mirrors
# that with a Zipf-like popularity, the "data skew" item of the original syllabus). Any operation keyed on the zone
# inherits the imbalance:

# %%
pickups = trips.groupBy("PULocationID").count().orderBy(F.desc("count")).toPandas()
expected_counts = pandas_trips["PULocationID"].value_counts()
assert pickups["count"].tolist() == expected_counts.tolist()
share = pickups.set_index("PULocationID")["count"] / len(pandas_trips)
print(f"{len(share)} zones; the busiest, {share.index[0]}, has {share.iloc[0]:.1%} of the pickups, "
      f"the top 5 {share.iloc[:5].sum():.0%}; the median zone {share.median():.2%}")
share.iloc[:30].plot.bar(figsize=(10, 2.5), title="Share of pickups, 30 busiest zones").yaxis.set_major_formatter("{x:.0%}");

# %% [markdown]
# ## Seeing it: rows per partition
#
# A shuffle by key sends all the rows of a zone to one partition (`hash(zone) % 16`). `F.spark_partition_id()` tells
# which partition each row is in after `repartition(16, "PULocationID")` — the same placement a join or an aggregation
# by zone uses:

# %%
by_partition = (trips.repartition(PARTITIONS, "PULocationID")
                .groupBy(F.spark_partition_id().alias("partition")).count().toPandas()
                .set_index("partition")["count"].reindex(range(PARTITIONS), fill_value=0))
assert by_partition.sum() == len(pandas_trips)
ratio = by_partition.max() / by_partition.median()
print(f"largest partition {by_partition.max():,} rows, median {by_partition.median():,.0f}: {ratio:.1f}x")
assert ratio > 2
by_partition.plot.bar(figsize=(10, 2.5), title="Rows per partition after a shuffle by pickup zone");

# %% [markdown]
# One partition holds several times the median: the task that processes it takes that much longer, and a stage ends
# only when its **last** task ends. On a cluster that is the classic picture in the Spark UI: 199 tasks done in
# seconds, one running for an hour (or failing on memory).
#
# ## Aggregations mostly cope
#
# Counting trips per zone shuffles by zone too, but Spark aggregates each input partition first (the `partial_count`
# of notebook 04): the shuffle carries one row per zone per task, never the trips, so the hot zone costs nothing extra.

# %%
with zspark.measure(spark, "count per zone") as aggregation:
    trips.groupBy("PULocationID").count().write.format("noop").mode("overwrite").save()
aggregation.stages

# %%
assert aggregation.stages["shuffle_write_records"].sum() <= pandas_trips["PULocationID"].nunique() * len(aggregation.tasks)

# %% [markdown]
# (Aggregations that cannot be combined early — `collect_list`, exact percentiles, `count(DISTINCT ...)` on a skewed
# key — do suffer, and get the same fixes as joins.)
#
# ## A skewed join
#
# Joins cannot pre-combine: every row must meet every matching row of the other side. A question with a join on the
# zone: *after a dropoff, how often does a cab find a pickup in the same zone within 30 minutes?* Pair each dropoff with
# the pickups in its zone in the next 30 minutes:
#
# - the join key is the zone, skewed on both sides (the busiest zones have the most dropoffs *and* pickups);
# - the time window is an extra condition checked for every pair of the same zone — the hot zone's work grows with the
#   *product* of its rows.
#
# Neither side is small in real data, so this is a sort-merge join (`hint("merge")`). AQE is switched off for the
# baseline, so we see the plan as written. The inputs are cached in 8 partitions each, so reading the file is not part
# of what we measure.

# %%
dropoffs = trips.select(F.col("DOLocationID").alias("zone"), F.col("tpep_dropoff_datetime").alias("dropoff"))
pickups_ = trips.select(F.col("PULocationID").alias("zone"), F.col("tpep_pickup_datetime").alias("pickup"))
dropoffs, pickups_ = dropoffs.repartition(8).cache(), pickups_.repartition(8).cache()
dropoffs.count(), pickups_.count()


def next_fares(left, right, keys=("zone",)):
    """Per zone, the pairs (dropoff, pickup in the same zone within the next 30 minutes)."""
    on = [left[k] == right[k] for k in keys] + [
        right.pickup >= left.dropoff, right.pickup <= left.dropoff + F.expr("INTERVAL 30 MINUTES")]
    return left.join(right.hint("merge"), on).groupBy(left.zone).agg(F.count("*").alias("pairs"))


def run(label, query):
    """Run the query; return its result and the statistics of its join stage (the first that reads a shuffle)."""
    with zspark.measure(spark, label) as m:
        result = query.toPandas().set_index("zone")["pairs"].sort_index()
    join_stage = m.stages.loc[m.stages["shuffle_read_records"] > 0, "stage"].min()
    tasks = m.tasks[m.tasks["stage"] == join_stage]
    stats = {"seconds": round(m.seconds, 2), "shuffle bytes": int(m.stages["shuffle_write_bytes"].sum()),
             "join tasks": len(tasks), "records read": int(tasks["records"].sum()),
             "max records": int(tasks["records"].max()), "median records": tasks["records"].median(),
             "max task ms": int(tasks["ms"].max()), "median task ms": tasks["ms"].median()}
    return result, stats, tasks


spark.conf.set("spark.sql.adaptive.enabled", "false")
next_fares(dropoffs, pickups_).count()  # a first run, to warm up the JVM
baseline, before, before_tasks = run("skewed", next_fares(dropoffs, pickups_))
pd.Series(before)

# %% [markdown]
# Check the answer with DuckDB on the same parquet file before fixing anything:

# %%
duck = lake.duckdb().execute(f"""
    WITH t AS (SELECT * FROM {lake.read_parquet_sql("yellow")} WHERE year = 2021 AND month = 1)
    SELECT d.DOLocationID AS zone, count(*) AS pairs
    FROM t AS d JOIN t AS p
      ON d.DOLocationID = p.PULocationID
     AND p.tpep_pickup_datetime BETWEEN d.tpep_dropoff_datetime AND d.tpep_dropoff_datetime + INTERVAL 30 MINUTE
    GROUP BY 1 ORDER BY 1
""").df().set_index("zone")["pairs"]
assert baseline.equals(duck.astype(baseline.dtype))
print(f"{baseline.sum():,} dropoff -> next pickup pairs in {len(baseline)} zones; "
      f"zone {baseline.idxmax()} alone has {baseline.max():,}")

# %% [markdown]
# ## Fix 1: salting
#
# **Salting** splits a hot key over several partitions. Give each row of one side a random *salt* in `0..N-1`, copy
# each row of the other side N times (once per salt), and join on `(zone, salt)`. Every dropoff still meets every
# pickup of its zone exactly once (its own salt's copy), but the hot zone's rows are now spread over N keys, so over
# up to N partitions. The price: the copied side is N times bigger, and the result needs another aggregation.

# %%
SALTS = 8
salted_dropoffs = dropoffs.withColumn("salt", (F.rand(seed=42) * SALTS).cast("int"))
salted_pickups = pickups_.withColumn("salt", F.explode(F.sequence(F.lit(0), F.lit(SALTS - 1))))
salted, after_salting, salted_tasks = run("salted", next_fares(salted_dropoffs, salted_pickups, ("zone", "salt")))
assert salted.equals(baseline)  # the same answer
pd.Series(after_salting)

# %% [markdown]
# ## Fix 2: AQE's skew join
#
# **Adaptive query execution** (on by default since Spark 3.2) re-plans at every shuffle, from the real partition
# sizes. Its skew-join rule finds partitions larger than `skewedPartitionFactor` × the median *and* than
# `skewedPartitionThresholdInBytes`, splits them into pieces of about `advisoryPartitionSizeInBytes` (by ranges of the
# map outputs), and joins each piece with a copy of the other side's matching partition: salting, done for you, for the
# hot partitions only.
#
# The defaults (5 × the median and 256 MB, pieces of 64 MB) are for real data: this sample's partitions are kilobytes.
# Scaled down here: a partition is skewed above 2 × the median and above the *average* partition's size (the bytes the
# skewed run shuffled, divided by 16), and is cut into pieces of about that average size. Two more settings for the demonstration: partition coalescing is off (it would merge
# these tiny partitions into one before the skew rule runs), and `forceOptimizeSkewedJoin` lets the rule act although
# splitting the partitions costs an extra shuffle for the aggregation after the join.

# %%
aqe_settings = {
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.skewJoin.enabled": "true",
    "spark.sql.adaptive.skewJoin.skewedPartitionFactor": "2",
    "spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes": str(before["shuffle bytes"] // PARTITIONS),
    "spark.sql.adaptive.advisoryPartitionSizeInBytes": str(before["shuffle bytes"] // PARTITIONS),
    "spark.sql.adaptive.coalescePartitions.enabled": "false",
    "spark.sql.adaptive.forceOptimizeSkewedJoin": "true",
}
for key, value in aqe_settings.items():
    spark.conf.set(key, value)
aqe_query = next_fares(dropoffs, pickups_)
adaptive, after_aqe, aqe_tasks = run("AQE skew join", aqe_query)
final_plan = aqe_query._jdf.queryExecution().executedPlan().toString()
assert "SortMergeJoin(skew=true)" in final_plan and "AQEShuffleRead skewed" in final_plan
assert adaptive.equals(baseline)
print(final_plan[final_plan.index("SortMergeJoin(skew=true)"):][:70], "...")
pd.Series(after_aqe)

# %% [markdown]
# `SortMergeJoin(skew=true)` and `AQEShuffleRead skewed` in the final plan: the join read the skewed partitions in
# pieces.
#
# ## Before and after

# %%
comparison = pd.DataFrame({"skewed": before, "salted": after_salting, "AQE skew join": after_aqe}).T
comparison["records max / median"] = (comparison["max records"] / comparison["median records"]).round(1)
comparison["time max / median"] = (comparison["max task ms"] / comparison["median task ms"].clip(lower=1)).round(1)
assert comparison.loc["salted", "records max / median"] < comparison.loc["skewed", "records max / median"] / 2
assert comparison.loc["AQE skew join", "join tasks"] > PARTITIONS  # the hot partitions were read in pieces
assert comparison.loc["AQE skew join", "max records"] < comparison.loc["skewed", "max records"] * 0.75
comparison.drop(columns="shuffle bytes")

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 2.6))
for ax, (name, tasks) in zip(axes, {"skewed": before_tasks, "salted": salted_tasks,
                                    "AQE skew join": aqe_tasks}.items(), strict=True):
    records = tasks.sort_values("task")["records"]
    ax.bar(range(len(records)), records, color="#4a6fa5")
    ax.axhline(records.median(), color="#e6550d", lw=1, label="median")
    ax.set_title(f"{name}: {len(records)} tasks, max = {records.max() / records.median():.1f} x median", fontsize=10)
    ax.set_xlabel("task")
axes[0].set_ylabel("records read")
axes[0].legend(fontsize=8)
fig.suptitle("Records read by each task of the join stage (each panel on its own scale)", y=1.06);

# %% [markdown]
# Before: one task reads several times the median and takes many times as long (the times are milliseconds on this
# sample and noisy; on real data they are minutes). Salting evens the records per task; AQE cut the hot partitions
# into pieces about the size of an average one (a partition just under its threshold stays whole). On a sample this
# small the fixes even cost more wall time than they save — more tasks, copied rows — because no task is long enough
# to dominate the stage; the gain comes when the hot task *is* the stage's duration, as it is on real volumes. Salting moved more data in
# total (the copied side) and needs a choice of N; AQE split only the hot partitions and needed no code change — prefer
# AQE (on by default, with sensible thresholds on real sizes), and salt by hand where AQE cannot help (a skewed
# aggregation like `collect_list`, a join type AQE does not split, an older Spark).
#
# ## Exercise 5
#
# Which pickup zone is the skewed key of this month, and what share of the trips does it have? Use Spark. Answer with a
# tuple `(zone_id, share)`, the share as a fraction rounded to 3 decimals (e.g. `(42, 0.057)`).

# %%
my_answer = None  # e.g. (zone, round(share, 3))

# %%
counts = pandas_trips["PULocationID"].value_counts()
check(my_answer, (int(counts.index[0]), round(counts.iloc[0] / len(pandas_trips), 3)))

# %% jupyter={"source_hidden": true} tags=["solution"]
top = trips.groupBy("PULocationID").count().orderBy(F.desc("count")).first()
solution = (top["PULocationID"], round(top["count"] / trips.count(), 3))
assert check(solution, (int(counts.index[0]), round(counts.iloc[0] / len(pandas_trips), 3)))
solution

# %%
spark.stop()

# %% [markdown]
# ## Summary
#
# - Skew is a few keys with most of the rows; after a shuffle it shows as one partition (one task) much larger and
#   slower than the rest: look at the max vs the median in the stage's task statistics.
# - Aggregations that combine early (sum, count) are barely affected; joins and non-combinable aggregations are.
# - Salting spreads a hot key over N partitions at the cost of copying the other side N times; AQE's skew join splits
#   the hot partitions automatically, from their real sizes.
#
# **Next:** [06 · RDDs](06_rdds.ipynb)

# %%
from zoomcamp import course

course.record("week_5_batch/05_data_skew.ipynb")  # this notebook ran to the end
