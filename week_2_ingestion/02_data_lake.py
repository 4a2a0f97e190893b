# %% [markdown]
# # 02 · The data lake: parquet, partitions, buckets
#
# **What you will learn**
# - what a data lake is, and how it differs from a warehouse;
# - CSV vs parquet on the same month, measured: size, read time, column pruning, types;
# - writing the lake: each month as typed parquet in a bucket, under hive partitions (`year=2021/month=01`), safely
#   re-runnable;
# - partitioning strategies (by month, by day, by zone) and what they cost in files;
# - how the same code targets S3, Azure or a local folder.
#
# **What you need running:** the local stack (the GCS emulator holds the lake). The next cell starts it.

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from zoomcamp import datasets, stack
from zoomcamp.datasets.blocks import to_parquet
from zoomcamp.exercises import check
from zoomcamp.lake import Lake

stack.up()
lake = Lake()
lake.url

# %% [markdown]
# ## Lake vs warehouse
#
# A **data lake** is cheap object storage (GCS, S3, ADLS, HDFS) holding files as they come — raw CSV, JSON, parquet —
# organised by folders and naming conventions, readable by any engine (Spark, DuckDB, BigQuery external tables, pandas).
# Schema is applied when you read (*schema on read*). A **data warehouse** (BigQuery, Snowflake, Redshift) stores
# tables it manages, with a schema enforced on write, and answers SQL fast. Pipelines usually land data in the lake
# first (cheap, replayable, nothing lost) and load the warehouse from it (week 3).
#
# ## CSV vs parquet, measured
#
# Parquet stores each column separately, compressed and typed, with statistics per row group. Convert the same month
# and compare.

# %%
work = Path(tempfile.mkdtemp())
source = datasets.trip_file("yellow", "2021-01")
plain_csv = work / "yellow_tripdata_2021-01.csv"
datasets.read_csv(source).to_csv(plain_csv, index=False, date_format="%Y-%m-%d %H:%M:%S")
parquet_file = work / "yellow_tripdata_2021-01.parquet"
converted = to_parquet(source, parquet_file, "yellow")  # the course's streaming converter, explicit TLC types


def seconds(read, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        read()
        best = min(best, time.perf_counter() - started)
    return best


columns = ["tpep_pickup_datetime", "PULocationID", "total_amount"]
formats = pd.DataFrame({
    "MB": [p.stat().st_size / 1e6 for p in (plain_csv, source, parquet_file)],
    "read all (s)": [seconds(lambda: pd.read_csv(plain_csv)), seconds(lambda: pd.read_csv(source)),
                     seconds(lambda: pd.read_parquet(parquet_file))],
    "read 3 columns (s)": [seconds(lambda: pd.read_csv(plain_csv, usecols=columns)),
                           seconds(lambda: pd.read_csv(source, usecols=columns)),
                           seconds(lambda: pd.read_parquet(parquet_file, columns=columns))],
}, index=["CSV", "CSV.gz", "parquet"])
assert converted.rows == pq.ParquetFile(parquet_file).metadata.num_rows == len(datasets.read_csv(source))
assert formats.loc["parquet", "MB"] < formats.loc["CSV", "MB"] / 2
formats.round(3)

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3))
for ax, column in zip(axes, formats.columns):
    formats[column].plot.bar(ax=ax, color=["#999", "#bbb", "#4a6fa5"], rot=0, title=column)
fig.tight_layout()

# %% [markdown]
# Parquet is several times smaller than the plain CSV (it compresses each column; gzip shrinks CSV about as much, but a
# `.gz` must be decompressed and parsed in full on every read) and reads fastest, and reading 3 columns of it reads
# only those columns' bytes (*column pruning*) — CSV must parse every line whatever you ask for. (On a small sample the times are
# tiny; on a real month of 1.3 million rows the gaps grow: `bench/parquet.py` measures the conversion itself.)
#
# Types are the other half. A CSV read without a schema guesses:

# %%
guessed = pd.read_csv(plain_csv, nrows=1000).dtypes
typed = pd.read_parquet(parquet_file).dtypes
fidelity = pd.DataFrame({"CSV, guessed": guessed.astype(str), "parquet": typed.astype(str)}).loc[
    ["tpep_pickup_datetime", "VendorID", "passenger_count", "store_and_fwd_flag", "airport_fee"]]
assert not fidelity.loc["tpep_pickup_datetime", "CSV, guessed"].startswith("datetime64")  # text, not a timestamp
assert fidelity.loc["tpep_pickup_datetime", "parquet"].startswith("datetime64")
fidelity

# %% [markdown]
# ## Writing the lake
#
# `Lake.ingest` is the pipeline of this week in one call, for each month: **fetch** the file (step 1, notebook 01) →
# **convert** it to parquet with the TLC types (streamed in blocks: memory stays flat whatever the file size; malformed
# CSV lines go to `_quarantine/`, never silently dropped) → **publish** it as
# `{type}/year=YYYY/month=MM/{type}_tripdata_YYYY-MM.parquet`.
#
# Publishing is safe to repeat and to interrupt: the file is uploaded under a temporary name in `_incoming/`, then copied
# to its final name in one step, then the month's other files are removed. A reader sees the old month or the new one,
# never half a file; re-running a month replaces exactly that month. The terminal version is
# `zoomcamp lake ingest yellow 2021-01..2021-03`.

# %%
published = lake.ingest("yellow", ["2021-01..2021-03"]) + lake.ingest("green", ["2021-01..2021-03"])
for p in published:
    print(p)
assert [p.rows for p in published[:1]] == [converted.rows]

# %%
for path in sorted(lake.fs.find(lake.root)):
    print(path)

# %% [markdown]
# The lake holds one folder per dataset and month, plus its bookkeeping: `_manifests/` records how many rows each month
# had when written (the next notebook's completeness check compares against it). Run the ingest cell again: the
# listing does not change, and neither do the row counts — the step is idempotent.

# %%
before = lake.dataset("yellow").count_rows()
lake.ingest("yellow", ["2021-02"], progress=False)
assert lake.dataset("yellow").count_rows() == before and lake.leftovers() == []
before

# %% [markdown]
# ## Partitioning strategies
#
# How to split a dataset into folders decides which reads can skip data (*partition pruning*) and how many files the lake
# holds. Write the same three months three ways and count.

# %%
q1 = (ds.field("year") == 2021) & (ds.field("month") <= 3)  # the lake may hold more months: take these three
yellow = lake.dataset("yellow").to_table(filter=q1)
yellow = yellow.append_column("day", yellow.column("tpep_pickup_datetime").cast("date32"))
strategies = {"by month": ["year", "month"], "by day": ["day"], "by pickup zone": ["PULocationID"]}
layout = {}
for name, keys in strategies.items():
    folder = work / name.replace(" ", "_")
    ds.write_dataset(yellow, folder, format="parquet", partitioning=keys, partitioning_flavor="hive",
                     existing_data_behavior="delete_matching", max_partitions=2048)
    sizes = [p.stat().st_size for p in folder.rglob("*.parquet")]
    layout[name] = {"files": len(sizes), "avg KB per file": sum(sizes) / len(sizes) / 1e3,
                    "total MB": sum(sizes) / 1e6}
layout = pd.DataFrame(layout).T
assert layout.loc["by month", "files"] == 3
assert layout.loc["by pickup zone", "files"] == len(yellow.column("PULocationID").unique())
layout.round(1)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
layout["files"].plot.bar(ax=axes[0], rot=0, title="files for 3 months", logy=True, color="#4a6fa5")
layout["avg KB per file"].plot.bar(ax=axes[1], rot=0, title="average file size (KB)", color="#a54a4a")
fig.tight_layout()

# %% [markdown]
# - **By month** matches how the data arrives and how it is re-processed (a month is replaced as a whole): few, large
#   files. Queries on a date range read only the months they need.
# - **By day** prunes finer, but multiplies the files by 30; with real data (1.3 M rows a month) files are still a few
#   MB, with the sample they are tiny. Millions of tiny files is the classic *small files problem*: listing and opening
#   them dominates the query.
# - **By zone** (265 values) helps queries on one zone, scatters every month across 265 folders, and makes "replace
#   January" a delete in 265 places.
#
# Rule of thumb: partition on what queries filter on *and* what the pipeline replaces, keep files at tens to hundreds
# of MB, and use clustering/sorting inside files (week 3) for the rest.
#
# ## Other clouds, same code
#
# `Lake` works on any [fsspec](https://filesystem-spec.readthedocs.io) filesystem. The URL decides:
#
# | lake_url | storage | package |
# |---|---|---|
# | (unset) | the local GCS emulator, bucket `zoomcamp-lake` | gcsfs |
# | `gs://my-bucket/lake` + `backend = "gcp"` | real GCS, Application Default Credentials | gcsfs |
# | `s3://my-bucket/lake` | Amazon S3 (or MinIO) | s3fs |
# | `abfs://container/lake` | Azure Data Lake Storage | adlfs |
# | `hdfs://namenode/lake` | HDFS | pyarrow |
# | `/data/lake` | a folder on this machine | — |
#
# A local folder lake behaves exactly like the bucket:

# %%
folder_lake = Lake(url=str(work / "folder_lake"))
folder_lake.ingest("green", ["2021-01"], progress=False)
assert folder_lake.dataset("green").count_rows() == lake.dataset("green").count_rows(filter=ds.field("month") == 1)
sorted(str(p.relative_to(work)) for p in (work / "folder_lake").rglob("*.parquet"))

# %% [markdown]
# ## Exercise 2
#
# Partition the three months of **green** trips by *payment type* (`payment_type`) into a local folder, then answer: how
# many parquet files does it make? Use `ds.write_dataset(..., partitioning=["payment_type"], partitioning_flavor="hive")`
# on `lake.dataset("green").to_table(filter=q1)`.

# %%
my_answer = None  # the number of files

# %%
green = lake.dataset("green").to_table(filter=q1)
check(my_answer, len(green.column("payment_type").unique()))  # one folder (one file) per distinct value

# %% jupyter={"source_hidden": true} tags=["solution"]
by_payment = work / "green_by_payment"
ds.write_dataset(green, by_payment, format="parquet", partitioning=["payment_type"], partitioning_flavor="hive",
                 existing_data_behavior="delete_matching")
solution = len(list(by_payment.rglob("*.parquet")))
assert check(solution, len(green.column("payment_type").unique()))

# %% [markdown]
# (Missing payment types get their own folder too: `payment_type=__HIVE_DEFAULT_PARTITION__`.)
#
# ## Summary
#
# - A lake keeps files cheaply and replayably; a warehouse manages tables. Land in the lake first.
# - Parquet beats CSV on size, speed and types; column pruning reads only what you ask for.
# - The lake layout `{type}/year=/month=/` matches how data arrives and is replaced; publishing is atomic and idempotent.
# - Partition for pruning and replacement, not as finely as possible: mind the small files problem.
# - The same code targets GCS, S3, ADLS or a folder: only the URL changes.
#
# **Next:** [03 · Exploring the lake](03_exploration.ipynb)

# %%
from zoomcamp import course

course.record("week_2_ingestion/02_data_lake.ipynb")  # this notebook ran to the end
