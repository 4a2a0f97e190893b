# %% [markdown]
# # 04 · Internals: plans, shuffles and joins
#
# **What you will learn**
# - reading a physical plan (`explain()`): scans, pushed filters, partial and final aggregation, `Exchange`;
# - what a **shuffle** is, why it splits a job into **stages**, and how to see it (stage and task statistics);
# - **broadcast** joins vs **sort-merge** joins on the zones join, measured; when Spark picks which;
# - pre-aggregating before a join, so less data crosses the shuffle.
#
# **What you need running:** Java 17+. The next cell starts Spark in this notebook and makes sure two months of yellow
# trips are in the lake folder.

# %%

import pandas as pd
from pyspark.sql import functions as F

from zoomcamp import datasets
from zoomcamp import spark as zspark
from zoomcamp.exercises import check

spark = zspark.session("04_internals")
MONTHS = ["2021-01", "2021-02"]
lake = zspark.local_lake()
lake.ingest("yellow", MONTHS, progress=False)  # idempotent
trips = zspark.read_trips(spark, "yellow", lake.uri("yellow"), months=MONTHS)
zones = zspark.read_zones(spark)
pandas_trips = pd.concat(datasets.read_csv(datasets.trip_file("yellow", m)).assign(month=int(m[-2:])) for m in MONTHS)
pandas_zones = datasets.read_csv(datasets.zones_file())
print(f"{trips.count():,} trips in {trips.rdd.getNumPartitions()} partitions")

# %% [markdown]
# ## Reading a plan
#
# `explain()` prints the **physical plan**: what Spark will run. Read it from the bottom (where data comes in) to the
# top (the result). Revenue per pickup zone:

# %%
per_zone = trips.groupBy("PULocationID").agg(F.sum("total_amount").alias("revenue"))
per_zone.explain()

# %% [markdown]
# From the bottom:
#
# - `FileScan parquet` — reads the lake. `PartitionFilters` are the months (folders pruned), `ReadSchema` lists only
#   the two columns the query uses: parquet is columnar, the other 17 columns are never read (column pruning).
# - `HashAggregate(... partial_sum ...)` — each task sums its own partition first: a *partial* aggregate, one row per
#   zone per task instead of one row per trip.
# - `Exchange hashpartitioning(PULocationID, 8)` — the **shuffle**: every partial row is sent to partition
#   `hash(PULocationID) % 8`, so all the rows of a zone meet in one place. Rows cross processes (and, on a cluster, the
#   network) and are written to disk on the way: the expensive part of most jobs.
# - `HashAggregate(... sum ...)` — the final sums, one per zone.
# - `AdaptiveSparkPlan isFinalPlan=false` — **AQE** (adaptive query execution) may still change the plan once it sees
#   the shuffle's real sizes (below).

# %%
pandas_per_zone = pandas_trips.groupby("PULocationID")["total_amount"].sum()
result = per_zone.toPandas().set_index("PULocationID")["revenue"].sort_index()
assert (result - pandas_per_zone.sort_index()).abs().max() < 1e-6
plan = per_zone._jdf.queryExecution().executedPlan().toString()
assert "Exchange hashpartitioning(PULocationID" in plan and "partial_sum" in plan

# %% [markdown]
# ## A shuffle is a stage boundary
#
# Spark runs everything between two shuffles as one **stage**: a chain of *narrow* steps (scan, filter, project,
# partial aggregate) that each task does on its partition without talking to the others. An `Exchange` needs *wide*
# dependencies (every output partition reads from every input partition), so the stage ends there and the next one
# reads the shuffle files. Compare a job without a shuffle and one with, writing to Spark's `noop` sink (it runs the
# whole job and throws the rows away):

# %%
with zspark.measure(spark, "narrow") as narrow:
    trips.where("trip_distance > 5").write.format("noop").mode("overwrite").save()
with zspark.measure(spark, "with a shuffle") as wide:
    per_zone.write.format("noop").mode("overwrite").save()
print(narrow, narrow.stages, "", wide, wide.stages, sep="\n")
assert len(narrow.stages) == 1 and narrow.stages["shuffle_write_records"].sum() == 0
assert len(wide.stages) == 2
written = wide.stages["shuffle_write_records"].sum()
assert written < len(pandas_trips) and written >= pandas_trips["PULocationID"].nunique()

# %% [markdown]
# The second job has two stages. Thanks to the partial aggregate, the shuffle carried a few hundred rows (one per zone
# per task), not the trips. And although there are 8 shuffle partitions (`spark.sql.shuffle.partitions`), the second
# stage ran fewer tasks: AQE saw how small they were and **coalesced** them (`AQEShuffleRead coalesced` in the final
# plan), because a task per tiny partition costs more than it does.
#
# ## Joins: broadcast or sort-merge
#
# Joining trips with the 265 zones, Spark can:
#
# - **broadcast** the small side: send the whole zone table to every task, which joins its partition of trips with
#   it in memory (`BroadcastHashJoin`). The big side is never shuffled. Spark picks it when one side is smaller than
#   `spark.sql.autoBroadcastJoinThreshold` (10 MB);
# - **sort-merge**: shuffle *both* sides by the join key, sort each partition, and merge (`SortMergeJoin`). It works for
#   two big tables, at the price of shuffling both.
#
# Hints (`F.broadcast(df)`, `df.hint("merge")`) choose. To make the difference measurable, use the trips 20 times
# over (cached in memory, so that reading files is not what we time):

# %%
many_trips = trips.select("PULocationID", "total_amount").crossJoin(spark.range(20)).drop("id").cache()
n_many = many_trips.count()


def revenue_per_borough(zone_side):
    joined = many_trips.join(zone_side, many_trips.PULocationID == zone_side.LocationID)
    return joined.groupBy("Borough").agg(F.round(F.sum("total_amount"), 2).alias("revenue"))


strategies = {"broadcast": F.broadcast(zones), "sort-merge": zones.hint("merge")}
measured, results = {}, {}
for name, zone_side in strategies.items():
    query = revenue_per_borough(zone_side)
    runs = []
    for _ in range(3):
        with zspark.measure(spark, name) as m:
            query.write.format("noop").mode("overwrite").save()
        runs.append(m)
    results[name] = query.toPandas().set_index("Borough")["revenue"].sort_index()
    plan = query._jdf.queryExecution().executedPlan().toString()
    measured[name] = {"join": next(j for j in ("BroadcastHashJoin", "SortMergeJoin") if j in plan),
                      "best of 3 s": min(r.seconds for r in runs), "stages": len(runs[-1].stages),
                      "rows shuffled": int(runs[-1].stages["shuffle_write_records"].sum())}
measured = pd.DataFrame(measured).T
expected = (pandas_trips.merge(pandas_zones, left_on="PULocationID", right_on="LocationID")
            .groupby("Borough")["total_amount"].sum() * 20).round(2).sort_index()
for name in strategies:
    assert (results[name] - expected).abs().max() < 0.05
assert measured.loc["broadcast", "join"] == "BroadcastHashJoin" and measured.loc["sort-merge", "join"] == "SortMergeJoin"
assert measured.loc["sort-merge", "rows shuffled"] > n_many > measured.loc["broadcast", "rows shuffled"]
print(f"{n_many:,} trips joined with {zones.count()} zones")
measured

# %%
ax = measured["best of 3 s"].astype(float).plot.barh(figsize=(7, 1.8), title="Revenue per borough: the join")
ax.set_xlabel("seconds");

# %% [markdown]
# The sort-merge join shuffled every trip (and the zones) to bring matching keys together; the broadcast join shuffled
# only the partial aggregates per borough. That is why Spark broadcasts small dimension tables by default: the zones
# join of the revenue report is a broadcast join (look for `BroadcastHashJoin` in `zspark.revenue_report(...).explain()`).
# On this small sample the times differ by a fraction of a second; on a cluster, shuffling a billion trips across the
# network is the difference between minutes and seconds. Sort-merge is for joining two large tables, where
# broadcasting either would not fit in memory.
#
# ## Pre-aggregate before joining
#
# A shuffle's cost is the rows it moves. If the result only needs totals per zone, aggregate *before* the join: the
# join then sees 265 rows instead of every trip. Even with a sort-merge join:

# %%
join_then_aggregate = revenue_per_borough(zones.hint("merge"))
per_location = many_trips.groupBy("PULocationID").agg(F.sum("total_amount").alias("revenue"))
aggregate_then_join = (per_location.join(zones.hint("merge"), per_location.PULocationID == zones.LocationID)
                       .groupBy("Borough").agg(F.round(F.sum("revenue"), 2).alias("revenue")))
shuffled = {}
for name, query in {"join, then aggregate": join_then_aggregate, "aggregate, then join": aggregate_then_join}.items():
    with zspark.measure(spark, name) as m:
        query.write.format("noop").mode("overwrite").save()
    shuffled[name] = {"seconds": m.seconds, "rows shuffled": int(m.stages["shuffle_write_records"].sum())}
    assert (query.toPandas().set_index("Borough")["revenue"].sort_index() - expected).abs().max() < 0.05
shuffled = pd.DataFrame(shuffled).T.astype({"rows shuffled": int})
assert shuffled.loc["aggregate, then join", "rows shuffled"] < shuffled.loc["join, then aggregate", "rows shuffled"] / 10
shuffled

# %% [markdown]
# Same answer, a fraction of the rows shuffled. The same idea at a larger scale is **pre-joining**: if many queries
# join trips with zones, write the joined table once (week 4's `fact_trips` does exactly that) instead of joining in
# every query.
#
# ## Exercise 4
#
# With a **broadcast** join of the trips and the zones on the *dropoff* zone, count the trips of the lake's
# **February 2021** partition (`month = 2`) per dropoff borough. Return a pandas DataFrame with the columns `borough` and `trips`, ordered by
# `trips` descending.

# %%
my_answer = None  # e.g. trips.where(...).join(F.broadcast(zones), ...).groupBy(...).count()...toPandas()

# %%
february = pandas_trips[pandas_trips["month"] == 2]
expected_4 = (february.merge(pandas_zones, left_on="DOLocationID", right_on="LocationID")
              .groupby("Borough").size().sort_values(ascending=False).rename("trips").reset_index()
              .rename(columns={"Borough": "borough"}))
check(my_answer, expected_4)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = (trips.where("month = 2")
            .join(F.broadcast(zones), trips.DOLocationID == zones.LocationID)
            .groupBy(F.col("Borough").alias("borough")).agg(F.count("*").alias("trips"))
            .orderBy(F.desc("trips")).toPandas())
assert check(solution, expected_4)
solution

# %%
spark.stop()

# %% [markdown]
# ## Summary
#
# - Read plans bottom-up: scan (pruned partitions and columns), narrow steps, `Exchange` (a shuffle), final steps.
# - A shuffle ends a stage; it writes and moves rows between tasks: the main cost to watch. Partial aggregation and
#   pre-aggregation shrink it; AQE coalesces tiny shuffle partitions.
# - Broadcast joins (small side copied to every task) avoid shuffling the big side; sort-merge joins shuffle both
#   sides and are for two large tables.
#
# **Next:** [05 · Data skew](05_data_skew.ipynb)

# %%
from zoomcamp import course

course.record("week_5_batch/04_internals.ipynb")  # this notebook ran to the end
