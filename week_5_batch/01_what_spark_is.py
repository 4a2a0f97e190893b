# %% [markdown]
# # 01 · What Spark is
#
# **What you will learn**
# - what Spark is for, and its parts: the **driver**, the **executors**, the **cluster manager**;
# - a `SparkSession` from the course library, and what the helper sets for you (the Python executable, the local IP,
#   the driver's memory, the master from the settings) so the same notebook runs locally, on a standalone cluster or on
#   Dataproc;
# - transformations are lazy, actions run **jobs**, jobs are split into **stages** and **tasks**, one task per
#   **partition**;
# - the Spark UI (port 4040) and what it shows.
#
# **What you need running:** Java 17 or newer (`zoomcamp doctor` checks it; `make setup` installs it as root). Nothing
# else: the next cell starts Spark inside this notebook's Python process, `spark = zspark.session(...)`.

# %%
import sys

import matplotlib.pyplot as plt
import pandas as pd

from zoomcamp import datasets, get_settings
from zoomcamp import spark as zspark  # the library module; `spark` is the session, as in Spark's own docs
from zoomcamp.exercises import check

spark = zspark.session("01_what_spark_is")
print(f"Spark {spark.version}, master {spark.sparkContext.master}, "
      f"{spark.sparkContext.defaultParallelism} cores, UI {spark.sparkContext.uiWebUrl}")

# %% [markdown]
# ## Why Spark
#
# Weeks 1 to 4 ran SQL in one database (PostgreSQL, DuckDB, BigQuery). Spark is the engine you use when the data is
# in **files in a lake** (parquet in GCS or S3, week 2) and the work is too big for one machine, or when the logic is
# easier in Python than in SQL: it splits the data into **partitions** and processes them in parallel on many machines,
# with the same code whether there is one laptop or a thousand cores. BigQuery does the same inside Google; Spark is
# the open-source engine you run yourself (or on Dataproc, Databricks, EMR).
#
# ## Driver, executors, cluster manager
#
# A Spark application is one **driver** and several **executors**:
#
# - the **driver** runs your program (this notebook): it turns DataFrame code into a plan, splits the plan into
#   **stages** and **tasks**, and hands the tasks out;
# - the **executors** are JVM processes on the cluster's machines that run the tasks, each on one partition of the
#   data, and keep cached data;
# - the **cluster manager** gives the driver its executors: Spark's own *standalone* master (notebook 07), YARN (what
#   Dataproc uses), Kubernetes. With `local[*]` there is none: the driver runs the tasks itself, on one thread per core.

# %%
fig, ax = plt.subplots(figsize=(10, 3.2))
boxes = {
    "driver\n(your program: plans,\nstages, tasks)": (0.1, 0.5, "#e8f0fe"),
    "cluster manager\n(standalone master,\nYARN, Kubernetes)": (0.45, 0.85, "#fdd0a2"),
    "executor 1\ntask task": (0.8, 0.8, "#c7e9c0"),
    "executor 2\ntask task": (0.8, 0.5, "#c7e9c0"),
    "executor 3\ntask task": (0.8, 0.2, "#c7e9c0"),
}
for text, (x, y, colour) in boxes.items():
    ax.text(x, y, text, ha="center", va="center", fontsize=9, bbox={"boxstyle": "round", "fc": colour, "ec": "#555"})
arrow = {"arrowstyle": "->", "color": "#555"}
ax.annotate("", xy=(0.36, 0.8), xytext=(0.17, 0.6), arrowprops=arrow)
ax.annotate("asks for executors", xy=(0.2, 0.78), fontsize=8, color="#555")
for y in (0.8, 0.5, 0.2):
    ax.annotate("", xy=(0.72, y), xytext=(0.2, 0.5), arrowprops=arrow)
ax.annotate("tasks, results", xy=(0.42, 0.46), fontsize=8, color="#555")
ax.set_xlim(0, 0.95)
ax.set_ylim(0.05, 1)
ax.axis("off")
ax.set_title("A Spark application: one driver, many executors");

# %% [markdown]
# ## The session and what the helper set
#
# `SparkSession` is the entry point: DataFrames, SQL, and reading and writing files all start from it. Only one runs
# per process. `zspark.session()` builds it with the settings a laptop needs; here they are, read back from Spark:

# %%
explained = {
    "spark.master": "where tasks run: settings.spark_master (local[*] = here, one thread per core)",
    "spark.driver.memory": "the driver JVM's heap; in local mode the tasks run in it too",
    "spark.driver.host": "the driver's address: 127.0.0.1, so nothing listens on a public interface",
    "spark.pyspark.python": "the Python that runs Python code on executors: this notebook's, with the same packages",
    "spark.sql.shuffle.partitions": "partitions after a shuffle: 8, not Spark's 200 (meant for clusters)",
    "spark.sql.session.timeZone": "UTC: no surprise when times are converted",
    "spark.ui.enabled": "the Spark UI (see below)",
}
conf = pd.DataFrame([(key, spark.conf.get(key), why) for key, why in explained.items()],
                    columns=["setting", "value", "why"])
assert spark.conf.get("spark.pyspark.python") == sys.executable
assert spark.conf.get("spark.driver.host") == "127.0.0.1"
assert spark.sparkContext.master == get_settings().spark_master
conf.style.hide(axis="index")

# %% [markdown]
# The master comes from the course's settings (`spark_master`, default `local[*]`). Set `ZOOMCAMP_SPARK_MASTER=
# spark://127.0.0.1:7077` (or `[spark] master = ...` in `zoomcamp.toml`) and every notebook of this week runs on the
# standalone cluster of notebook 07, unchanged; on Dataproc the master is `yarn`. That is the point of one helper: the
# code says *what* to compute, the settings say *where*.
#
# ## Lazy transformations, actions, jobs
#
# Read a month of yellow trips (the CSV file, with the course's schema: notebook 02 explains it) and keep the long trips.
# `zspark.measure` records what Spark ran inside the block, from the Spark UI:

# %%
path = datasets.trip_file("yellow", "2021-01")
with zspark.measure(spark, "define") as defined:
    trips = zspark.read_trips(spark, "yellow", str(path))
    long_trips = trips.where("trip_distance > 5").select("PULocationID", "total_amount")
print(defined)
assert defined.jobs == []  # nothing ran: Spark only wrote down a plan

# %% [markdown]
# `where` and `select` are **transformations**: they return a new DataFrame (a plan) at once, without touching the data.
# Only an **action** — `count()`, `collect()`, `show()`, `toPandas()`, a `write` — makes Spark run a **job**:

# %%
with zspark.measure(spark, "count") as counted:
    n_long = long_trips.count()
print(counted)
pandas_trips = datasets.read_csv(path)
assert n_long == (pandas_trips["trip_distance"] > 5).sum()
print(f"{n_long:,} of {trips.count():,} trips are longer than 5 miles")
counted.stages

# %% [markdown]
# Laziness lets Spark see the whole plan before running anything: here it pushed the filter into the CSV reader and
# reads only two columns' worth of values for the rest of the plan. The count ran as a job of stages; each stage runs
# one **task per partition**. The file is gzip-compressed, and a gzip stream cannot be split: it is **one partition**,
# so every stage that reads it has one task and only one core works. Notebook 02 fixes that with `repartition`.

# %%
print(f"{trips.rdd.getNumPartitions()} partition(s) for {path.name}")
assert trips.rdd.getNumPartitions() == 1

# %% [markdown]
# ## The Spark UI
#
# While a session runs, the driver serves the **Spark UI** on port **4040** (4041, 4042, ... when that port is taken,
# e.g. by a second notebook): the jobs, their stages and tasks with times and sizes, the SQL plans, the executors and
# their memory. Open the address printed in the first cell in a browser (with `make lab` it is on this machine). It
# lives as long as the session: after `spark.stop()` it is gone (Spark's *history server* keeps it for finished
# applications, on a cluster). `zspark.measure` reads the same numbers from the UI's REST API, which is how this
# notebook can show them:

# %%
import json
import urllib.request

api = f"{spark.sparkContext.uiWebUrl}/api/v1/applications/{spark.sparkContext.applicationId}/jobs"
with urllib.request.urlopen(api) as response:
    jobs = pd.DataFrame(json.load(response))[["jobId", "status", "numTasks", "submissionTime"]]
assert set(counted.jobs) <= set(jobs["jobId"]) and (jobs["status"] == "SUCCEEDED").all()
jobs.head()

# %% [markdown]
# ## From Spark to pandas and back
#
# `toPandas()` collects a (small!) result into the driver as a pandas DataFrame — the usual last step before a plot.
# Everything collected must fit in the driver's memory, so aggregate in Spark first.

# %%
per_zone = (long_trips.groupBy("PULocationID").count().orderBy("count", ascending=False).limit(10).toPandas())
expected = (pandas_trips[pandas_trips["trip_distance"] > 5].groupby("PULocationID").size()
            .sort_values(ascending=False).head(10))
assert per_zone["count"].tolist() == expected.tolist()
per_zone.plot.bar(x="PULocationID", y="count", legend=False, figsize=(8, 2.5),
                  title="Long trips (> 5 miles) per pickup zone, top 10");

# %% [markdown]
# ## Exercise 1
#
# With Spark (not pandas), count the trips of the month whose `passenger_count` is **0** — one of the dirty rows the
# TLC files carry. Put the number in `my_answer`.

# %%
my_answer = None  # e.g. trips.where(...).count()

# %%
check(my_answer, int((pandas_trips["passenger_count"] == 0).sum()))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = trips.where("passenger_count = 0").count()
assert check(solution, int((pandas_trips["passenger_count"] == 0).sum()))

# %% [markdown]
# Stop the session when you are done: it frees the driver's memory and the UI's port.

# %%
spark.stop()

# %% [markdown]
# ## Summary
#
# - A Spark application is a driver (plans and schedules) and executors (run tasks on partitions); a cluster manager
#   (standalone, YARN, Kubernetes) provides the executors; `local[*]` runs everything in one process.
# - `zspark.session()` sets the Python, the address, the memory and the master (from settings) once, for every notebook.
# - Transformations are lazy; actions run jobs, made of stages, made of one task per partition.
# - The Spark UI on port 4040 shows all of it while the session runs.
#
# **Next:** [02 · DataFrames](02_dataframes.ipynb)

# %%
from zoomcamp import course

course.record("week_5_batch/01_what_spark_is.ipynb")  # this notebook ran to the end
