# %% [markdown]
# # 07 · Incremental loading and dlt's state
#
# **What you will learn**
# - an incremental cursor: the second run asks the API only for what changed (`since=`) and loads only that;
# - a ride updated at the source is merged by its primary key, not duplicated;
# - where dlt keeps its state (the cursor): in the pipeline's folder *and* in the destination, and why both;
# - dlt's own inspection: `dlt pipeline ... info` and `trace`, load packages, `_dlt_loads`;
# - how the loaded tables feed weeks 3 and 4.
#
# **What you need running:** the local stack's PostgreSQL (the next cell starts it). The rides API starts inside this
# notebook ([shared/zoomcamp/api.py](../shared/zoomcamp/api.py)).

# %%
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from zoomcamp import api_pipeline, datasets, db, stack
from zoomcamp.api import RidesAPI
from zoomcamp.exercises import check

stack.up(["postgres"])
dlt_env = api_pipeline.configure()
# The API's clock: only the rides that ended by 20 January are published so far.
api = RidesAPI(faults="", until="2021-01-20T00:00:00Z").start()
month = datasets.read_csv(datasets.trip_file("yellow", "2021-01"))  # the API serves every k-th row of it
trips = month.iloc[:: max(1, len(month) // api.settings.api_rides)].head(api.settings.api_rides)
early = trips[trips["tpep_dropoff_datetime"] <= pd.Timestamp("2021-01-20")]

# %% [markdown]
# ## The cursor
#
# The library's source ([shared/zoomcamp/api_pipeline.py](../shared/zoomcamp/api_pipeline.py)) is notebook 06's, with
# one parameter more: `since` is an **incremental** value. dlt sends its `initial_value` on the first run, keeps the
# largest `updated_at` it loaded, and sends that on the next run. The API answers rides changed at or after it
# (inclusive: a ride stamped in the same second is not missed); dlt drops the ones it already has.

# %%
api_pipeline.source_config(api.url)["resources"][0]["endpoint"]["params"]

# %%
pipeline = api_pipeline.pipeline("postgres", name="rides_incremental", dataset="rides_incremental")
pipeline.run(api_pipeline.rides_source(api.url), loader_file_format="csv", refresh="drop_sources")
rides = db.query("SELECT ride_id, payment__tip, payment__total FROM rides_incremental.rides")
assert len(rides) == rides["ride_id"].nunique() == len(early)
cursor = pipeline.state["sources"]["rest_api"]["resources"]["rides"]["incremental"]["updated_at"]
{"rides loaded": len(rides), "cursor now": cursor["last_value"]}

# %% [markdown]
# ## Time passes at the source
#
# The API's clock moves on: the rest of January's rides are published. The second run sends `since=<cursor>` and
# loads only them.

# %%
published = api.advance()  # every ride, now
before = dict(api.requests)
info = pipeline.run(api_pipeline.rides_source(api.url), loader_file_format="csv")
new = api_pipeline.loaded_rows(info)
assert new["rides"] == published == len(trips) - len(early)
{"rides published": published, "rides loaded": new["rides"], "pages asked": api.requests["200"] - before["200"]}

# %% [markdown]
# ## An update at the source is merged
#
# A passenger's tip arrives after the ride was recorded: the source changes ride 3 and stamps it with a newer
# `updated_at`. The next run's `since=` catches it, and `merge` on `ride_id` replaces the row — and its child rows.

# %%
changed = api.amend(3, tip=5.0)
info = pipeline.run(api_pipeline.rides_source(api.url), loader_file_format="csv")
assert api_pipeline.loaded_rows(info)["rides"] == 1
rides = db.query("SELECT ride_id, payment__tip, payment__total FROM rides_incremental.rides")
assert len(rides) == rides["ride_id"].nunique() == len(trips)  # updated, not duplicated
assert rides.set_index("ride_id").loc[3, "payment__tip"] == 5.0
rides[rides["ride_id"] == 3]

# %% [markdown]
# And a run with nothing new loads nothing:

# %%
info = pipeline.run(api_pipeline.rides_source(api.url), loader_file_format="csv")
assert api_pipeline.loaded_rows(info) == {}
print(pipeline.last_trace.last_normalize_info)

# %% [markdown]
# ## Where the state lives
#
# The cursor is in the pipeline's **state**, kept in two places:
#
# 1. the pipeline's working folder on this machine (`<course home>/dlt/pipelines/<name>/state.json`: here, not in
#    `~/.dlt`, because `api_pipeline.configure()` sets dlt's `DLT_DATA_DIR` to the course home);
# 2. the **destination**, in the table `_dlt_pipeline_state`, written in the same load as the data.
#
# The second is the one that matters: a pipeline run on a fresh machine (a CI runner, a new Airflow worker, a
# container) finds no folder, reads the state back from the destination and continues where the last run stopped.

# %%
state_file = Path(pipeline.working_dir) / "state.json"
local = json.loads(state_file.read_text())["sources"]["rest_api"]["resources"]["rides"]["incremental"]["updated_at"]
assert local["last_value"] == changed["updated_at"]  # the amended ride's stamp: the largest loaded
stored = db.query("SELECT version, created_at FROM rides_incremental._dlt_pipeline_state "
                  "WHERE pipeline_name = 'rides_incremental' ORDER BY version DESC LIMIT 3")
print(state_file.relative_to(api.settings.home), "->", local["last_value"])
stored

# %% [markdown]
# Delete the working folder, as a fresh machine would have none, and run again:

# %%
shutil.rmtree(pipeline.working_dir)  # a fresh machine: no working folder, no local state
pipeline = api_pipeline.pipeline("postgres", name="rides_incremental", dataset="rides_incremental")
assert "sources" not in pipeline.state
info = pipeline.run(api_pipeline.rides_source(api.url), loader_file_format="csv")
assert api_pipeline.loaded_rows(info) == {}  # the cursor came back from PostgreSQL: nothing loaded twice
restored = pipeline.state["sources"]["rest_api"]["resources"]["rides"]["incremental"]["updated_at"]
assert restored["last_value"] == changed["updated_at"]
db.query("SELECT count(*) AS rides FROM rides_incremental.rides")

# %% [markdown]
# What if a run is killed half-way? The extracted pages wait in the working folder as a *load package*; the next run
# loads them first. Nothing is committed to the destination until a package's load finishes (the state with it), so
# a kill loses nothing and merge on `ride_id` duplicates nothing — `tests/api/test_api.py` kills a run with `SIGKILL`
# mid-extract and checks the count and the sum afterwards.
#
# ## dlt's own inspection
#
# Every run leaves a **trace** (the steps, their times, the rows per table) and one **load package** per load, listed
# in the destination's `_dlt_loads`. The `dlt` command shows them; it finds the pipeline through `DLT_DATA_DIR`.

# %%
dlt = str(Path(sys.executable).parent / "dlt")
shown = subprocess.run([dlt, "pipeline", "rides_incremental", "info"], capture_output=True, text=True,
                       env={**dlt_env, "PATH": str(Path(sys.executable).parent), "HOME": str(Path.home())})
assert shown.returncode == 0, shown.stderr
print("\n".join(shown.stdout.splitlines()[:12]))

# %%
loads = db.query("SELECT load_id, schema_name, status, inserted_at FROM rides_incremental._dlt_loads "
                 "ORDER BY inserted_at")
assert len(loads) >= 3 and (loads["status"] == 0).all()  # 0 = loaded
loads

# %% [markdown]
# `dlt pipeline rides_incremental trace` prints the last run's steps with their timings, and `dlt pipeline
# rides_incremental load-package` a package's files and schema changes; in Python, `pipeline.last_trace` and
# `pipeline.list_completed_load_packages()` give the same.
#
# ## Feeding weeks 3 and 4
#
# The tables dlt made are ordinary tables: in PostgreSQL, `rides_api.rides` and its child table are a dbt **source**
# for week 4 (`{{ source('rides_api', 'rides') }}`), with `_dlt_load_id` telling which load brought each row (an
# incremental model's filter); in the lake, `api/rides_api/rides/*.parquet` is what a BigQuery **external table**
# reads (week 3), as the TLC months are.
#
# ## Exercise 7
#
# What is the cursor's value (`last_value`) now, as dlt stored it? Read it from `pipeline.state`.

# %%
my_answer = None  # e.g. "2021-01-31T23:59:59Z"

# %%
check(my_answer, changed["updated_at"])

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = pipeline.state["sources"]["rest_api"]["resources"]["rides"]["incremental"]["updated_at"]["last_value"]
assert check(solution, changed["updated_at"])

# %%
api.stop()

# %% [markdown]
# ## Summary
#
# - An incremental cursor sends the source "what changed since", and dlt keeps the largest value it loaded.
# - `merge` on a primary key makes an update at the source an update in the table; a run with nothing new is a no-op.
# - The state lives in the destination (`_dlt_pipeline_state`), loaded atomically with the data: a fresh working
#   folder, a killed run or another machine continue exactly.
# - `dlt pipeline <name> info | trace | load-package` and `_dlt_loads` show what every run did.
#
# **Next:** week 3, [the data warehouse](../week_3_warehouse/README.md).

# %%
from zoomcamp import course

course.record("week_2_ingestion/07_incremental.ipynb")  # this notebook ran to the end
