# %% [markdown]
# # 02 · External tables and native tables
#
# **What you will learn**
# - an **external table** over the lake: BigQuery reading parquet files in GCS in place, with hive partitions;
# - a **native table** loaded from it with `CREATE TABLE ... AS SELECT`;
# - why their row counts must equal the lake's own check, and checking it;
# - what the local emulator does differently, and how the course bridges it.
#
# **What you need running:** the local stack and the lake (the next cell ensures both).

# %%
import pandas as pd

from zoomcamp import datasets, stack, warehouse
from zoomcamp.exercises import check
from zoomcamp.lake import Lake

stack.up()
lake = Lake()
months = ["2021-01", "2021-02", "2021-03"]
for kind in ("yellow", "green"):
    lake.ingest(kind, months, progress=False)  # idempotent: there after week 2
wh = warehouse.Warehouse()
bq = wh.client
wh.create_dataset()
# The source files, read with pandas: the independent computation every result below is checked against.
source = {kind: {m: datasets.read_csv(datasets.trip_file(kind, m)) for m in months} for kind in ("yellow", "green")}

# %% [markdown]
# ## An external table over the lake
#
# An external table is only a definition: a schema and where the files are. Each query reads the files in GCS — no
# loading, always up to date, but no caching, no cost estimate before running, and slower than native storage. The
# lake's `year=`/`month=` folders become columns BigQuery prunes on (*hive partitioning*), exactly like week 2's
# Terraform declares it. The SQL:

# %%
print(wh.sql("02_external_table", kind="yellow"))
for kind in ("yellow", "green"):
    wh.run("02_external_table", kind=kind)

# %% [markdown]
# **On the emulator** this statement cannot run as is: the emulator has no external tables (`CREATE EXTERNAL TABLE`
# does not parse there, and one made through the API reads as empty). The course's stand-in
# (`warehouse.Warehouse.execute`) turns it into a **view** over the same files: `gs://bucket/path` is mapped to the
# folder where the local GCS emulator keeps that bucket's objects, and BigQuery's `*` (any characters, `/` included)
# to DuckDB's recursive `**/*.parquet`. What ran:

# %%
ddl = wh.sql("02_external_table", kind="yellow")
if wh.emulator:
    print(warehouse.external_table_as_view(ddl, wh.gcs_root))
table = bq.get_table(wh.table_id("external_yellow_tripdata"))
assert table.table_type == ("VIEW" if wh.emulator else "EXTERNAL")
print(table.table_type, "|", ", ".join(f"{f.name} {f.field_type}" for f in table.schema))

# %% [markdown]
# So on the emulator the table says `VIEW` where BigQuery says `EXTERNAL`; it reads the same files and has the same
# columns, the partition columns `year` and `month` last. (Here the parquet timestamps, which carry no time zone,
# read as `DATETIME`; notebook 04 loads tables with the TLC schema, where they are `TIMESTAMP`.)
#
# ## Row counts: the warehouse agrees with the lake
#
# Week 2's `lake.check()` counts each month's rows from the parquet footers and compares them with what was written.
# The external table must see exactly those rows, month by month:

# %%
lake_rows = pd.DataFrame([{"year": int(s.month[:4]), "month": int(s.month[5:]), "lake_rows": s.rows}
                          for s in lake.check(["yellow"], months)])
external = wh.query("02_rows_by_month", table="external_yellow_tripdata")
compared = lake_rows.merge(external, on=["year", "month"], how="outer")
assert (compared["lake_rows"] == compared["trips"]).all()
assert compared["trips"].tolist() == [len(source["yellow"][m]) for m in months]
compared

# %% [markdown]
# ## A native table
#
# A native table holds its own copy of the rows in BigQuery's columnar storage: queries are faster, cached, and
# estimated before they run (`dry_run`); the price is storage, and the copy is as fresh as its last load. The classic
# way from an external table is one statement:

# %%
print(wh.sql("02_native_table", kind="yellow"))
wh.run("02_native_table", kind="yellow")
native = wh.query("02_rows_by_month", table="yellow_tripdata")
assert native.equals(external)
assert bq.get_table(wh.table_id("yellow_tripdata")).num_rows == lake_rows["lake_rows"].sum()
native

# %% [markdown]
# | | external table | native table |
# |---|---|---|
# | where the data is | files in GCS (or Drive, Bigtable) | BigQuery's storage |
# | freshness | always the files' current content | as of the last load |
# | speed, caching | slower; results not cached | fast; cached |
# | cost estimate (`dry_run`) | not available | exact |
# | storage cost | GCS only | BigQuery storage (cheaper after 90 days untouched) |
# | partitioning | hive folders | `PARTITION BY` (notebook 03) |
#
# ## Querying it
#
# Trips, revenue and average trip length per pickup month (trips picked up in 2021; the files carry a few trips with
# odd dates — from 2008, or days into the next month — as the real TLC files do):

# %%
print(wh.sql("02_monthly_summary"))
summary = wh.query("02_monthly_summary")

trips = pd.concat(source["yellow"].values())
trips = trips[trips["tpep_pickup_datetime"].dt.year == 2021]
seconds = (trips["tpep_dropoff_datetime"] - trips["tpep_pickup_datetime"]).dt.total_seconds()
by_month = trips.assign(seconds=seconds).groupby(trips["tpep_pickup_datetime"].dt.to_period("M"))
expected = pd.DataFrame({"trips": by_month.size(), "revenue": by_month["total_amount"].sum().round(2),
                         "avg_minutes": (by_month["seconds"].mean() / 60).round(2)}).reset_index(drop=True)
assert summary["trips"].tolist() == expected["trips"].tolist()
assert (summary["revenue"] - expected["revenue"]).abs().max() < 0.05
assert (summary["avg_minutes"] - expected["avg_minutes"]).abs().max() <= 0.01
summary

# %% [markdown]
# ### Two more differences, and how the SQL avoids them
#
# - **`TIMESTAMP_DIFF` at unit edges.** BigQuery counts whole units between two timestamps; the emulator (DuckDB's
#   `date_diff`) counts unit *boundaries* crossed. One second across a minute boundary:

# %%
edge = wh.query("02_timestamp_diff_edge")
assert edge["seconds"].item() == 1
assert edge["minutes"].item() == (1 if wh.emulator else 0)
edge

# %% [markdown]
#   The summary above therefore takes the difference in `SECOND` and divides by 60: the same on both.
# - **Results as DataFrames.** `rows.to_dataframe()` first asks the *BigQuery Storage API* (on Google's servers, gRPC)
#   for the rows; against the emulator that call fails. `to_dataframe(create_bqstorage_client=False)` reads them
#   through the REST API instead — that is what `warehouse.to_frame` and `wh.query` do, on both backends.
#
# ## Exercise 1
#
# How many green trips are in the lake's **February 2021** partition? Query the external table
# `external_green_tripdata` with a filter on the partition columns (`year`, `month`).

# %%
my_answer = None  # an integer

# %%
check(my_answer, len(source["green"]["2021-02"]))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = int(wh.query("02_exercise_green_february")["trips"].item())
assert check(solution, len(source["green"]["2021-02"]))

# %% [markdown]
# ## Exercise 2
#
# Which `VendorID` has the most revenue (`sum(total_amount)`) in the native yellow table, and how much (to the cent)?
# Answer `(vendor, revenue)`. Try BigQuery's `QUALIFY` to keep the top row of a window.

# %%
my_answer = None  # (vendor, revenue)

# %%
all_yellow = pd.concat(source["yellow"].values())
revenue = all_yellow.groupby("VendorID")["total_amount"].sum()
check(my_answer, (int(revenue.idxmax()), round(float(revenue.max()), 2)))

# %% jupyter={"source_hidden": true} tags=["solution"]
top = wh.query("02_exercise_top_vendor_revenue")
solution = (int(top["VendorID"].item()), float(top["revenue"].item()))
assert check(solution, (int(revenue.idxmax()), round(float(revenue.max()), 2)))

# %% [markdown]
# ## Exercise 3
#
# How many trips in `yellow_tripdata` were picked up outside the month of the partition (file) they are in? Compare
# `DATE_TRUNC(DATE(tpep_pickup_datetime), MONTH)` with `DATE(year, month, 1)`.

# %%
my_answer = None  # an integer

# %%
outside = sum(int((df["tpep_pickup_datetime"].dt.strftime("%Y-%m") != m).sum()) for m, df in source["yellow"].items())
check(my_answer, outside)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = int(wh.query("02_exercise_stragglers")["trips"].item())
assert check(solution, outside)

# %% [markdown]
# ## Summary
#
# - An external table reads the lake's files in place; hive folders become partition columns.
# - A native table is a copy in BigQuery's storage: faster, cached, estimable — refreshed by loads.
# - Both agree with the lake's own check, month by month.
# - On the emulator, an external table is a view over the same files (the course maps `gs://` to the GCS emulator's
#   folder), `TIMESTAMP_DIFF` counts boundaries, and DataFrames come through REST
#   (`create_bqstorage_client=False`).
#
# **Next:** [03 · Partitioning and clustering](03_partitioning_and_clustering.ipynb)

# %%
from zoomcamp import course

course.record("week_3_warehouse/02_external_and_native_tables.ipynb")  # this notebook ran to the end
