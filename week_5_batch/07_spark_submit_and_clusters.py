# %% [markdown]
# # 07 · Beyond one machine: spark-submit and a cluster
#
# **What you will learn**
# - turning notebook code into a **Spark job**: a script with arguments, run by `spark-submit`;
# - Spark's **standalone** cluster manager: a master and a worker started on this machine, and the job submitted to
#   it;
# - what changes on **Dataproc** (GCP's managed Spark): the master (`yarn`), `gs://` paths, how the library travels —
#   the command, documented here, not run.
#
# **What you need running:** Java 17+. This notebook starts (and at the end stops) a standalone master and worker;
# no stack needed. It does not start Spark in its own process: every job here runs in a `spark-submit` process.

# %%
import json

import pandas as pd

from zoomcamp import datasets, get_settings
from zoomcamp import spark as zspark
from zoomcamp.course import scratch
from zoomcamp.exercises import check

MONTH = "2021-01"
lake = zspark.local_lake()
for kind in ("green", "yellow"):
    lake.ingest(kind, MONTH, progress=False)  # idempotent
work = scratch(5, "cluster")
print(zspark.REVENUE_JOB.relative_to(zspark.REVENUE_JOB.parents[2]))

# %% [markdown]
# ## A job is a script
#
# Notebooks are for exploring; a pipeline runs a **script** with arguments, so a scheduler can run it for any month and
# any paths. The course's revenue job, `week_5_batch/jobs/revenue_report.py`:

# %%
print(zspark.REVENUE_JOB.read_text())

# %% [markdown]
# Three things make it portable:
#
# - **inputs and outputs are arguments**: local folders here, `gs://` on Dataproc, one month per run (`--month`);
# - **the master is not in the code**: `zspark.session()` leaves it to `spark-submit --master ...` when the script was
#   submitted (it sees `PYSPARK_GATEWAY_PORT`, set by spark-submit);
# - **the output is replaced** (`mode("overwrite")`): running the job twice for a month gives the same files.
#
# `spark-submit` starts a new driver process for the script, with its own JVM, and is how every Spark deployment runs a
# job (Dataproc, EMR and Kubernetes wrap it). [`zspark.submit`](../shared/zoomcamp/spark/submit.py) calls pyspark's `bin/spark-submit` with this machine's
# settings (this Python for the driver and the executors, the loopback address) and keeps the log under
# `<home>/spark/logs/`. The command line for this month, in local mode:

# %%
arguments = ["--green", lake.uri("green"), "--yellow", lake.uri("yellow"), "--zones", str(datasets.zones_file()),
             "--month", MONTH]
print("spark-submit --master local[2] week_5_batch/jobs/revenue_report.py \\\n    " + " ".join(arguments)
      + f" --output {work / 'report'}")

# %% [markdown]
# ## A standalone cluster on this machine
#
# Spark's own cluster manager, **standalone mode**, has two kinds of processes:
#
# - the **master** (one per cluster) knows the workers and their free cores and memory, and gives applications their
#   executors; it listens on `spark://host:7077` and serves a web UI;
# - the **workers** (one per machine) start executor JVMs for applications when the master asks.
#
# A full Spark download starts them with `sbin/start-master.sh` and `sbin/start-worker.sh spark://host:7077`; the pip
# `pyspark` does not ship those scripts, but it ships the classes they run, and `bin/spark-class` starts a class with
# Spark's classpath. [`zspark.Cluster`](../shared/zoomcamp/stack/spark.py) does that (one master, one worker with 1 core and 1 GB, on 127.0.0.1), and stops
# them at the end of a `with` block:

# %%
import atexit
import os

print(sorted(os.listdir(zspark.spark_home() / "sbin")))  # no start-master.sh / start-worker.sh in the pip package
cluster = zspark.Cluster()
status = cluster.start()
atexit.register(cluster.stop)  # stopped with this notebook's kernel too, should a cell below fail
print(status.message)
assert status.running and status.details["workers"] == 1

# %%
info = cluster.master_info()  # the master's web UI, as JSON
pd.DataFrame([{"url": info["url"], "status": info["status"], "alive workers": info["aliveworkers"],
               "cores": info["cores"], "memory MB": info["memory"], "worker": info["workers"][0]["host"]}])

# %% [markdown]
# Submit the same script, with the same arguments, to the cluster — only `--master` changes. The driver runs in the
# `spark-submit` process (*client* deploy mode), the tasks run in an executor that the worker starts:

# %%
cluster_run = zspark.submit(zspark.REVENUE_JOB, [*arguments, "--output", str(work / "cluster")], master=cluster.url)
line = next(x for x in cluster_run.log.read_text().splitlines() if x.startswith("REVENUE-REPORT "))
summary = json.loads(line.removeprefix("REVENUE-REPORT "))  # the job's own one-line summary, from its log
applications = cluster.master_info()["completedapps"]
assert summary["master"] == cluster.url
assert any(app["name"] == "revenue_report" and app["state"] == "FINISHED" for app in applications)
print(cluster_run, summary, sep="\n")
pd.DataFrame(applications)[["id", "name", "cores", "state", "duration"]]

# %% [markdown]
# Check the job's output against pandas on the month's files, with the report's rules (a known vendor, one trip per
# vendor and pickup time, both zones known, pickups in the month):

# %%
zones = datasets.read_csv(datasets.zones_file())
known = set(zones.loc[zones["Borough"] != "Unknown", "LocationID"])
clean = {}  # per service, the trips the report counts
for kind, pickup, dropoff in (("green", "lpep_pickup_datetime", "lpep_dropoff_datetime"),
                              ("yellow", "tpep_pickup_datetime", "tpep_dropoff_datetime")):
    frame = datasets.read_csv(datasets.trip_file(kind, MONTH))
    frame = (frame[frame["VendorID"].notna()].sort_values(["VendorID", pickup, dropoff, "total_amount", "trip_distance"])
             .drop_duplicates(["VendorID", pickup]))
    clean[kind] = frame[frame["PULocationID"].isin(known) & frame["DOLocationID"].isin(known)
                        & (frame[pickup].dt.strftime("%Y-%m") == MONTH)]
report = pd.read_parquet(work / "cluster")
per_service = report.groupby("service_type").agg(trips=("total_monthly_trips", "sum"),
                                                 revenue=("revenue_monthly_total_amount", "sum"))
for kind, service in (("green", "Green"), ("yellow", "Yellow")):
    assert per_service.loc[service, "trips"] == len(clean[kind])
    assert abs(per_service.loc[service, "revenue"] - clean[kind]["total_amount"].sum()) < 0.01
assert summary["rows"] == len(report)
per_service

# %% [markdown]
# The same numbers as pandas. (Run the job with `master="local[2]"` instead and the output is identical, row for row:
# `tests/spark/test_spark.py` compares a cluster run with a local computation on every test run.) The executor's own logs
# (stdout, stderr) are in the worker's work folder, one folder per application — where to look when a task fails on a
# cluster:

# %%
print(sorted(p.name for p in (cluster.folder / "work").glob("app-*"))[-1:])
cluster.stop()
assert not cluster.status().running

# %% [markdown]
# (`zoomcamp spark cluster-up` / `cluster-down` do the same from a terminal; with `ZOOMCAMP_SPARK_MASTER=spark://
# 127.0.0.1:7077` every notebook of this week runs its session on that cluster.)
#
# ## On Dataproc
#
# Dataproc is GCP's managed Spark (and Hadoop): a cluster of VMs with YARN as the cluster manager, the GCS connector
# built in (so `gs://` paths just work) and the BigQuery connector available. The same script runs there with:
#
# - `--master yarn`, set by Dataproc itself;
# - `gs://` paths for the inputs and the output (week 2's bucket: the lake's `green/` and `yellow/` folders);
# - the course library shipped with the job (`--py-files zoomcamp.zip`, a zip of `shared/zoomcamp`), since the cluster
#   does not have it installed;
# - optionally the report written straight to BigQuery with the spark-bigquery connector
#   (`.write.format("bigquery").option("table", "trips_data_all.monthly_zone_revenue")`) instead of parquet.
#
# The commands (not run here: they need a GCP project and cost money; `gcloud` is not part of the course's offline
# setup):

# %%
settings = get_settings()
bucket = f"gs://{settings.gcs_bucket or 'YOUR-BUCKET'}"
dataproc_arguments = ["--green", f"{bucket}/green", "--yellow", f"{bucket}/yellow",
                      "--zones", f"{bucket}/zones/taxi_zone_lookup.csv", "--month", MONTH,
                      "--output", f"{bucket}/reports/monthly_zone_revenue/month={MONTH}"]
commands = f"""
# once: a small cluster (or use Dataproc Serverless: gcloud dataproc batches submit pyspark ...)
gcloud dataproc clusters create zoomcamp --region={settings.gcp_region} --single-node --image-version=2.2-debian12

# the job and the library, next to the data
(cd shared && zip -r ../zoomcamp.zip zoomcamp)
gsutil cp week_5_batch/jobs/revenue_report.py zoomcamp.zip {bucket}/code/

gcloud dataproc jobs submit pyspark {bucket}/code/revenue_report.py \\
    --cluster=zoomcamp --region={settings.gcp_region} --py-files={bucket}/code/zoomcamp.zip \\
    -- {" ".join(dataproc_arguments)}
"""
print(commands)

# %% [markdown]
# The arguments after `--` are the same as the local ones, with `gs://` paths: nothing in the script knows where it
# runs.

# %%
local_flags = [a for a in arguments if a.startswith("--")] + ["--output"]
assert [a for a in dataproc_arguments if a.startswith("--")] == local_flags
assert all(a.startswith("gs://") for a in dataproc_arguments[1::2] if a != MONTH)

# %% [markdown]
# ## Exercise 7
#
# Read the report the **cluster** wrote (`work / "cluster"`, with pandas) and compute the **Yellow** service's share of
# the month's total revenue (`revenue_monthly_total_amount`), as a fraction rounded to 3 decimals.

# %%
my_answer = None  # e.g. round(yellow_revenue / all_revenue, 3)

# %%
revenue = {kind: frame["total_amount"].sum() for kind, frame in clean.items()}
check(my_answer, round(revenue["yellow"] / sum(revenue.values()), 3))

# %% jupyter={"source_hidden": true} tags=["solution"]
report = pd.read_parquet(work / "cluster")
by_service = report.groupby("service_type")["revenue_monthly_total_amount"].sum()
solution = float(round(by_service["Yellow"] / by_service.sum(), 3))
assert check(solution, round(revenue["yellow"] / sum(revenue.values()), 3))
solution

# %% [markdown]
# ## Summary
#
# - A Spark job is a script with arguments run by `spark-submit`; keep the master and the paths out of the code.
# - Standalone mode: a master hands out a worker's cores and memory to applications; started here from pyspark's
#   `spark-class`, the same job, the master its only change.
# - On Dataproc: `yarn` as the master, `gs://` paths, the library shipped with `--py-files`; the script is unchanged.
#
# **Next:** [08 · Spark on Airflow](08_airflow.ipynb)

# %%
from zoomcamp import course

course.record("week_5_batch/07_spark_submit_and_clusters.ipynb")  # this notebook ran to the end
