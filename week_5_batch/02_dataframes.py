# %% [markdown]
# # 02 · DataFrames
#
# **What you will learn**
# - reading the taxi CSV with an explicit schema (a `StructType` built from the course's schema table) instead of
#   letting Spark guess, and what guessing costs;
# - what `repartition` and `coalesce` do to the number and size of the files Spark writes;
# - writing **partitioned parquet** (`partitionBy`), the same `year=/month=` layout as the week 2 lake, and reading it
#   back with partition pruning;
# - column expressions, and Python **UDFs vs built-in functions**, measured.
#
# **What you need running:** Java 17+. The next cell starts Spark in this notebook (`zspark.session(...)`).

# %%
import time

import matplotlib.dates as mdates
import pandas as pd
from pyspark.sql import functions as F
from pyspark.sql import types as T

from zoomcamp import datasets
from zoomcamp import spark as zspark
from zoomcamp.course import scratch
from zoomcamp.exercises import check

spark = zspark.session("02_dataframes")
path = datasets.trip_file("yellow", "2021-01")
pandas_trips = datasets.read_csv(path)  # the same file in pandas, to check Spark against
work = scratch(5, "dataframes")  # where this notebook writes (replaced on each run)
print(f"{path.name}: {len(pandas_trips):,} rows")

# %% [markdown]
# ## Let Spark guess the schema, or tell it
#
# CSV files carry no types. `inferSchema=True` makes Spark read the whole file once just to guess them — an extra job
# before you have asked for anything — and the guesses follow the text, not the data's meaning:

# %%
with zspark.measure(spark, "inferSchema") as guessing:
    guessed = spark.read.csv(str(path), header=True, inferSchema=True)
print(guessing)
course = zspark.struct_type("yellow", "csv")
types = pd.DataFrame({"column": [f.name for f in course.fields],
                      "guessed": [f.dataType.simpleString() for f in guessed.schema.fields],
                      "course schema": [f.dataType.simpleString() for f in course.fields]})
assert guessing.jobs  # guessing read the file
types[types["guessed"] != types["course schema"]]

# %% [markdown]
# The guesses are wrong where it matters: `passenger_count` and `RatecodeID` look like integers in this month's file
# but are doubles in the TLC's parquet files (a month with an empty value would be guessed differently: the schema
# *drifts* from file to file), and the times become `timestamp` (a zoned type, shifted by the session's time zone)
# although the TLC's times are local New York times without a zone: `timestamp_ntz`.
#
# `zspark.struct_type(kind, fmt)` builds the `StructType` from the same schema table every other tool of the course
# uses (`datasets.columns`), so Spark, pandas, PostgreSQL and the lake agree. With it, defining the DataFrame runs
# nothing:

# %%
print(course.simpleString()[:300], "...")
with zspark.measure(spark, "explicit schema") as declared:
    trips = zspark.read_trips(spark, "yellow", str(path))  # spark.read.csv(..., schema=struct_type("yellow", "csv"))
assert declared.jobs == [] and trips.schema == course
assert trips.count() == len(pandas_trips)


# %% [markdown]
# ## Partitions and files: repartition and coalesce
#
# A gzip file is read as **one partition** (notebook 01): one task, one core. `repartition(n)` redistributes the rows
# into `n` partitions (a full **shuffle**: every row may move); `coalesce(n)` only merges existing partitions (no
# shuffle, so it can only *reduce* their number). When Spark writes, **each partition becomes one file**:

# %%
def write_parquet(frame, name: str) -> pd.DataFrame:
    target = work / name
    frame.write.mode("overwrite").parquet(str(target))  # overwrite: re-running the cell gives the same files
    files = sorted(target.glob("part-*.parquet"))
    return pd.DataFrame({"file": [f.name[:10] for f in files], "kB": [round(f.stat().st_size / 1e3, 1) for f in files],
                         "rows": [pd.read_parquet(f).shape[0] for f in files]})

layouts = {n: write_parquet(trips.repartition(n), f"repartition_{n}") for n in (1, 4, 8)}
layouts["coalesce 8 -> 2"] = write_parquet(trips.repartition(8).coalesce(2), "coalesce_2")
summary = pd.DataFrame({name: {"files": len(f), "total kB": f["kB"].sum(), "rows per file": f["rows"].mean()}
                        for name, f in layouts.items()}).T
for n in (1, 4, 8):
    assert len(layouts[n]) == n and layouts[n]["rows"].sum() == len(pandas_trips)
assert len(layouts["coalesce 8 -> 2"]) == 2
summary

# %% [markdown]
# More files is more parallelism when reading them back, but each file has a fixed cost (a footer, an object in the
# bucket, a task to schedule), and smaller files compress worse. Spark's rule of thumb is files of 100 MB to 1 GB:
# for a month of real yellow trips (~1.4 million rows, ~25 MB of parquet) that is one to a few files; for this sample,
# one. `repartition` round-robins rows, so its files are the same size; `coalesce` after it keeps the partitions
# it merged.
#
# ## Partitioned parquet: folders per value
#
# `partitionBy(columns)` writes one folder per value, `year=2021/month=1/`, the hive layout of the week 2 lake. A
# query that filters on those columns reads only the matching folders (**partition pruning**). The month's file has
# a few dirty rows from other months (a mistyped year, trips around midnight on the last day), which land in their own
# folders:

# %%
pickup = F.col("tpep_pickup_datetime")
with_month = trips.withColumn("year", F.year(pickup)).withColumn("month", F.month(pickup))
by_month = work / "by_month"
with_month.write.mode("overwrite").partitionBy("year", "month").parquet(str(by_month))

folders = sorted(str(p.relative_to(by_month)) for p in by_month.glob("year=*/month=*"))
expected = pandas_trips.groupby([pandas_trips["tpep_pickup_datetime"].dt.year,
                                 pandas_trips["tpep_pickup_datetime"].dt.month]).size()
assert folders == sorted(f"year={y}/month={m}" for y, m in expected.index)
folders

# %%
january = spark.read.parquet(str(by_month)).where("year = 2021 AND month = 1")
plan = january._jdf.queryExecution().executedPlan().toString()
assert "PartitionFilters: [isnotnull(year" in plan and january.count() == expected.loc[(2021, 1)]
print(plan[plan.index("PartitionFilters"):][:120], "...")

# %% [markdown]
# `PartitionFilters` in the plan: the filter on `year` and `month` is answered from the folder names; the other months'
# files are never opened. (Partitioning by a column with thousands of values, such as a zone, does the opposite of what
# you want: thousands of tiny files. Partition by what queries filter on, with few values: dates.)
#
# ## Column expressions and built-in functions
#
# DataFrame code is a chain of expressions on columns: `select`, `withColumn`, `where`, `groupBy().agg()`. The functions
# in `pyspark.sql.functions` (`F`) run inside the JVM, on Spark's own binary rows, and the optimizer understands them:

# %%
daily = (trips.where(F.year(pickup) == 2021)
         .groupBy(F.to_date(pickup).alias("day"))
         .agg(F.count("*").alias("trips"), F.round(F.sum("total_amount"), 2).alias("revenue"))
         .orderBy("day")
         .toPandas())
in_2021 = pandas_trips[pandas_trips["tpep_pickup_datetime"].dt.year == 2021]
pandas_daily = in_2021.groupby(in_2021["tpep_pickup_datetime"].dt.date).agg(
    trips=("VendorID", "size"), revenue=("total_amount", "sum"))
assert daily["trips"].tolist() == pandas_daily["trips"].tolist()
assert (daily["revenue"] - pandas_daily["revenue"].round(2).to_numpy()).abs().max() < 0.01
ax = daily.plot(x="day", y="trips", figsize=(9, 2.5), legend=False, title="Trips per day")
# Short date labels that do not overlap: the month once, then day numbers (matplotlib's ConciseDateFormatter).
ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
ax.set_xlabel("");


# %% [markdown]
# ## UDFs vs built-in functions
#
# A Python **UDF** (user-defined function) runs your Python function on every row: Spark starts Python worker
# processes, ships the rows to them (serialized), calls the function, and ships the results back. A **pandas UDF**
# (`pandas_udf`) does the same in Arrow batches, one call per batch. A built-in expression (`F.when`) stays in the JVM.
#
# The same classification three ways — short (< 1 mile), medium (< 5), long — on a bigger frame (the month repeated 40
# times, cached in memory so that reading is not measured):

# %%
@F.udf(returnType=T.StringType())
def category_udf(distance):
    if distance is None:
        return None
    return "short" if distance < 1 else "medium" if distance < 5 else "long"


@F.pandas_udf(T.StringType())
def category_pandas_udf(distance: pd.Series) -> pd.Series:
    labels = pd.cut(distance, [-float("inf"), 1, 5, float("inf")], right=False, labels=["short", "medium", "long"])
    return labels.astype(str)


category_builtin = (F.when(F.col("trip_distance") < 1, "short")
                    .when(F.col("trip_distance") < 5, "medium").otherwise("long"))

bigger = trips.select("trip_distance").crossJoin(spark.range(40)).repartition(2).cache()
rows = bigger.count()
timings = {}
for name, expression in {"built-in (F.when)": category_builtin, "Python UDF": category_udf("trip_distance"),
                         "pandas UDF": category_pandas_udf("trip_distance")}.items():
    runs = []
    for _ in range(3):  # the first run of a UDF also starts the Python workers
        started = time.perf_counter()
        bigger.select(expression.alias("category")).write.format("noop").mode("overwrite").save()
        runs.append(time.perf_counter() - started)
    counts = bigger.groupBy(expression.alias("category")).count().toPandas().set_index("category")["count"]
    timings[name] = {"first run s": runs[0], "best of 3 s": min(runs), **counts.to_dict()}
timings = pd.DataFrame(timings).T
expected = pd.cut(pandas_trips["trip_distance"], [-float("inf"), 1, 5, float("inf")], right=False,
                  labels=["short", "medium", "long"]).value_counts() * 40
for name in timings.index:  # three ways, one answer
    assert timings.loc[name, ["short", "medium", "long"]].tolist() == expected[["short", "medium", "long"]].tolist()
print(f"{rows:,} rows")
timings.round(3)

# %%
ax = timings[["first run s", "best of 3 s"]].plot.barh(figsize=(8, 2.5), title=f"Classifying {rows:,} trips")
ax.set_xlabel("seconds");

# %% [markdown]
# The built-in expression is the fastest, and its first run costs nothing extra; the UDFs pay for moving every row to
# Python and back, and their first run pays for starting the Python workers. (Spark 4 already ships plain UDF rows in
# Arrow batches, which narrows the gap; on a real month and a cluster it is still several times.) The optimizer also
# cannot look inside a UDF: no filter pushdown through it, no statistics. Use built-in functions when they can express
# the logic — they usually can — and a pandas UDF when you truly need Python (a library, a model: notebook 06).
#
# ## Exercise 2
#
# With Spark's built-in functions, compute the **average trip duration in minutes** over the trips whose dropoff is
# after their pickup (hint: `F.timestamp_diff("SECOND", start, end)`, or `F.unix_timestamp`). Put the number (a float)
# in `my_answer`.

# %%
my_answer = None  # e.g. trips.where(...).select(F.avg(...)).first()[0]

# %%
minutes = (pandas_trips["tpep_dropoff_datetime"] - pandas_trips["tpep_pickup_datetime"]).dt.total_seconds() / 60
check(my_answer, float(minutes[minutes > 0].mean()))

# %% jupyter={"source_hidden": true} tags=["solution"]
seconds = F.timestamp_diff("SECOND", "tpep_pickup_datetime", "tpep_dropoff_datetime")
solution = trips.where(seconds > 0).select(F.avg(seconds / 60)).first()[0]
assert check(solution, float(minutes[minutes > 0].mean()))

# %%
spark.stop()

# %% [markdown]
# ## Summary
#
# - Give Spark the schema (`zspark.struct_type`, from the course's schema table): no extra pass over the data, no
#   drifting guesses, the right types (`timestamp_ntz` for the TLC's local times).
# - One partition is one task and one written file: `repartition(n)` (a shuffle) and `coalesce(n)` (a merge) choose
#   how many; aim for files of 100 MB and more.
# - `partitionBy` writes the hive `year=/month=` layout; filters on those columns prune whole folders.
# - Built-in functions beat Python UDFs; pandas UDFs are the fast way when Python is needed.
#
# **Next:** [03 · Spark SQL](03_spark_sql.ipynb)

# %%
from zoomcamp import course

course.record("week_5_batch/02_dataframes.ipynb")  # this notebook ran to the end
