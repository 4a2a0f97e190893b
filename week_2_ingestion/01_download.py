# %% [markdown]
# # 01 · Ingestion, step 1: getting the files
#
# **What you will learn**
# - where the NYC taxi data comes from: the TLC's parquet files, the DataTalksClub CSV backups, and the links that died;
# - what a month of trips looks like on disk and inside (columns, types, the dirt real files carry);
# - how to write a download script: streamed to disk in chunks, with a progress bar, resumed after an interruption
#   with an HTTP `Range` request; then what the course's downloader adds (checksums, a manifest, retries, clear errors);
# - how the course fetches files: cached, resumable, checksummed — and offline, a sample with the exact same shape.
#
# **What you need running:** nothing yet for this notebook's files; the next cell also starts the local stack (PostgreSQL
# and the GCS emulator) that the rest of the week uses — the same as `zoomcamp stack up` in a terminal.

# %%
import gzip
import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import requests
from tqdm.auto import tqdm

from zoomcamp import datasets, stack
from zoomcamp.datasets import mirror
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
#
# ## Your download script
#
# DataTalksClub's script calls `wget` on the URL. Write it in Python instead, so that it can do what a pipeline needs:
# stream the file to disk in chunks (a month of fhvhv trips is 500 MB: never hold it in memory), show a progress bar,
# write to a `.part` file renamed only when complete (a half file is never taken for a whole one), and **resume** an
# interrupted download with an HTTP `Range` request instead of starting over.
#
# Offline (`data_source = "sample"`, the default) the script talks to a local stand-in for the TLC's site,
# [`datasets/mirror.py`](../shared/zoomcamp/datasets/mirror.py): an HTTP server on 127.0.0.1 with the same URL layout
# (`/trip-data/yellow_tripdata_2021-01.parquet`) that answers `Range` requests as the TLC's CDN does, serving the sample
# file. With `data_source = "download"` the same code fetches from the real site.

# %%
if settings.data_source == "download":
    base_url = settings.tlc_base_url  # the TLC's own site
else:
    tlc_site = mirror.tlc_mirror([datasets.trip_file("yellow", "2021-01", "parquet")]).start()
    base_url = tlc_site.url
url = f"{base_url}/trip-data/yellow_tripdata_2021-01.parquet"
url


# %% [markdown]
# Two small functions: one asks the server for the bytes from `start` on, one appends chunks to the `.part` file.

# %%
def fetch_chunks(url, start=0, chunk_size=64 * 1024):
    """The file's bytes from `start` on, in chunks, and the file's total size."""
    headers = {"Range": f"bytes={start}-"} if start else {}
    response = requests.get(url, headers=headers, stream=True, timeout=30)
    response.raise_for_status()
    if start and response.status_code != 206:  # the server ignored the range: it sends the whole file
        raise RuntimeError("the server cannot resume: delete the .part file and start over")
    total = start + int(response.headers["Content-Length"])
    return response.iter_content(chunk_size), total


def save(chunks, part, total):
    """Append the chunks to `part`, with a progress bar that starts where the file stopped."""
    have = part.stat().st_size if part.exists() else 0
    with open(part, "ab") as out, tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=part.name) as bar:
        for chunk in chunks:
            out.write(chunk)
            bar.update(len(chunk))


def download(url, folder):
    """Download `url` into `folder`, resuming a `.part` file left by an interrupted run."""
    target = Path(folder) / url.rsplit("/", 1)[1]
    part = target.with_name(target.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    chunks, total = fetch_chunks(url, start)
    save(chunks, part, total)
    if part.stat().st_size != total:
        raise RuntimeError(f"{part.name}: {part.stat().st_size:,} of {total:,} bytes; run again to resume")
    part.rename(target)
    return target


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


mine = Path(tempfile.mkdtemp())
whole = download(url, mine)
print(f"{whole.name}: {whole.stat().st_size:,} bytes")


# %% [markdown]
# Now interrupt it. A wrapper around the chunks stops half-way (small chunks, so even a small sample file has
# several), the way a dropped connection or a closed laptop does; the `.part` file keeps what arrived.

# %%
def interrupt_after(chunks, n):
    for i, chunk in enumerate(chunks):
        if i == n:
            raise ConnectionError("the connection dropped")
        yield chunk


whole_sha = sha256(whole)
whole.unlink()
part = whole.with_name(whole.name + ".part")
chunks, total = fetch_chunks(url, chunk_size=4 * 1024)
try:
    save(interrupt_after(chunks, max(1, total // (4 * 1024) // 2)), part, total)
except ConnectionError as error:
    print("interrupted:", error)
kept = part.stat().st_size
assert 0 < kept < total and not whole.exists()
print(f"{kept:,} of {total:,} bytes in {part.name}")

# %% [markdown]
# Run the same script again: it finds the `.part` file, asks only for the rest (`Range: bytes=<kept>-`), and the result
# has the checksum of the whole file downloaded above.

# %%
resumed = download(url, mine)
assert sha256(resumed) == whole_sha
print(f"resumed from byte {kept:,}; SHA-256 {sha256(resumed)[:16]}... matches the server's file")

# %% [markdown]
# ## The course's downloader
#
# [`datasets.download`](../shared/zoomcamp/datasets/downloader.py) is the same script (chunks, `.part`, progress bar,
# `Range`), and what it adds is
#
# - **`If-Range`**: the resume sends the file's `ETag`, so a file that changed on the server starts over instead of
#   gluing two versions together;
# - **retries**: a dropped connection resumes by itself a few times before giving up;
# - **a manifest** of each file's URL, size and SHA-256: a file already there is never downloaded twice;
# - **checks before and errors after**: enough free disk first; offline, a month the TLC does not publish (its CDN
#   answers 403) or a full disk each give one line that says what to do;
# - both sources: the TLC's parquet files, and the DataTalksClub CSV.gz backups (`settings.backup_base_url`).
#
# Point it at the same site (offline, the mirror, through the `tlc_base_url` setting) and compare:

# %%
if settings.data_source == "download":
    library_settings = settings
else:
    library_settings = settings.replace(tlc_base_url=base_url, data_dir=Path(tempfile.mkdtemp()))
library_file = datasets.download("yellow", "2021-01", "parquet", settings=library_settings, progress=False)
assert sha256(library_file) == sha256(resumed)
print(f"the library's {library_file.name} and yours: the same {library_file.stat().st_size:,} bytes")

# %% [markdown]
# ## The course's files for this week
#

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
# ## Exercise 2: extend your script
#
# Your `download` trusts any `.part` file. Make it safer, the way the library's does: keep the `ETag` of the first
# response next to the `.part` file (e.g. in `<name>.part.json`) and send it as `If-Range` when resuming; a server
# whose file changed then answers 200 with the whole new file, and your script must start over instead of appending.
# Then make a second call with the file already complete return it without any request. (No check: compare with
# `_attempt` in [`downloader.py`](../shared/zoomcamp/datasets/downloader.py); offline, `tlc_site.requests` lists what
# your script asked the mirror.)

# %% [markdown]
# ## Summary
#
# - A download script streams to a `.part` file in chunks, shows progress, and resumes with `Range`; the course's
#   downloader adds `If-Range`, retries, a manifest of checksums and one-line errors.
# - The TLC publishes parquet; the DataTalksClub CSV.gz backups mirror the old CSVs; the old S3 links are dead — keep
#   sources in configuration and record what you fetched (size, checksum).
# - Fetching is step 1 and must be idempotent and resumable; offline, the sample has the same names, columns and types.
# - CSV has no types and real data has dirt: read with an explicit schema, keep raw data raw, filter where it is visible.
#
# **Next:** [02 · The data lake](02_data_lake.ipynb)

# %%
from zoomcamp import course

course.record("week_2_ingestion/01_download.ipynb")  # this notebook ran to the end
