# %% [markdown]
# # 01 · What a data warehouse is, and why BigQuery is fast
#
# **What you will learn**
# - OLTP vs OLAP: why analytics gets its own database;
# - the star schema: facts and dimensions, with the taxi data;
# - what BigQuery is: columnar storage, the Dremel execution tree, storage separated from compute, slots;
# - the columnar advantage, measured: bytes actually read for two columns vs all of them;
# - your first BigQuery SQL with the official client, on the local emulator.
#
# **What you need running:** the local stack (PostgreSQL, the GCS emulator and the BigQuery emulator) and week 2's
# lake; the next cell starts the one and fills the other (both are no-ops when already there).

# %%
import pandas as pd
import pyarrow.parquet as pq

from zoomcamp import datasets, stack, warehouse
from zoomcamp.course import scratch
from zoomcamp.exercises import check
from zoomcamp.lake import Lake

stack.up()
lake = Lake()
lake.ingest("yellow", ["2021-01..2021-03"], progress=False)  # week 2's lake: idempotent
wh = warehouse.Warehouse()  # the BigQuery client: the local emulator, or BigQuery itself with backend = "gcp"
wh.create_dataset()
print("BigQuery:", "local emulator" if wh.emulator else "Google Cloud", "| project", wh.project, "| dataset", wh.dataset)

# %% [markdown]
# ## OLTP vs OLAP
#
# The PostgreSQL of week 1 is an **OLTP** database (online *transaction* processing): it serves an application, one
# small read or write at a time. A **data warehouse** is an **OLAP** system (online *analytical* processing): it
# answers questions over many rows at once.
#
# | | OLTP | OLAP (a warehouse) |
# |---|---|---|
# | purpose | run the business (bookings, payments) | analyse it (reports, dashboards, ML) |
# | typical query | fetch or update one trip by id | revenue per zone per month over years |
# | writes | many small transactions | periodic bulk loads (batch) or streams |
# | data model | normalised (3NF): no duplication | denormalised: star schema, wide tables |
# | storage | row-oriented | column-oriented |
# | size | gigabytes, current data | terabytes to petabytes, history |
# | users | applications, clerks | analysts, data scientists, BI tools |
#
# ## The star schema
#
# A warehouse models a business process as one **fact table** (one row per event, with measures and keys) surrounded
# by **dimension tables** (the who/what/where that describe it). For the taxi data:
#
# | table | kind | rows | columns |
# |---|---|---|---|
# | `fact_trips` | fact | one per trip | pickup/dropoff time, `PULocationID`, `DOLocationID`, `payment_type`, fare, tip, total |
# | `dim_zones` | dimension | one per taxi zone (265) | `LocationID`, `Borough`, `Zone`, `service_zone` |
# | `dim_payment_type` | dimension | one per payment type | `payment_type`, `description` |
# | `dim_date` | dimension | one per day | date, weekday, month, holiday flag |
#
# Queries join the fact to the dimensions it needs and aggregate. Week 4 builds this model with dbt; here the first
# dimension goes into the warehouse, loaded from the zone lookup file by a **load job** (an upload, as `bq load` does).

# %%
wh.load_csv_file(datasets.zones_file(), "dim_zones", "zones")
print(wh.sql("01_dim_zones_by_borough"))
by_borough = wh.query("01_dim_zones_by_borough")
zones = datasets.read_csv(datasets.zones_file())
expected = zones.groupby("Borough").size().rename("zones").reset_index().sort_values(["zones", "Borough"], ascending=[False, True])
assert by_borough.values.tolist() == expected.values.tolist()
by_borough

# %% [markdown]
# `wh.query(name)` ran the file `week_3_warehouse/sql/01_dim_zones_by_borough.sql` (printed above, with `${project}`
# and `${dataset}` filled in) through the official `google-cloud-bigquery` client and returned a DataFrame. Every
# BigQuery statement of this week lives in that folder; the notebooks run those files, so what you read is what ran.
#
# ## What BigQuery is
#
# BigQuery is Google Cloud's **serverless** warehouse: no server to size or start; you load data and run SQL, and pay
# for bytes stored and bytes scanned (on-demand) or for reserved compute (capacity pricing, in *slots*).
#
# - **Columnar storage (Capacitor).** Each column is stored apart, compressed, in Google's distributed file system
#   (Colossus). A query reads only the columns it names — so `SELECT *` is the most expensive thing you can write.
# - **Dremel, the execution tree.** A query is split into a tree: a *root* server receives it, *mixers* split it and
#   combine partial results, thousands of *leaf* servers each scan a slice of the columns. Aggregations happen on the
#   way up. This is why a scan of billions of rows takes seconds.
# - **Storage separated from compute.** Storage (Colossus) and compute (Borg, Google's cluster manager) scale
#   independently, joined by a petabit network (Jupiter): data is not tied to any machine, so any number of leaves can
#   read it.
# - **Slots.** The unit of compute: a slot is a share of CPU, memory and network. A query gets as many slots as its
#   stages can use (on-demand, up to a project quota; or what your reservation holds).
# - Also: a result cache (a repeated query costs nothing), partitioned and clustered tables (notebook 03), BigQuery ML
#   (notebook 06), and geography types.
#
# ### The columnar advantage, measured
#
# The emulator runs on DuckDB, which reports no bytes for a query (BigQuery's `total_bytes_processed`; notebook 03).
# So the measurement here is direct: a copy of the lake's yellow months on local disk, read by DuckDB through a
# filesystem that counts every byte it hands over (`warehouse.scan_profile`).

# %%
work = scratch(3, "columnar")  # a folder of this week's own: `zoomcamp reset 3` clears it
work.mkdir(parents=True, exist_ok=True)
local = work / "yellow_2021q1.parquet"
pq.write_table(lake.dataset("yellow").to_table(), local)
files = [local]

everything = warehouse.scan_profile(f"SELECT * FROM '{warehouse.counted(local)}'", files)
two_columns = warehouse.scan_profile(
    f"SELECT sum(trip_distance), sum(tip_amount) FROM '{warehouse.counted(local)}'", files)
meta = pq.read_metadata(local)
sizes = pd.Series({meta.row_group(0).column(i).path_in_schema: sum(meta.row_group(g).column(i).total_compressed_size
                   for g in range(meta.num_row_groups)) for i in range(meta.num_columns)})
measured = pd.DataFrame({"query": ["SELECT *", "SELECT sum(trip_distance), sum(tip_amount)"],
                         "bytes read": [everything["bytes_read"], two_columns["bytes_read"]]})
measured["share of the file"] = (measured["bytes read"] / local.stat().st_size).round(3)
assert everything["bytes_read"] >= sizes.sum()  # every column's data was read
assert two_columns["bytes_read"] >= sizes[["trip_distance", "tip_amount"]].sum()  # ... and these two columns'
assert two_columns["bytes_read"] < everything["bytes_read"] / 3
measured

# %% [markdown]
# Reading two of nineteen columns costs a fraction of the file. The lower bounds in the asserts come from the parquet
# footer (each column chunk's compressed size): what is read beyond them is the footer itself and page headers. In
# BigQuery the same query is *billed* for those two columns only — the reason to name columns instead of `SELECT *`,
# and why `LIMIT` does not make a query cheaper (it does not reduce the columns scanned).
#
# Bytes per column, from the footer:

# %%
ax = (sizes.sort_values() / 1e3).plot.barh(figsize=(7, 5), title="yellow 2021 Q1: compressed bytes per column (KB)")
ax.set_xlabel("KB");

# %% [markdown]
# ## Exercise 1
#
# How many zones of each `service_zone` lie in **Manhattan**? Answer with a DataFrame of two columns (service zone,
# zones), ordered by service zone — written as BigQuery SQL over `dim_zones` and run with `wh.client.query(...)` (then
# `warehouse.to_frame(job)`), or with pandas if you prefer to check yourself first.

# %%
my_answer = None  # a DataFrame: service_zone, zones

# %%
manhattan = zones[zones["Borough"] == "Manhattan"].groupby("service_zone").size().reset_index()
check(my_answer, manhattan)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = wh.query("01_exercise_service_zones")
assert check(solution, manhattan)

# %% [markdown]
# ## Exercise 2
#
# Which column of the yellow parquet takes the most bytes on disk (compressed)? Read it from the file's footer —
# DuckDB's `parquet_metadata('<file>')` lists each column chunk with `path_in_schema` and `total_compressed_size`.

# %%
my_answer = None  # a column name

# %%
check(my_answer, sizes.idxmax())

# %% jupyter={"source_hidden": true} tags=["solution"]
import duckdb

solution = duckdb.sql(f'''
    SELECT path_in_schema FROM parquet_metadata('{local}')
    GROUP BY path_in_schema ORDER BY sum(total_compressed_size) DESC LIMIT 1
''').fetchone()[0]
assert check(solution, sizes.idxmax())

# %% [markdown]
# ## Exercise 3
#
# Which borough has the most zones whose `service_zone` is `'Boro Zone'` (the zones where green cabs may pick up)?

# %%
my_answer = None  # a borough name

# %%
boro = zones[zones["service_zone"] == "Boro Zone"].groupby("Borough").size()
check(my_answer, boro[boro == boro.max()].index.min())

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = wh.query("01_exercise_boro_zones")["Borough"].iloc[0]
assert check(solution, boro[boro == boro.max()].index.min())

# %% [markdown]
# ## Summary
#
# - OLTP serves applications row by row; a warehouse (OLAP) answers questions over many rows, modelled as a star
#   schema of facts and dimensions.
# - BigQuery stores columns apart (Capacitor on Colossus), runs queries as a Dremel tree on slots, and keeps storage
#   and compute apart so each scales alone.
# - Columnar storage means a query reads — and in BigQuery pays for — the columns it names: measured here, two
#   columns cost a fraction of `SELECT *`.
# - `warehouse.Warehouse()` gives the official client (emulator or BigQuery) and runs the SQL files of
#   `week_3_warehouse/sql/`.
#
# **Next:** [02 · External tables and native tables](02_external_and_native_tables.ipynb)

# %%
from zoomcamp import course

course.record("week_3_warehouse/01_data_warehouse.ipynb")  # this notebook ran to the end
