# %% [markdown]
# # 03 · Exploring what landed
#
# **What you will learn**
# - checking the lake is complete: which months are present, missing or damaged;
# - crawling it for schemas and partitions (what AWS Glue's crawler or a Data Catalog does);
# - reading it with DuckDB and pyarrow, with partition pruning made visible;
# - a first dashboard tile: trips per day.
#
# **What you need running:** the local stack, and the lake written by notebook 02 (the next cell makes sure of both).

# %%
import json

import pandas as pd
import pyarrow.dataset as ds

from zoomcamp import datasets, stack
from zoomcamp.exercises import check
from zoomcamp.lake import Lake

stack.up()
lake = Lake()
months = ["2021-01..2021-03"]
for kind in ("yellow", "green"):
    lake.ingest(kind, months, progress=False)  # idempotent: already there after notebook 02

# %% [markdown]
# ## Is anything missing?
#
# `lake.check()` ([`lake.py`](../shared/zoomcamp/lake.py), `Lake.check`) lists every type and month it expects — the ones you name, or every month from the first to the last
# found — and says whether each is **present**, **missing**, or **damaged** (a parquet footer that cannot be read, or a
# row count that differs from what `_manifests/` says was written). In a terminal: `zoomcamp lake check`, whose exit
# code is non-zero when something is not present — usable as a pipeline gate.

# %%
status = pd.DataFrame([vars(s) for s in lake.check(["yellow", "green"], months)])
assert (status["state"] == "present").all()
status

# %% [markdown]
# A gap is caught too. Ask for April, which was never ingested:

# %%
april = lake.check(["green"], ["2021-04"])
assert [s.state for s in april] == ["missing"]
april

# %% [markdown]
# ## Crawling: the schema and partitions of each dataset
#
# A *crawler* reads the files' own metadata — for parquet, the footer: column names, types, row counts — and records
# each dataset as a table with partitions. AWS Glue does this for S3, GCP's Dataplex for GCS; `lake.crawl()` does it
# here (`zoomcamp lake crawl --register` prints it and writes `_catalog/{type}.json`).

# %%
crawled = {info.name: info for info in lake.crawl()}
yellow_info = crawled["yellow"]
assert yellow_info.schema.names == datasets.arrow_schema("yellow").names
assert yellow_info.rows == lake.dataset("yellow").count_rows()
pd.DataFrame(yellow_info.partitions)

# %%
entry = lake.register("yellow")
print(json.dumps({k: entry[k] for k in ("name", "location", "format", "partitioning", "rows")}, indent=2))

# %% [markdown]
# ## Reading with DuckDB
#
# DuckDB reads parquet straight from the bucket (`lake.duckdb()` hands it the lake's filesystem) and turns the
# `year=`/`month=` folders into columns. A filter on them reads only the matching folders.

# %%
con = lake.duckdb()
per_month = con.sql(f'''
    SELECT year, month, count(*) AS trips, round(sum(total_amount), 2) AS revenue
    FROM {lake.read_parquet_sql("yellow")}
    WHERE year = 2021 AND month <= 3  -- partition columns: only these folders are read
    GROUP BY ALL ORDER BY ALL
''').df()
expected = pd.concat([datasets.read_csv(datasets.trip_file("yellow", m)) for m in ("2021-01", "2021-02", "2021-03")])
assert per_month["trips"].sum() == len(expected)
assert abs(per_month["revenue"].sum() - expected["total_amount"].sum()) < 0.05
per_month

# %% [markdown]
# ## Partition pruning, visible
#
# pyarrow's dataset API shows which files a filter keeps: a filter on a partition column is answered from the folder
# names alone, before any file is opened.

# %%
yellow = lake.dataset("yellow")
all_files = [f.path for f in yellow.get_fragments()]
february = [f.path for f in yellow.get_fragments(filter=ds.field("month") == 2)]
by_date = [f.path for f in yellow.get_fragments(filter=ds.field("tpep_pickup_datetime") >= pd.Timestamp("2021-02-01"))]
assert len(all_files) == len(lake.months("yellow")) >= 3
assert len(february) == 1 and "month=02" in february[0]
assert len(by_date) == len(all_files)  # a filter on a data column cannot prune folders: every file is opened
pd.Series({"files in the dataset": len(all_files), "files for month == 2": len(february),
           "files for pickup >= Feb 1": len(by_date)})

# %% [markdown]
# That last line is why the partition column matters: "trips since February" by pickup time opens every month (the
# trips' own timestamps may fall outside their file's month), while `month = 2` opens one folder.
#
# ## A first dashboard tile: trips per day
#
# In the cloud this chart would be a Looker Studio (formerly Data Studio) report over a BigQuery table: connect the
# table, add a time-series chart with `pickup_date` as dimension and record count as metric, one series per service.
# Here it is the same query, drawn with matplotlib.

# %%
daily = con.sql(f'''
    SELECT 'yellow' AS service, CAST(tpep_pickup_datetime AS DATE) AS day, count(*) AS trips
    FROM {lake.read_parquet_sql("yellow")}
    WHERE tpep_pickup_datetime >= DATE '2021-01-01' AND tpep_pickup_datetime < DATE '2021-04-01'
    GROUP BY ALL
    UNION ALL
    SELECT 'green', CAST(lpep_pickup_datetime AS DATE), count(*)
    FROM {lake.read_parquet_sql("green")}
    WHERE lpep_pickup_datetime >= DATE '2021-01-01' AND lpep_pickup_datetime < DATE '2021-04-01'
    GROUP BY ALL
''').df().pivot(index="day", columns="service", values="trips").sort_index()
assert len(daily) == 31 + 28 + 31
ax = daily.plot(figsize=(10, 3), title="trips per day (lake, 2021 Q1)")
ax.set_ylabel("trips");

# %% [markdown]
# ## Exercise 3
#
# Which day of **February 2021** had the most **green** pickups? Answer with a `datetime.date`, computed with DuckDB over
# `lake.read_parquet_sql("green")`.

# %%
my_answer = None  # e.g. datetime.date(2021, 2, 14)

# %%
green_feb = datasets.read_csv(datasets.trip_file("green", "2021-02"))
in_feb = green_feb[green_feb["lpep_pickup_datetime"].dt.strftime("%Y-%m") == "2021-02"]
counts = in_feb.groupby(in_feb["lpep_pickup_datetime"].dt.date).size()
busiest = counts[counts == counts.max()].index.min()  # the earliest day if several tie
check(my_answer, busiest)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = con.sql(f'''
    SELECT CAST(lpep_pickup_datetime AS DATE) AS day, count(*) AS trips
    FROM {lake.read_parquet_sql("green")}
    WHERE lpep_pickup_datetime >= DATE '2021-02-01' AND lpep_pickup_datetime < DATE '2021-03-01'
    GROUP BY 1 ORDER BY trips DESC, day LIMIT 1
''').fetchone()[0]
assert check(solution, busiest)

# %% [markdown]
# ## Exercise 4
#
# Over the three months of **yellow** trips in the lake (2021-01 to 2021-03), which pickup **borough** has the most trips? Join the lake with
# the zone lookup (`datasets.zones_file()`; DuckDB reads CSV with `read_csv('path', header=true)`) on
# `PULocationID = LocationID`.

# %%
my_answer = None  # a borough name

# %%
zones = datasets.read_csv(datasets.zones_file())
joined = expected.merge(zones, left_on="PULocationID", right_on="LocationID")
check(my_answer, joined["Borough"].value_counts().idxmax())

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = con.sql(f'''
    SELECT z.Borough, count(*) AS trips
    FROM {lake.read_parquet_sql("yellow")} t
    JOIN read_csv('{datasets.zones_file()}', header = true, all_varchar = true) z
      ON CAST(t.PULocationID AS VARCHAR) = z.LocationID
    WHERE t.year = 2021 AND t.month <= 3
    GROUP BY 1 ORDER BY trips DESC LIMIT 1
''').fetchone()[0]
assert check(solution, joined["Borough"].value_counts().idxmax())

# %% [markdown]
# ## Summary
#
# - Check completeness against what you expect (and what the manifests say was written), and make the check a gate.
# - A crawler turns files into tables: schema from the footers, partitions from the folders.
# - DuckDB and pyarrow read the bucket in place; filters on partition columns skip whole folders.
# - Trips per day is the first tile of the dashboard the course builds up to (week 7).
#
# **Next:** [04 · Orchestration with Airflow](04_airflow.ipynb)

# %%
from zoomcamp import course

course.record("week_2_ingestion/03_exploration.ipynb")  # this notebook ran to the end
