# %% [markdown]
# # 02 · The data lake: parquet, partitions, buckets
#
# **What you will learn**
# - what a data lake is, and how it differs from a warehouse;
# - CSV vs parquet on the same month, measured: size, read time, column pruning, types;
# - writing the lake by hand: CSV → typed parquet → partitioned folders → upload, and where that breaks;
# - then with the course's `Lake`: each month published atomically under hive partitions (`year=2021/month=01`), with a
#   manifest, safely re-runnable — and the same rows as yours;
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
# ## Build the lake by hand
#
# Writing the lake is three steps, each a few lines: **CSV → parquet** with the schema's types, a **partitioned
# folder** per month (`yellow/year=2021/month=01/`), and an **upload** into the bucket. First yourself.
#
# The types come from the course's schema table: `datasets.arrow_schema("yellow")` is the parquet schema of the TLC's
# files, with `airport_fee`, which the CSV backups do not have (it becomes an empty column, so every month has the same
# columns).

# %%
import pyarrow as pa

schema = datasets.arrow_schema("yellow")
months = ["2021-01", "2021-02", "2021-03"]


def csv_to_parquet(source, target):
    """A TLC CSV(.gz) as a parquet file with the schema's columns and types."""
    frame = datasets.read_csv(source)  # the schema's pandas types, timestamps parsed
    for column in schema.names:
        if column not in frame:
            frame[column] = None  # e.g. airport_fee: not in the CSV backups
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)
    return table.num_rows


my_lake = work / "my_lake"
for month in months:
    year, mm = month.split("-")
    target = my_lake / "yellow" / f"year={year}" / f"month={mm}" / f"yellow_tripdata_{month}.parquet"
    csv_to_parquet(datasets.trip_file("yellow", month), target)
sorted(str(p.relative_to(my_lake)) for p in my_lake.rglob("*.parquet"))

# %% [markdown]
# Upload the folder into the lake's bucket (the local GCS emulator; `lake.fs` is its fsspec filesystem, the same API
# as for real GCS or S3), file by file, to the same paths:

# %%
for local in sorted(my_lake.rglob("*.parquet")):
    lake.fs.put_file(str(local), lake.path(str(local.relative_to(my_lake))))
jan = (ds.field("year") == 2021) & (ds.field("month") == 1)
uploaded = lake.dataset("yellow").count_rows(filter=jan)
assert uploaded == pq.ParquetFile(my_lake / "yellow/year=2021/month=01/yellow_tripdata_2021-01.parquet").metadata.num_rows
print(f"January in the lake: {uploaded:,} rows")

# %% [markdown]
# It works, and it has the weak spots of week 1's loader. Spark and pandas name their output files `part-0.parquet`
# and the like; re-run the month with a writer that names its file differently and the old file stays beside it:

# %%
lake.fs.put_file(str(my_lake / "yellow/year=2021/month=01/yellow_tripdata_2021-01.parquet"),
                 lake.path("yellow/year=2021/month=01/part-0.parquet"))
doubled = lake.dataset("yellow").count_rows(filter=jan)
assert doubled == 2 * uploaded
print(f"January after a re-run: {doubled:,} rows")

# %% [markdown]
# Every reader of the month now counts its trips twice. And during an upload of a big file, a reader listing the folder
# may find the old file gone and the new one not yet complete; nothing records how many rows the month should have, so
# nothing can tell a damaged month from a whole one.
#
# ## Writing the lake with `Lake`
#
# [`Lake`](../shared/zoomcamp/lake.py) does the same three steps: `Lake.ingest` is **fetch** (notebook 01) →
# [`convert`](../shared/zoomcamp/datasets/blocks.py) (`to_parquet`) → **publish** to
# `{type}/year=YYYY/month=MM/{type}_tripdata_YYYY-MM.parquet`, for each month. What it adds:
#
# - **atomic publish**: the file is uploaded under a temporary name in `_incoming/`, then copied to its final name in one
#   step, then the month's other files (like `part-0.parquet` above) are removed: a reader sees the whole old month or
#   the whole new one, never half, and re-running a month replaces exactly that month;
# - **a manifest** per month in `_manifests/` (rows and bytes written), and a `_pending/` record written before the
#   switch, so `lake.check()` tells a whole month from a damaged or half-published one;
# - **streaming and checks**: the CSV is converted in blocks (memory stays flat whatever the file size), every value is
#   checked against the schema, and malformed lines go to `_quarantine/`, never silently dropped;
# - any fsspec filesystem (GCS, S3, ADLS, a folder), leftovers of a killed run cleaned up, and a progress bar.
#
# The terminal version is `zoomcamp lake ingest yellow 2021-01..2021-03`.

# %%
published = lake.ingest("yellow", ["2021-01..2021-03"]) + lake.ingest("green", ["2021-01..2021-03"])
for p in published:
    print(p)
assert [p.rows for p in published[:1]] == [converted.rows]

# %% [markdown]
# The stray `part-0.parquet` is gone, and the lake's months hold what you built by hand: the same rows, and the same sum
# in every numeric column.

# %%
q1 = (ds.field("year") == 2021) & (ds.field("month") <= 3)  # the lake may hold more months: take these three
theirs = lake.dataset("yellow").to_table(filter=q1).to_pandas()
ours = ds.dataset(my_lake / "yellow", format="parquet", partitioning="hive").to_table().to_pandas()
numeric = [c for c in schema.names if pa.types.is_integer(schema.field(c).type) or pa.types.is_floating(schema.field(c).type)]
assert len(ours) == len(theirs) == sum(p.rows for p in published[:3])
assert lake.dataset("yellow").count_rows(filter=jan) == uploaded
pd.testing.assert_series_equal(ours[numeric].sum().astype(float), theirs[numeric].sum().astype(float))
ours[numeric].sum().round(2).to_frame("sum").T

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
# ## Exercise 3: publish your month safely
#
# Write `my_publish(local, month)` for your hand-built lake: upload `local` to a temporary name under
# `lake.path("_incoming", ...)`, copy it to the month's final name with `lake.fs.copy` (one object write), then remove
# every other file of the month's folder (`lake.fs.find(folder)`) and the temporary upload. The check below leaves a
# stray `part-0.parquet` in January first: after your publish, January must hold its rows once.

# %%
my_publish = None  # your function here


# %%
def january_after(publish):
    lake.fs.put_file(str(my_lake / "yellow/year=2021/month=01/yellow_tripdata_2021-01.parquet"),
                     lake.path("yellow/year=2021/month=01/part-0.parquet"))
    publish(my_lake / "yellow/year=2021/month=01/yellow_tripdata_2021-01.parquet", "2021-01")
    rows = lake.dataset("yellow").count_rows(filter=jan)
    lake.ingest("yellow", ["2021-01"], progress=False)  # the lake's own January back, with its manifest
    return rows


check(my_publish and january_after(my_publish), uploaded);


# %% jupyter={"source_hidden": true} tags=["solution"]
def publish(local, month):
    year, mm = month.split("-")
    folder = lake.path("yellow", f"year={year}", f"month={mm}")
    final = f"{folder}/{local.name}"
    incoming = lake.path("_incoming", f"mine_{local.name}")
    lake.fs.put_file(str(local), incoming)
    lake.fs.copy(incoming, final)  # the final object appears whole, or not at all
    for path in lake.fs.find(folder):
        if path.rstrip("/") != final:
            lake.fs.rm(path)  # the month's other files: an earlier run's
    lake.fs.rm(incoming)


assert check(january_after(publish), uploaded)

# %% [markdown]
# ## Summary
#
# - A lake keeps files cheaply and replayably; a warehouse manages tables. Land in the lake first.
# - Parquet beats CSV on size, speed and types; column pruning reads only what you ask for.
# - Writing the lake by hand is CSV → typed parquet → partition folders → upload; a naive upload leaves a re-run's files
#   beside the old ones. `Lake` publishes each month atomically (upload, one copy, remove the rest) with a manifest, and
#   lands the same rows as yours.
# - The lake layout `{type}/year=/month=/` matches how data arrives and is replaced; publishing is atomic and idempotent.
# - Partition for pruning and replacement, not as finely as possible: mind the small files problem.
# - The same code targets GCS, S3, ADLS or a folder: only the URL changes.
#
# **Next:** [03 · Exploring the lake](03_exploration.ipynb)

# %%
from zoomcamp import course

course.record("week_2_ingestion/02_data_lake.ipynb")  # this notebook ran to the end
