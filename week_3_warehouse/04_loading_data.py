# %% [markdown]
# # 04 · Loading data
#
# **What you will learn**
# - the ways data gets into BigQuery: load jobs, streaming inserts, external tables (and when to use which);
# - write dispositions: `WRITE_TRUNCATE`, `WRITE_APPEND`, `WRITE_EMPTY` — and why truncate makes a load idempotent;
# - upserts with `MERGE`;
# - schema evolution: a new column arrives;
# - the load and a query job scheduled by Airflow (a DAG tested with `dag.test()`).
#
# **What you need running:** the local stack and the lake (the next cell ensures both).

# %%
import pandas as pd
from google.api_core.exceptions import BadRequest
from google.cloud import bigquery

from zoomcamp import datasets, stack, warehouse
from zoomcamp.exercises import check
from zoomcamp.lake import Lake

stack.up()
lake = Lake()
months = ["2021-01", "2021-02", "2021-03"]
lake.ingest("yellow", months, progress=False)
wh = warehouse.Warehouse()
bq = wh.client
wh.create_dataset()
source = {m: datasets.read_csv(datasets.trip_file("yellow", m)) for m in months}  # the independent copy
lake_rows = {s.month: s.rows for s in lake.check(["yellow"], months)}
yellow = f"{wh.lake}/yellow"  # gs://zoomcamp-lake/yellow (or your bucket)
bq.delete_table(wh.table_id("yellow_loads"), not_found_ok=True)  # start this notebook's table afresh

# %% [markdown]
# ## Three ways in
#
# | | load job | streaming insert | external table |
# |---|---|---|---|
# | what | a batch of files (GCS or upload) becomes table data | rows sent one request at a time | files stay in GCS, read at query time |
# | API | `load_table_from_uri`, `bq load` | `insert_rows_json` (`tabledata.insertAll`), Storage Write API | `CREATE EXTERNAL TABLE` |
# | cost | free (uses a shared slot pool) | paid per GB inserted | queries read the files |
# | latency | minutes, in batches | seconds | none (no copy) |
# | idempotent | yes, with `WRITE_TRUNCATE` of a table or partition | no: retries can duplicate rows | yes |
# | use it for | the daily/monthly batch (this course) | events that must be queryable at once | exploring, rarely read data |
#
# Other routes: `INSERT ... SELECT` / `CREATE TABLE AS SELECT` (notebook 02), the BigQuery Data Transfer Service
# (scheduled copies from GCS, S3, SaaS), and Dataflow/Spark connectors.
#
# ## Load jobs and write dispositions
#
# `wh.load_parquet` runs a load job of the lake's parquet files with the TLC schema and the lake's hive partition
# keys (`year`, `month`). First January, twice — `WRITE_TRUNCATE` replaces the table's content, so the second run
# leaves it as the first did:

# %%
january = f"{yellow}/year=2021/month=01/*"
for attempt in (1, 2):
    wh.load_parquet(january, "yellow_loads", "yellow", write_disposition="WRITE_TRUNCATE")
    print(f"after load {attempt}:", wh.query("04_count", table="yellow_loads")["trips"].item(), "rows")
assert wh.query("04_count", table="yellow_loads")["trips"].item() == lake_rows["2021-01"]

# %% [markdown]
# `WRITE_APPEND` adds to what is there (run twice, it loads twice: that is how duplicates happen), and `WRITE_EMPTY`
# refuses to write into a table that has rows:

# %%
wh.load_parquet(f"{yellow}/year=2021/month=02/*", "yellow_loads", "yellow", write_disposition="WRITE_APPEND")
after_append = wh.query("04_count", table="yellow_loads")["trips"].item()
assert after_append == lake_rows["2021-01"] + lake_rows["2021-02"] == len(source["2021-01"]) + len(source["2021-02"])
try:
    wh.load_parquet(f"{yellow}/year=2021/month=03/*", "yellow_loads", "yellow", write_disposition="WRITE_EMPTY")
    raise AssertionError("WRITE_EMPTY wrote into a table with rows")
except BadRequest as exc:
    print("WRITE_EMPTY refused:", exc.errors[0]["message"] if exc.errors else exc.message)
print(after_append, "rows")

# %% [markdown]
# A wildcard loads every file under a prefix — here the whole lake in one job, in a second table:

# %%
job = wh.load_parquet(f"{yellow}/*", "yellow_all_months", "yellow")
assert job.output_rows == sum(lake_rows.values())
schema = bq.get_table(wh.table_id("yellow_all_months")).schema
print(job.output_rows, "rows |", ", ".join(f"{f.name} {f.field_type}" for f in schema))

# %% [markdown]
# **What the emulator cannot load, and what the course does instead:**
# - a parquet load *without* a schema fails there (BigQuery would read the schema from the files): `load_parquet`
#   always passes the TLC schema from `zoomcamp.datasets`. The emulator's DuckDB also turns the `year=`/`month=`
#   folders into columns by itself (BigQuery does it when asked, with hive partitioning options, as `load_parquet`
#   does on GCP), so the schema there includes them — in DuckDB's order, `month` before `year`;
# - `load_table_from_dataframe` (an upload of a DataFrame as parquet) fails there: load the lake's parquet instead;
# - a BigQuery wildcard `*` spans folders, DuckDB's does not: on the emulator `load_parquet` sends `**/*.parquet`.
#
# Both failures, shown:

# %%
if wh.emulator:
    bq.delete_table(wh.table_id("yellow_autodetect"), not_found_ok=True)
    no_schema = bigquery.LoadJobConfig(source_format="PARQUET", autodetect=True)
    try:
        bq.load_table_from_uri(january.replace("*", "yellow_tripdata_2021-01.parquet"),
                               wh.table_id("yellow_autodetect"), job_config=no_schema).result()
    except BadRequest as exc:
        print("load without a schema:", exc.message.split(";")[0].splitlines()[0])
    try:
        bq.load_table_from_dataframe(source["2021-01"].head(), wh.table_id("yellow_from_pandas")).result()
    except BadRequest as exc:
        print("load_table_from_dataframe:", exc.message.split(":")[-1].strip()[:160])

# %% [markdown]
# ## Streaming inserts
#
# Rows sent with `insert_rows_json` are queryable at once. Errors come back per row (an empty list: all accepted).
# Here a trip from a new vendor, 9:

# %%
streamed = [{"VendorID": 9, "tpep_pickup_datetime": "2021-03-01T10:00:00", "tpep_dropoff_datetime": "2021-03-01T10:12:00",
             "trip_distance": 2.1, "total_amount": 12.5}]
errors = wh.load_rows("yellow_loads", streamed)
assert errors == []
vendor9 = wh.query("04_exercise_streamed", table="yellow_loads")
assert vendor9["trips"].item() == 1 and vendor9["total"].item() == 12.5
wh.query("04_count", table="yellow_loads")

# %% [markdown]
# ## Upserts with MERGE
#
# When a month is re-issued with corrections, `MERGE` updates the rows it matches and inserts the others, in one
# statement. The corrections here: three trips with a new total, and one trip that was missing.

# %%
wh.run("04_corrections", table="yellow_loads", corrections="yellow_corrections")
corrections = wh.query("04_count", table="yellow_corrections")["trips"].item()
print(wh.sql("04_merge_corrections", table="yellow_loads", corrections="yellow_corrections"))
merge = wh.run("04_merge_corrections", table="yellow_loads", corrections="yellow_corrections")
assert corrections == 4 and merge.num_dml_affected_rows == 4
after_merge = int(wh.query("04_count", table="yellow_loads")["trips"].item())
assert after_merge == after_append + len(streamed) + 1  # one row inserted, three updated in place
after_merge

# %% [markdown]
# ## Schema evolution
#
# Data changes shape: in 2025 the TLC added a `cbd_congestion_fee` column to the yellow files. BigQuery lets a table
# gain **NULLABLE columns** (and relax `REQUIRED` to `NULLABLE`); renaming, retyping or dropping needs a rewrite.
#
# A load or query that brings a new column is refused unless it says it may add fields
# (`schema_update_options=[ALLOW_FIELD_ADDITION]`):

# %%
append = bigquery.QueryJobConfig(destination=wh.table_id("yellow_loads"), write_disposition="WRITE_APPEND")
try:
    wh.run("04_append_with_new_field", table="yellow_loads", job_config=append)
    raise AssertionError("a new field was added without ALLOW_FIELD_ADDITION")
except BadRequest as exc:
    print("refused:", exc.errors[0]["message"] if exc.errors else exc.message)

# %% [markdown]
# The explicit way is DDL: add the column (existing rows read `NULL`), then fill it where it applies.

# %%
print(wh.sql("04_add_column", table="yellow_loads"))
wh.run("04_add_column", table="yellow_loads")
filled = wh.run("04_fill_new_column", table="yellow_loads")
counts = wh.query("04_new_column_counts", table="yellow_loads")
assert counts["trips"].item() == after_merge and counts["with_fee"].item() == filled.num_dml_affected_rows
counts

# %% [markdown]
# On the emulator the column exists in the data (queries and `UPDATE` see it) but the table's metadata
# (`bq.get_table(...).schema`) still lists the old columns, and `ALLOW_FIELD_ADDITION` on a query is checked but not
# applied to the stored rows. On BigQuery both update the schema.

# %% [markdown]
# ## Scheduling the load: BigQuery on Airflow
#
# In production nobody runs these cells by hand: a scheduler runs a load job after week 2's DAG has landed the
# month's files, then the query jobs that build what people read. The DAG `warehouse_load`
# ([airflow/dags/warehouse_load.py](airflow/dags/warehouse_load.py)) is two tasks, each calling
# [`zoomcamp.warehouse`](../shared/zoomcamp/warehouse.py): a `WRITE_TRUNCATE` load job of the whole yellow lake into
# `airflow_yellow_tripdata`, then a query job ([sql/04_dag_monthly_revenue.sql](sql/04_dag_monthly_revenue.sql)) that
# rebuilds `airflow_monthly_revenue` with `CREATE OR REPLACE TABLE`. Both replace what they write, so a retry or a
# re-run never duplicates. On Google Cloud the Google provider's `GCSToBigQueryOperator` and
# `BigQueryInsertJobOperator` are the same two jobs as ready-made operators.
#
# `dag.test()` runs it here as week 2 ran its DAG: every task, in order, against the BigQuery stand-in.

# %%
from zoomcamp import orchestration

runs = orchestration.run_dag("warehouse_load", ["2021-03-01"])
assert runs[0].tasks == {"load_yellow": "success", "monthly_revenue": "success"}
loaded = wh.query("04_count", table="airflow_yellow_tripdata")["trips"].item()
assert loaded == sum(lake_rows.values())
report = wh.query("04_dag_report")
every_trip = pd.concat(source.values())
expected = every_trip.groupby(every_trip["tpep_pickup_datetime"].dt.to_period("M"))["total_amount"].agg(["size", "sum"])
assert report["trips"].astype(int).tolist() == expected["size"].tolist()
assert (report["revenue"].astype(float) - expected["sum"].round(2).to_numpy()).abs().max() < 0.01
report

# %% [markdown]
# ## Exercise 1
#
# Load **March** into a new table `yellow_exercise` with `WRITE_TRUNCATE`, then append **January**. How many rows
# does it hold?

# %%
my_answer = None  # an integer

# %%
check(my_answer, len(source["2021-03"]) + len(source["2021-01"]))

# %% jupyter={"source_hidden": true} tags=["solution"]
wh.load_parquet(f"{yellow}/year=2021/month=03/*", "yellow_exercise", "yellow", write_disposition="WRITE_TRUNCATE")
wh.load_parquet(f"{yellow}/year=2021/month=01/*", "yellow_exercise", "yellow", write_disposition="WRITE_APPEND")
solution = int(wh.query("04_count", table="yellow_exercise")["trips"].item())
assert check(solution, len(source["2021-03"]) + len(source["2021-01"]))

# %% [markdown]
# ## Exercise 2
#
# After the `MERGE`, what is the total `total_amount` of `yellow_loads`, to the cent? (Work it out from the source
# files as well: January and February, the streamed trip, three corrected totals one dollar higher, one new trip.)

# %%
my_answer = None  # a number

# %%
loaded = pd.concat([source["2021-01"], source["2021-02"]])
vendor2 = loaded[loaded["VendorID"] == 2].sort_values(["tpep_pickup_datetime", "PULocationID", "DOLocationID"])
raised = sum(round(t + 1, 2) - t for t in vendor2["total_amount"].head(3))
expected_total = round(loaded["total_amount"].sum() + streamed[0]["total_amount"] + raised + 42.0, 2)
check(my_answer, expected_total)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = float(wh.query("04_exercise_total", table="yellow_loads")["total"].item())
assert check(solution, expected_total)

# %% [markdown]
# ## Exercise 3
#
# How many rows of `yellow_loads` got a `cbd_congestion_fee` (trips picked up from 1 March 2021 on)?

# %%
my_answer = None  # an integer

# %%
late = int((loaded["tpep_pickup_datetime"] >= "2021-03-01").sum())
check(my_answer, late + 2)  # + the streamed trip and the trip MERGE inserted, both in March

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = int(wh.query("04_new_column_counts", table="yellow_loads")["with_fee"].item())
assert check(solution, late + 2)

# %% [markdown]
# ## Summary
#
# - Load jobs are the batch path: free, atomic, and idempotent with `WRITE_TRUNCATE`; `WRITE_APPEND` duplicates on
#   re-runs, `WRITE_EMPTY` guards a table.
# - Streaming inserts make rows queryable at once, at a price and without idempotence; external tables avoid loading.
# - `MERGE` upserts corrections; schemas evolve by adding NULLABLE columns (DDL, or `ALLOW_FIELD_ADDITION`).
# - On the emulator, loads need the schema (the course passes the TLC one), DataFrame uploads fail, and schema
#   changes are not reflected in table metadata.
# - Scheduled, a load is a DAG: a `WRITE_TRUNCATE` load job, then a `CREATE OR REPLACE TABLE` query job
#   (`warehouse_load`), both safe to re-run.
#
# **Next:** [05 · Alternatives to BigQuery](05_alternatives.ipynb)

# %%
from zoomcamp import course

course.record("week_3_warehouse/04_loading_data.ipynb")  # this notebook ran to the end
