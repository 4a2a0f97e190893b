# %% [markdown]
# # 05 · Alternatives to BigQuery
#
# **What you will learn**
# - how Snowflake, Amazon Redshift, DuckDB/MotherDuck and ClickHouse compare with BigQuery;
# - that their SQL dialects differ in the details, and how to translate one query between them (sqlglot);
# - running the translated query on DuckDB straight over the lake — the same answer as the warehouse.
#
# **What you need running:** the local stack and the lake (the next cell ensures both, and notebook 02's tables).

# %%
import pandas as pd
import sqlglot

from zoomcamp import datasets, stack, warehouse
from zoomcamp.exercises import check
from zoomcamp.lake import Lake

stack.up()
lake = Lake()
months = ["2021-01", "2021-02", "2021-03"]
lake.ingest("yellow", months, progress=False)
wh = warehouse.Warehouse()
wh.create_dataset()
wh.run("02_external_table", kind="yellow")
wh.run("02_native_table", kind="yellow")
trips = pd.concat([datasets.read_csv(datasets.trip_file("yellow", m)) for m in months])  # the independent copy

# %% [markdown]
# ## The field
#
# | | BigQuery | Snowflake | Amazon Redshift | DuckDB / MotherDuck | ClickHouse |
# |---|---|---|---|---|---|
# | what it is | serverless cloud warehouse (Google Cloud) | cloud warehouse on AWS, Azure or GCP | AWS's warehouse (provisioned clusters or Serverless) | in-process analytical database; MotherDuck is its cloud service | open-source columnar OLAP server; ClickHouse Cloud |
# | storage / compute | separate; compute in slots, no servers to manage | separate; you size *virtual warehouses* (T-shirt sizes) that start and suspend | RA3 nodes keep data in managed storage (S3); older nodes couple them | your machine's files (or S3/GCS); MotherDuck: cloud storage + per-user compute | coupled in self-hosted clusters; separate in ClickHouse Cloud |
# | pricing | per TB scanned (on-demand) or slots (capacity) | per second of warehouse running (credits) + storage | per node-hour, or per RPU-second (Serverless) | free locally; MotherDuck per usage | free self-hosted; Cloud per compute and storage |
# | scaling | automatic | resize or multi-cluster warehouses | resize, concurrency scaling | one machine (scales up, not out); MotherDuck adds hybrid execution | shards and replicas |
# | partitioning | `PARTITION BY` date/integer, `CLUSTER BY` | automatic micro-partitions, optional clustering keys | distribution and sort keys | files/folders (hive), zone maps | `PARTITION BY`, `ORDER BY` (primary key) |
# | strengths | zero operations, huge scans, GCP integration, BigQuery ML | multi-cloud, data sharing, workload isolation | AWS integration, mature | speed on one machine, no server, reads parquet in place | very low-latency aggregations, real-time ingestion |
# | watch out | cost of careless scans | credits of idle-but-running warehouses | tuning keys, vacuuming (less on Serverless) | single writer, memory of one machine | joins and updates are weaker; operations when self-hosted |
#
# They all store columns and all speak SQL; the differences that matter day to day are cost model, operations, and
# dialect details.
#
# ## One query, five dialects
#
# The monthly revenue query, written for BigQuery:

# %%
bigquery_sql = wh.sql("05_monthly_revenue")
print(bigquery_sql)
in_warehouse = wh.query("05_monthly_revenue")
in_warehouse

# %% [markdown]
# [sqlglot](https://github.com/tobymao/sqlglot) parses SQL in one dialect and writes it in another (the emulator
# itself uses it to run BigQuery SQL on DuckDB). `COUNTIF` becomes `COUNT_IF` in Snowflake and DuckDB, a `CASE` sum
# in Redshift, `countIf` in ClickHouse; `DATE_TRUNC(d, MONTH)` swaps its arguments:

# %%
dialects = ["snowflake", "redshift", "duckdb", "clickhouse"]
translated = {d: sqlglot.transpile(bigquery_sql, read="bigquery", write=d, pretty=True)[0] for d in dialects}
for dialect, text in translated.items():
    print(f"-- {dialect}\n{text.split('*/', 1)[-1].strip()}\n")

# %% [markdown]
# ## DuckDB on the lake: the same answer without a warehouse
#
# DuckDB reads the lake's parquet in place (as week 2 showed). Give it the same three-part name as the warehouse
# table — a catalog `zoomcamp`, a schema `trips_data_all`, a view `yellow_tripdata` over the lake — and it runs the
# translated query unchanged. Time zone UTC, as BigQuery's `TIMESTAMP`. This reads the lake, not the warehouse's
# tables, so it checks them too:

# %%
con = lake.duckdb()
con.execute("SET TimeZone = 'UTC'")
con.execute("ATTACH IF NOT EXISTS ':memory:' AS zoomcamp")
con.execute(f"CREATE SCHEMA IF NOT EXISTS zoomcamp.{wh.dataset}")
con.execute(f"CREATE OR REPLACE VIEW zoomcamp.{wh.dataset}.yellow_tripdata AS SELECT * FROM {lake.read_parquet_sql('yellow')}")
on_lake = con.sql(translated["duckdb"]).df()
assert on_lake["tipped_trips"].tolist() == in_warehouse["tipped_trips"].tolist()
assert (on_lake["revenue"] - in_warehouse["revenue"]).abs().max() < 0.01

q1 = trips[(trips["tpep_pickup_datetime"] >= "2021-01-01") & (trips["tpep_pickup_datetime"] < "2021-04-01")]
by_month = q1.groupby(q1["tpep_pickup_datetime"].dt.to_period("M"))
assert by_month["tip_amount"].apply(lambda t: int((t > 0).sum())).tolist() == in_warehouse["tipped_trips"].tolist()
on_lake

# %% [markdown]
# For data of this size — and a good deal more: DuckDB handles hundreds of gigabytes on one machine — a laptop with
# DuckDB is a complete warehouse. The cloud warehouses earn their cost when data, users or concurrency outgrow one
# machine, or when operations must be someone else's job.
#
# ## Exercise 1
#
# What share of the yellow trips in the warehouse were paid by credit card (`payment_type = 1`)? Answer as a fraction
# rounded to 4 decimals, computed with BigQuery SQL (`COUNTIF`, `SAFE_DIVIDE`).

# %%
my_answer = None  # e.g. 0.1234

# %%
card_share = round(int((trips["payment_type"] == 1).sum()) / len(trips), 4)  # missing payment types count as not card
check(my_answer, card_share)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = float(wh.query("05_exercise_payment_share")["card_share"].item())
assert check(solution, card_share)

# %% [markdown]
# ## Exercise 2
#
# Translate the query of exercise 1 (`wh.sql("05_exercise_payment_share")`) to DuckDB with sqlglot and run it with
# `con` over the lake. Same share?

# %%
my_answer = None  # the share DuckDB computes

# %%
check(my_answer, card_share)

# %% jupyter={"source_hidden": true} tags=["solution"]
duck = sqlglot.transpile(wh.sql("05_exercise_payment_share"), read="bigquery", write="duckdb")[0]
solution = float(con.sql(duck).fetchone()[0])
assert check(solution, card_share)

# %% [markdown]
# ## Exercise 3
#
# With DuckDB over the lake only (`lake.read_parquet_sql("yellow")`), what is the average `tip_amount` of card-paid
# trips, to the cent?

# %%
my_answer = None  # a number

# %%
check(my_answer, round(float(trips.loc[trips["payment_type"] == 1, "tip_amount"].mean()), 2))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = con.sql(f"SELECT round(avg(tip_amount), 2) FROM {lake.read_parquet_sql('yellow')} WHERE payment_type = 1").fetchone()[0]
assert check(solution, round(float(trips.loc[trips["payment_type"] == 1, "tip_amount"].mean()), 2))

# %% [markdown]
# ## Summary
#
# - Snowflake, Redshift, ClickHouse and DuckDB/MotherDuck are all columnar SQL engines; they differ in cost model
#   (scanned bytes, running compute, nodes, nothing), operations, scaling, and dialect details.
# - sqlglot translates between dialects; the translated query ran on DuckDB over the lake and agreed with the
#   warehouse.
#
# **Next:** [06 · BigQuery ML](06_bigquery_ml.ipynb)

# %%
from zoomcamp import course

course.record("week_3_warehouse/05_alternatives.ipynb")  # this notebook ran to the end
