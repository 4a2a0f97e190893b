# %% [markdown]
# # 01 · Ingestion, step 1: getting the files
#
# **What you will learn**
# - where the NYC taxi data comes from: the TLC's parquet files, the DataTalksClub CSV backups, and the links that died;
# - what a month of trips looks like on disk and inside (columns, types, the dirt real files carry);
# - how the course fetches files: cached, resumable, checksummed — and offline, a sample with the exact same shape.
#
# **What you need running:** nothing yet for this notebook's files; the next cell also starts the local stack (PostgreSQL
# and the GCS emulator) that the rest of the week uses — the same as `zoomcamp stack up` in a terminal.

# %%
import gzip

import pandas as pd

from zoomcamp import datasets, stack
from zoomcamp.exercises import check
from zoomcamp.settings import get_settings

stack.up()
settings = get_settings()
settings.data_source, settings.data_path

# %% [markdown]
# ## Where the data comes from
#
# | source | format | URL | status |
# |---|---|---|---|
# | NYC TLC trip record data | parquet, one file per type and month | `https://d37ci6vzurychx.cloudfront.net/trip-data/yellow_tripdata_2021-01.parquet` | current (since May 2022) |
# | DataTalksClub backups | CSV.gz | `https://github.com/DataTalksClub/nyc-tlc-data/releases/download/yellow/yellow_tripdata_2021-01.csv.gz` | a frozen copy of the old CSVs (2019–2021) |
# | the old S3 bucket | CSV | `https://s3.amazonaws.com/nyc-tlc/trip+data/yellow_tripdata_2021-01.csv` | **dead**: the TLC moved to parquet in 2022, and every tutorial that pointed here broke |
#
# That last row is the lesson: an ingestion pipeline depends on URLs it does not control. The course keeps both live
# sources in its settings (`tlc_base_url`, `backup_base_url`) so a mirror is one setting away, and keeps a manifest
# (size and SHA-256) of every file it fetched.
#
# `data_source` decides what `datasets.trip_file` returns: `sample` (the default, offline) generates files with the real
# names, columns and types; `download` fetches the real ones. In a terminal:
#
# ```bash
# zoomcamp data download yellow 2021-01               # TLC parquet, progress bar, resumes if interrupted
# zoomcamp data download green 2021-01 -f csv.gz      # the DataTalksClub CSV backup
# ZOOMCAMP_DATA_SOURCE=download jupyter lab           # every notebook on the real files
# ```

# %%
months = ["2021-01", "2021-02", "2021-03"]
files = {(kind, month): datasets.trip_file(kind, month) for kind in ("yellow", "green") for month in months}
pd.DataFrame([{"type": k, "month": m, "file": p.name, "MB": round(p.stat().st_size / 1e6, 2)}
              for (k, m), p in files.items()])

# %% [markdown]
# Each call is *idempotent*: a file already on disk (same rows and seed for the sample; same size and checksum for a
# download) is returned as it is, so re-running this cell costs nothing. Step 1 of the pipeline is just that: make the
# month's file exist locally.
#
# ## What is inside
#
# A CSV.gz is text: look at the first lines before trusting any parser.

# %%
yellow_jan = files[("yellow", "2021-01")]
with gzip.open(yellow_jan, "rt") as f:
    for _ in range(3):
        print(f.readline().rstrip())

# %% [markdown]
# No types in the file: `VendorID` could be a number or text, the timestamps are strings, and an empty field could be
# zero or unknown. The course's schema table says what each column is (`zoomcamp data schema yellow` prints it), and
# `datasets.read_csv` reads with those types:

# %%
schema = pd.DataFrame([{"column": c.name, "type": c.type, "in CSV": c.in_csv} for c in datasets.columns("yellow")])
trips = datasets.read_csv(yellow_jan)
assert list(trips.columns) == schema.loc[schema["in CSV"], "column"].tolist()
schema.T

# %% [markdown]
# `airport_fee` exists only in the TLC's parquet files (from 2021 on); the CSV backups do not have it. When week 2 writes
# the lake, every month gets the full schema, with that column empty where the source did not have it.
#
# ## The dirt
#
# Real TLC files are not clean, and neither is the sample: trips whose pickup is outside the file's month, zero
# passengers, negative amounts (refunds and corrections), dropoff before pickup. A pipeline must decide what to do with
# each — usually keep the raw data as it is in the lake and filter later, where the rule is visible.

# %%
start, end = pd.Timestamp("2021-01-01"), pd.Timestamp("2021-02-01")
dirt = pd.Series({
    "rows": len(trips),
    "pickup outside January": int((~trips["tpep_pickup_datetime"].between(start, end, inclusive="left")).sum()),
    "zero passengers": int((trips["passenger_count"] == 0).sum()),
    "negative total": int((trips["total_amount"] < 0).sum()),
    "dropoff before pickup": int((trips["tpep_dropoff_datetime"] < trips["tpep_pickup_datetime"]).sum()),
    "passenger count missing": int(trips["passenger_count"].isna().sum()),
})
assert dirt["rows"] == sum(1 for _ in gzip.open(yellow_jan, "rt")) - 1  # every line of the file, minus the header
dirt.to_frame("count")

# %% [markdown]
# ## Exercise 1
#
# How many **green** trips of the 2021-02 file have a pickup time outside February 2021? Read the file with
# `datasets.read_csv(files[("green", "2021-02")])` and count (`lpep_pickup_datetime` is green's pickup column).

# %%
my_answer = None  # your count here

# %%
green_feb = datasets.read_csv(files[("green", "2021-02")])
inside = green_feb["lpep_pickup_datetime"].between(pd.Timestamp("2021-02-01"), pd.Timestamp("2021-03-01"),
                                                   inclusive="left")
check(my_answer, int((~inside).sum()))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = int((~green_feb["lpep_pickup_datetime"].dt.strftime("%Y-%m").eq("2021-02")).sum())
assert check(solution, int((~inside).sum()))

# %% [markdown]
# ## Summary
#
# - The TLC publishes parquet; the DataTalksClub CSV.gz backups mirror the old CSVs; the old S3 links are dead — keep
#   sources in configuration and record what you fetched (size, checksum).
# - Fetching is step 1 and must be idempotent and resumable; offline, the sample has the same names, columns and types.
# - CSV has no types and real data has dirt: read with an explicit schema, keep raw data raw, filter where it is visible.
#
# **Next:** [02 · The data lake](02_data_lake.ipynb)

# %%
from zoomcamp import course

course.record("week_2_ingestion/01_download.ipynb")  # this notebook ran to the end
