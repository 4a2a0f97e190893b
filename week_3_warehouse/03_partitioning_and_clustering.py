# %% [markdown]
# # 03 · Partitioning and clustering
#
# **What you will learn**
# - partitioned tables (by pickup date) and clustered tables (by `VendorID`), and what each lets BigQuery skip;
# - `INFORMATION_SCHEMA.PARTITIONS`: a table's partitions and their rows;
# - the effect measured: files, row groups and bytes actually read for the same query on four layouts;
# - what BigQuery reports in the cloud (`dry_run`), best practices, and when *not* to partition;
# - what each query would cost on-demand, the free tier, a budget alert, and what to switch off after the course.
#
# **What you need running:** the local stack and the lake (the next cell ensures both, and notebook 02's tables).

# %%
import matplotlib.pyplot as plt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoomcamp import datasets, stack, warehouse
from zoomcamp.course import scratch
from zoomcamp.exercises import check
from zoomcamp.lake import Lake

stack.up()
lake = Lake()
months = ["2021-01", "2021-02", "2021-03"]
lake.ingest("yellow", months, progress=False)
wh = warehouse.Warehouse()
bq = wh.client
wh.create_dataset()
wh.run("02_external_table", kind="yellow")  # notebook 02's tables (idempotent)
wh.run("02_native_table", kind="yellow")
trips = pd.concat([datasets.read_csv(datasets.trip_file("yellow", m)) for m in months])  # the independent copy

# %% [markdown]
# ## Three tables, one query
#
# A **partitioned** table is split by the value of one column — here the pickup *date*: one partition per day. A
# query that filters on it reads only the matching partitions, and BigQuery bills only those. A **clustered** table
# keeps rows sorted by up to four columns inside each partition, in blocks; a filter on them skips blocks whose
# min/max cannot match. The DDL:

# %%
print(wh.sql("03_create_tables"))
wh.run("03_create_tables")
layouts = ["non_partitioned", "partitioned", "partitioned_clustered"]
described = pd.DataFrame([{"table": f"yellow_tripdata_{n}",
                           "partitioning": (t := bq.get_table(wh.table_id(f"yellow_tripdata_{n}"))).time_partitioning,
                           "clustering": t.clustering_fields} for n in layouts])
described

# %% [markdown]
# **On the emulator** the three tables exist with the same rows, but the DDL's `PARTITION BY` and `CLUSTER BY` are
# not recorded (the table metadata above shows none) — on BigQuery they are. The query gives the same answer on each:

# %%
print(wh.sql("03_query_two_weeks_vendor", table="yellow_tripdata_partitioned_clustered"))
answers = pd.concat([wh.query("03_query_two_weeks_vendor", table=f"yellow_tripdata_{n}").assign(table=n)
                     for n in layouts]).set_index("table")
dates = trips["tpep_pickup_datetime"].dt.date.astype(str)
chosen = trips[dates.between("2021-02-01", "2021-02-14") & (trips["VendorID"] == 1)]
assert (answers["trips"] == len(chosen)).all()
assert ((answers["revenue"] - chosen["total_amount"].sum()).abs() < 0.05).all()
answers

# %% [markdown]
# ## `INFORMATION_SCHEMA.PARTITIONS`
#
# To see partitions on the emulator, declare the partitioning through the API — as Terraform's `google_bigquery_table`
# (`time_partitioning { field = ... }`) does — and fill the table with `INSERT ... SELECT`. The emulator records that
# declaration, and lists one partition per pickup day (`partition_id` is `YYYYMMDD`):

# %%
wh.create_partitioned_table("yellow_tripdata_partitioned_api", like="yellow_tripdata",
                            field="tpep_pickup_datetime", cluster_by=["VendorID"])
wh.run("03_fill_table", table="yellow_tripdata_partitioned_api")
table = bq.get_table(wh.table_id("yellow_tripdata_partitioned_api"))
print("partitioning:", table.time_partitioning, "| clustering:", table.clustering_fields)
partitions = wh.query("03_partitions", table="yellow_tripdata_partitioned_api")
per_day = trips.groupby(trips["tpep_pickup_datetime"].dt.strftime("%Y%m%d")).size()
assert partitions.set_index("partition_id")["total_rows"].astype(int).to_dict() == per_day.to_dict()
print(len(partitions), "partitions")
partitions.head(8)

# %% [markdown]
# Three months make about 90 daily partitions — plus a few for the stray dates the TLC files carry (2008, 2020, early
# April). Each partition is billed and listed on its own: stray dates cost partitions too.
#
# ## The effect, measured
#
# The emulator reports `total_bytes_processed = 0` for every query, so it cannot show what partitioning saves. What
# can be measured here is what a columnar engine *actually reads* when the same rows are stored the way BigQuery
# stores each table: the native table's rows are written as parquet in four layouts — one file; one folder per pickup
# day; clustered only (sorted by `VendorID`); partitioned and clustered — in blocks (row groups) of 50 rows, whose
# min/max statistics play the part of BigQuery's block metadata. DuckDB runs the query on each, through a filesystem
# that counts every byte it reads (`warehouse.scan_profile`).

# %%
rows = wh.run("03_all_rows").to_arrow(create_bqstorage_client=False)
rows = rows.append_column("pickup_date", pc.cast(rows["tpep_pickup_datetime"], pa.date32()))
base = scratch(3, "layouts")
layout_options = {
    "non_partitioned": {},
    "clustered": {"cluster_by": "VendorID"},
    "partitioned": {"partition_by": "pickup_date"},
    "partitioned_clustered": {"partition_by": "pickup_date", "cluster_by": "VendorID"},
}
measured = []
for name, options in layout_options.items():
    files = warehouse.write_layout(rows, base / name, row_group_size=50, **options)
    date = "pickup_date" if "partition_by" in options else "CAST(tpep_pickup_datetime AS DATE)"
    profile = warehouse.scan_profile(f'''
        SELECT count(*), round(sum(total_amount), 2)
        FROM read_parquet('{warehouse.counted(base / name)}/**/*.parquet', hive_partitioning = true)
        WHERE {date} BETWEEN DATE '2021-02-01' AND DATE '2021-02-14' AND VendorID = 1''', files)
    assert profile["result"] == [(len(chosen), round(chosen["total_amount"].sum(), 2))]
    measured.append({"layout": name, **{k: v for k, v in profile.items() if k != "result"}})
measured = pd.DataFrame(measured).set_index("layout")
measured

# %% [markdown]
# - **Partitioning** keeps DuckDB out of every folder whose date is outside the two weeks: it reads data only from
#   those days' files (and the footer of one more, for the schema) — a fraction of the bytes.
# - **Clustering** sorts each file by `VendorID`, so whole row groups hold vendor 2 only; their min/max rules them
#   out and they are never read: in one big file (`clustered`) and inside each day (`partitioned_clustered`) alike.
#   Combined, the query touches a small share of the row groups.
# - `bytes_read` counts everything, `data_bytes_read` only what lies inside row groups; the difference is metadata
#   (footers with every row group's statistics, read once to plan and again to scan). With blocks this small it is a
#   large share: many small partitions or blocks mean much metadata. BigQuery has the same trade-off, which is why it
#   advises against partitions under about 1 GB.

# %%
days = trips.loc[dates.between("2021-02-01", "2021-02-14"), "tpep_pickup_datetime"].dt.date.nunique()
assert measured.loc["partitioned", "files_read"] <= days < measured.loc["partitioned", "files_total"]
assert measured.loc["partitioned", "bytes_read"] < measured.loc["non_partitioned", "bytes_read"]
assert measured.loc["clustered", "data_bytes_read"] < measured.loc["non_partitioned", "data_bytes_read"] / 2
assert measured.loc["clustered", "row_groups_read"] < measured.loc["non_partitioned", "row_groups_read"]
assert measured.loc["partitioned_clustered", "row_groups_read"] < measured.loc["partitioned", "row_groups_read"]
fig, axes = plt.subplots(1, 2, figsize=(11, 3))
(measured[["data_bytes_read", "bytes_read"]] / 1e3).plot.barh(ax=axes[0], title="KB read: row groups, all")
(measured["row_groups_read"] / measured["row_groups_total"]).plot.barh(ax=axes[1], title="share of row groups read")
axes[1].set_ylabel("")
plt.tight_layout()

# %% [markdown]
# ## What BigQuery reports
#
# In the cloud, a **dry run** (`QueryJobConfig(dry_run=True)`, free) returns the bytes a query would bill, and the
# console shows it before you press *Run*. With `backend = "gcp"` the next cell fills the column from BigQuery itself;
# on the emulator it stays empty (the emulator reports 0).

# %%
cloud = pd.DataFrame({"table": [f"yellow_tripdata_{n}" for n in layouts],
                      "bytes BigQuery would bill (dry run)": [
                          wh.dry_run_bytes("03_query_two_weeks_vendor", table=f"yellow_tripdata_{n}") for n in layouts]})
if wh.emulator:
    assert cloud.iloc[:, 1].isna().all()
cloud

# %% [markdown]
# With `backend = "gcp"` and the real TLC months in the lake (`data_source = "download"`), the differences are those of
# gigabytes: run it and compare with the measurement above.
#
# ## What it costs
#
# On-demand pricing bills a query by the **logical** (uncompressed) bytes of the columns it reads, in the partitions
# and blocks it cannot skip — not by the compressed bytes on disk, nor by the rows it returns. As of December 2026
# ([cloud.google.com/bigquery/pricing](https://cloud.google.com/bigquery/pricing)): **$6.25 per TiB** scanned, with a
# minimum of **10 MB per table** a query reads; the first **1 TiB of queries** and **10 GiB of storage** each month
# are free; storage beyond that costs about $0.02 per GiB per month (active), half after 90 days untouched. A dry run
# (above) costs nothing and is the figure to check before a big query.
#
# Our query reads three columns: `tpep_pickup_datetime` (TIMESTAMP), `VendorID` (INT64) and `total_amount`
# (FLOAT64), 8 logical bytes each per row. What each layout lets BigQuery skip comes from the measurement above: an
# unpartitioned, unclustered table is read whole; the others only the share of blocks the local run had to read.

# %%
PRICE_PER_TIB, TIB, GIB, MB = 6.25, 2**40, 2**30, 10**6
MINIMUM_PER_TABLE = 10 * MB
BYTES_PER_ROW = {"tpep_pickup_datetime": 8, "VendorID": 8, "total_amount": 8}  # BigQuery's logical sizes


def billed(logical_bytes):
    return max(int(logical_bytes), MINIMUM_PER_TABLE)


def dollars(billed_bytes):
    return billed_bytes / TIB * PRICE_PER_TIB


share = measured["row_groups_read"] / measured["row_groups_total"]
share["non_partitioned"] = 1.0  # no partitions, no clustering: every block of the three columns is read
cost = pd.DataFrame({"share of the table read": share.round(3),
                     "logical bytes": (share * len(rows) * sum(BYTES_PER_ROW.values())).round().astype(int)})
cost["billed bytes"] = cost["logical bytes"].map(billed)
cost["price (US$)"] = cost["billed bytes"].map(dollars).round(6)
# The same query over 100 million rows (about three years of yellow trips): the layout now decides the bill.
at_scale = cost["logical bytes"] * (100e6 / len(rows))
cost["at 100M rows: GB"] = (at_scale / 1e9).round(2)
cost["at 100M rows: US$"] = at_scale.map(billed).map(dollars).round(4)
RUNS_A_MONTH = 12 * 24 * 30  # a dashboard tile refreshing this query every 5 minutes
cost["that, every 5 min for a month: US$"] = (cost["at 100M rows: US$"] * RUNS_A_MONTH).round(2)
assert (cost["billed bytes"] >= MINIMUM_PER_TABLE).all()
assert cost.loc["partitioned_clustered", "logical bytes"] < cost.loc["partitioned", "logical bytes"]
assert cost.loc["partitioned", "logical bytes"] < cost.loc["non_partitioned", "logical bytes"]
monthly = cost["that, every 5 min for a month: US$"]
assert monthly["non_partitioned"] > 5 * monthly["partitioned_clustered"]
cost.astype(object).T  # one column per layout; object: each number printed as itself

# %% [markdown]
# On the 5,000-row sample every query is far below 10 MB, so each bills the minimum: a fraction of a thousandth of a
# cent. At 100 million rows one run is still about a cent, but queries are rarely run once: a dashboard tile that
# refreshes every five minutes runs it 8,640 times a month, and there the layout is the difference between a line
# on the bill and almost nothing — the unpartitioned table bills the whole columns every time, the partitioned and
# clustered one under a tenth of them. `SELECT *` on the unpartitioned table reads every column:

# %%
all_columns = sum(8 if f.field_type != "STRING" else 2 + 1 for f in warehouse.tlc_schema("yellow"))
full_scan = 100e6 * all_columns  # bytes, at 100 million rows (a 1-character flag is 2 + 1 bytes)
free_scans = int(TIB // full_scan)
print(f"SELECT * over 100M rows: {full_scan / 1e9:.1f} GB, US$ {dollars(full_scan):.2f}; "
      f"the free TiB covers {free_scans} of them a month")
assert free_scans >= 1 and dollars(full_scan) > cost.loc["non_partitioned", "at 100M rows: US$"]

# %% [markdown]
# **Budget alerts.** A budget does not stop spending; it e-mails the billing account's administrators when spending
# reaches the thresholds you set. The course's Terraform declares one,
# [`week_1_basics/terraform/gcp/budget.tf`](../week_1_basics/terraform/gcp/budget.tf): a `google_billing_budget` on
# your project, with alerts at 50 %, 90 % and 100 % of `budget_amount` (default 10 in your billing currency) and on
# the forecast reaching 100 %. It needs your billing account id (`billing_account`, no default) and a one-time
# `gcloud services enable billingbudgets.googleapis.com`. To stop spending at a threshold, a budget can publish to
# Pub/Sub and a small function can disable billing; for a course project, the alert and the steps below are enough.
#
# **After the course, switch off** what keeps costing: `terraform destroy` in `week_1_basics/terraform/gcp` (the
# bucket and the dataset with their contents: storage is billed every month), week 7's `terraform destroy` if you
# deployed the project, any Compute Engine VM, Dataproc cluster or Cloud Composer environment you started (they bill
# per hour, idle or not), and the service-account keys you created. Locally, `zoomcamp stack down`.
#
# ## Best practices
#
# **Partition** on the column most queries filter by (a date or timestamp, ingestion time, or an integer range), at a
# granularity that keeps partitions large (hourly, daily, monthly, yearly). Set `require_partition_filter` on big
# tables so nobody scans everything by accident. **Don't partition** small tables (under ~1 GB per partition the
# per-partition metadata costs more than it saves), or on a column with too many values: BigQuery caps the number of
# partitions per table (4,000 when this course was first written; check the current quota) and per job.
#
# **Cluster** on up to four columns you filter or aggregate by, most filtered first; high-cardinality columns work
# well. BigQuery re-clusters automatically in the background as data arrives. Prefer clustering when partitions would
# be small, when a filter uses many values, or when you need more than one column.
#
# General cost rules: avoid `SELECT *`; price queries before running them; materialise intermediate results; filter
# on partitions; use streaming inserts with caution; join large tables first, small later (broadcast joins).
#
# ## Exercise 1
#
# How many daily partitions does `yellow_tripdata_partitioned_api` have? Read it from `INFORMATION_SCHEMA.PARTITIONS`.

# %%
my_answer = None  # an integer

# %%
check(my_answer, trips["tpep_pickup_datetime"].dt.date.nunique())

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = len(wh.query("03_partitions", table="yellow_tripdata_partitioned_api"))
assert check(solution, trips["tpep_pickup_datetime"].dt.date.nunique())

# %% [markdown]
# ## Exercise 2
#
# Which partition (`partition_id`) holds the most rows? If several tie, the earliest.

# %%
my_answer = None  # e.g. "20210105"

# %%
check(my_answer, per_day[per_day == per_day.max()].index.min())

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = wh.query("03_exercise_busiest_partition", table="yellow_tripdata_partitioned_api")["partition_id"].item()
assert check(solution, per_day[per_day == per_day.max()].index.min())

# %% [markdown]
# ## Exercise 3
#
# Monthly partitions (`PARTITION BY DATE_TRUNC(DATE(tpep_pickup_datetime), MONTH)`) would suit a table this small
# better. How many partitions would `yellow_tripdata` have then?

# %%
my_answer = None  # an integer

# %%
check(my_answer, trips["tpep_pickup_datetime"].dt.to_period("M").nunique())

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = int(wh.query("03_exercise_monthly_partitions")["partitions"].item())
assert check(solution, trips["tpep_pickup_datetime"].dt.to_period("M").nunique())

# %% [markdown]
# ## Summary
#
# - Partitioning splits a table by one column's value; filters on it skip whole partitions (and their cost).
# - Clustering sorts rows inside partitions in blocks; filters on the cluster columns skip blocks by min/max.
# - Measured locally on the same rows: partition pruning cuts files and bytes, clustering cuts row groups —
#   most in large partitions.
# - The emulator does not record DDL partitioning nor report bytes; the API-declared table shows
#   `INFORMATION_SCHEMA.PARTITIONS`, and `dry_run` gives BigQuery's figures with `backend = "gcp"`.
# - On-demand queries bill the logical bytes of the columns read ($6.25/TiB, 10 MB minimum per table, 1 TiB free a
#   month): the layout decides the bill at scale. A budget alert (Terraform) warns you; destroy what you made after.
#
# **Next:** [04 · Loading data](04_loading_data.ipynb)

# %%
from zoomcamp import course

course.record("week_3_warehouse/03_partitioning_and_clustering.ipynb")  # this notebook ran to the end
