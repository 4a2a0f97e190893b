# %% [markdown]
# # 06 · Loading an API with dlt
#
# **What you will learn**
# - dlt's REST API source: the same page loop as notebook 05 as configuration, with retries built in;
# - normalisation: nested objects become columns, nested lists become child tables;
# - the schema dlt infers, and how it evolves when the API adds a field;
# - write dispositions: append, replace, merge on a primary key;
# - one pipeline, three destinations: DuckDB, the course's PostgreSQL, parquet in the lake's bucket.
#
# **What you need running:** the local stack (PostgreSQL and the lake's GCS emulator: the next cell starts them). The
# rides API starts inside this notebook ([shared/zoomcamp/api.py](../shared/zoomcamp/api.py)).

# %%
from pathlib import Path

import pandas as pd
from dlt.sources.rest_api import rest_api_source

from zoomcamp import api_pipeline, datasets, stack
from zoomcamp.api import RidesAPI
from zoomcamp.exercises import check

stack.up(["postgres", "gcs"])  # the lake is on the GCS emulator
dlt_env = api_pipeline.configure()  # dlt's folders under the course home, telemetry off (see below)
api = RidesAPI(faults="429:4,500:6").start()  # a rate limit and errors, as real APIs have
# To check against: the rows of the file the API serves (every k-th, so that they span the month).
month = datasets.read_csv(datasets.trip_file("yellow", "2021-01"))
trips = month.iloc[:: max(1, len(month) // api.settings.api_rides)].head(api.settings.api_rides)

# %% [markdown]
# ## The source, as configuration
#
# Notebook 05's loop had four decisions: where the API is, how pages advance, when to stop, what to do on errors.
# dlt's [REST API source](https://dlthub.com/docs/dlt-ecosystem/verified-sources/rest_api/basic) takes the first three
# as a dict, and retries 429s (after `Retry-After`) and 5xx with exponential backoff by itself.

# %%
config = {
    "client": {
        "base_url": api.url + "/",
        # page=1, 2, ... until an empty page: the API gives no total to read.
        "paginator": {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": None},
    },
    "resource_defaults": {"primary_key": "ride_id", "write_disposition": "merge"},
    "resources": [{"name": "rides", "endpoint": {"path": "rides", "params": {"page_size": 1000}}}],
}

# %% [markdown]
# A **pipeline** moves a source into a destination in three steps: *extract* (the requests, into local files),
# *normalise* (flatten, infer types, split child tables), *load* (create or alter the tables, copy the files in). Its
# working folder keeps what it extracted until it is loaded. `api_pipeline.pipeline` names one and puts that folder
# under the course home ([shared/zoomcamp/api_pipeline.py](../shared/zoomcamp/api_pipeline.py)), not in `~/.dlt`.

# %%
pipeline = api_pipeline.pipeline("duckdb", name="rides_lesson", dataset="rides_lesson")
info = pipeline.run(rest_api_source(config), loader_file_format="parquet", refresh="drop_sources")
print(info)

rides = pipeline.dataset()["rides"].df()
assert len(rides) == rides["ride_id"].nunique() == len(trips)
assert abs(rides["payment__total"].sum() - trips["total_amount"].sum()) < 0.01
assert api.requests["429"] and api.requests["500"]  # retried, and nothing lost
pd.Series({"rides": len(rides), "requests answered": api.requests["200"], "429s": api.requests["429"],
           "500s": api.requests["500"],
           "pipeline folder": Path(pipeline.working_dir).relative_to(api.settings.home.parent)}, dtype=object)

# %% [markdown]
# (`refresh="drop_sources"` starts this lesson from nothing each time it runs: it drops the tables and the state this
# source made before. A production pipeline leaves it out.)
#
# ## Normalisation: columns and child tables
#
# The nested objects became columns joined with `__` (`pickup__time`, `payment__tip`). The list of surcharges could
# not: it became a **child table**, `rides__payment__surcharges`, one row per list item, tied to its ride by dlt's ids
# (`_dlt_parent_id` → the ride's `_dlt_id`) and its place in the list (`_dlt_list_idx`).

# %%
print(pipeline.default_schema.data_table_names())
surcharges = pipeline.dataset()("""
    SELECT s.name, count(*) AS items, round(sum(s.amount), 2) AS amount
    FROM rides__payment__surcharges s JOIN rides r ON s._dlt_parent_id = r._dlt_id
    GROUP BY 1 ORDER BY 1""").df()
for name, column in {"congestion_surcharge": "congestion_surcharge", "mta_tax": "mta_tax"}.items():
    assert surcharges.set_index("name").loc[name, "items"] == (trips[column].fillna(0) != 0).sum()
surcharges

# %% [markdown]
# ## The schema dlt inferred
#
# dlt read every value and chose a type per column: ISO times became `timestamp`, amounts `double`, ids `bigint`. The
# schema is versioned and stored with the data (`_dlt_version`) and in the pipeline folder.

# %%
columns = pipeline.default_schema.get_table_columns("rides")
schema = pd.DataFrame([{"column": c, "type": columns[c].get("data_type"), "key": columns[c].get("primary_key", "")}
                       for c in columns])
assert schema.set_index("column").loc["pickup__time", "type"] == "timestamp"
version = pipeline.default_schema.version
schema

# %% [markdown]
# ## Schema evolution: the API adds a field
#
# APIs change. From now on this one sends an `airport_fee` with every ride, and a `driver` object. A hand-written
# loader would fail on the unknown columns, or drop them; dlt adds the columns (`ALTER TABLE`), leaves them `NULL` in
# the rows loaded before, and bumps the schema's version.

# %%
api.add_field("airport_fee", 1.25)
api.add_field("driver", {"rating": 4.9})
pipeline.run(rest_api_source(config), loader_file_format="parquet")
columns = pipeline.default_schema.get_table_columns("rides")
assert {"airport_fee", "driver__rating"} <= set(columns) and pipeline.default_schema.version > version
rides = pipeline.dataset()["rides"].df()
assert len(rides) == len(trips) and (rides["airport_fee"] == 1.25).all()  # merged on ride_id: new values, no copies
{"version before": version, "version now": pipeline.default_schema.version,
 "new columns": sorted(set(columns) - set(schema["column"]))}

# %% [markdown]
# (Schema *contracts* can refuse such a change instead: `schema_contract={"columns": "freeze"}` on a resource makes an
# unknown column an error — for a table that dashboards depend on.)
#
# ## Write dispositions
#
# What a second run does to the rows already there:
#
# | disposition | a second run of the same rides | use it for |
# |---|---|---|
# | `append` | adds them again: twice the rows | events, logs: rows that never change |
# | `replace` | drops what was there, loads the new set | small snapshots (a zones list) |
# | `merge` + `primary_key` | updates rows with the same key, inserts the rest | rows that change (rides, orders) |
#
# The `rides` table above was merged: two runs, one row per ride. The other two, in turn, on one table (a smaller API:
# only the rides that ended by 2 January):

# %%
small = RidesAPI(faults="", until="2021-01-02T00:00:00Z").start()
p = api_pipeline.pipeline("duckdb", name="rides_dispositions", dataset="rides_dispositions")
history = []
for run, disposition in enumerate(["append", "append", "replace", "replace"], start=1):
    source = rest_api_source(api_pipeline.source_config(small.url, incremental=False, write_disposition=disposition))
    p.run(source, loader_file_format="parquet", refresh="drop_sources" if run == 1 else None)
    rows = p.dataset()("SELECT count(*) AS n, count(DISTINCT ride_id) AS ids FROM rides").fetchall()[0]
    history.append({"run": run, "disposition": disposition, "rows": rows[0], "distinct rides": rows[1]})
small.stop()
history = pd.DataFrame(history).set_index("run")
n = len(small.store)
assert history["rows"].tolist() == [n, 2 * n, n, n]
history

# %% [markdown]
# ## Three destinations, one pipeline
#
# The destination is one argument. The course's PostgreSQL gets the same tables in a schema `rides_api`; the lake's
# bucket gets parquet files under `api/rides_api/<table>/` — a bucket has no `UPDATE`, so dlt appends there
# (it says "Falling back to append") and the reader dedups by key, or uses a table format (Delta, week 7).
# `api_pipeline.load` runs the same source with an incremental cursor (notebook 07); here each is a first run.

# %%
from zoomcamp import db
from zoomcamp.lake import API, Lake

api.stop()
api = RidesAPI(faults="").start()  # the original rides again
loaded = {}
for kind in ("duckdb", "postgres", "lake"):
    p = api_pipeline.pipeline(kind)  # rides_duckdb, rides_postgres, rides_lake, each into a dataset rides_api
    p.run(api_pipeline.rides_source(api.url), loader_file_format={"postgres": "csv"}.get(kind, "parquet"),
          refresh="drop_sources")
    loaded[kind] = p
in_postgres = db.query("SELECT count(*) AS n, sum(payment__total) AS total FROM rides_api.rides").iloc[0]
lake = Lake()
files = lake.fs.glob(lake.path(API, "rides_api", "rides", "*.parquet"))
in_lake = lake.duckdb().sql(f"SELECT count(*), sum(payment__total) FROM read_parquet({[lake.protocol + f for f in files]})"
                            ).fetchone()
in_duckdb = loaded["duckdb"].dataset()("SELECT count(*), sum(payment__total) FROM rides").fetchall()[0]
table = pd.DataFrame({"duckdb": in_duckdb, "postgres": [in_postgres["n"], in_postgres["total"]], "lake": in_lake},
                     index=["rides", "sum of totals"]).T
assert (table["rides"] == len(trips)).all()
assert (abs(table["sum of totals"] - trips["total_amount"].sum()) < 0.01).all()
table

# %% [markdown]
# ## Exercise 6
#
# Which pickup zone (`pickup__zone_id`) has the most rides in the PostgreSQL copy (`rides_api.rides`)? If several tie,
# the smallest id.

# %%
my_answer = None  # a zone id

# %%
per_zone = trips.groupby("PULocationID").size()
check(my_answer, int(per_zone[per_zone == per_zone.max()].index.min()))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = db.query("SELECT pickup__zone_id AS zone, count(*) AS n FROM rides_api.rides "
                    "GROUP BY 1 ORDER BY n DESC, zone LIMIT 1").loc[0, "zone"]
assert check(int(solution), int(per_zone[per_zone == per_zone.max()].index.min()))

# %%
api.stop()

# %% [markdown]
# ## Summary
#
# - dlt's REST API source turns notebook 05's loop into configuration: base URL, paginator, primary key,
#   disposition; retries with backoff and `Retry-After` come with it.
# - Nested objects become `__` columns; nested lists become child tables joined by `_dlt_parent_id`.
# - dlt infers and versions the schema, and evolves it when the source adds fields (or refuses, with a contract).
# - `append` adds, `replace` swaps, `merge` updates by primary key; a bucket only appends.
# - The destination is one argument: DuckDB, PostgreSQL, parquet in a bucket.
#
# **Next:** [07 · Incremental loading and dlt's state](07_incremental.ipynb)

# %%
from zoomcamp import course

course.record("week_2_ingestion/06_dlt.ipynb")  # this notebook ran to the end
