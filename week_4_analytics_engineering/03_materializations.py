# %% [markdown]
# # 03 · Materializations: view, table, incremental, ephemeral (and a snapshot)
#
# **What you will learn**
# - the four ways dbt can *materialize* a model's `SELECT`, what each creates in the database, and when to use it;
# - incremental models: `is_incremental()`, what a second run adds (nothing), what a new month adds, the trap of late
#   records, and `--full-refresh`;
# - snapshots: keeping the history of a table that changes in place.
#
# **What you need running:** the local stack. The next cell starts it, loads January's raw trips and builds the project
# from scratch.

# %%
import pandas as pd

from zoomcamp import datasets, dbt, stack
from zoomcamp.exercises import check

stack.up()
TARGET = "dev"
dbt.load_raw(TARGET, months=["2021-01"])
first = dbt.run("build", "--full-refresh", target=TARGET)
assert first.success
print(first)

# %% [markdown]
# ## Four materializations
#
# | materialization | what dbt creates | good for |
# | --- | --- | --- |
# | `view` | `CREATE VIEW` — a stored query, run each time it is read | staging: cheap, always current |
# | `table` | `CREATE TABLE AS SELECT`, rebuilt on every run | what dashboards read: fast to query |
# | `incremental` | a table, built once, then only new rows inserted (or merged) | big, growing fact tables |
# | `ephemeral` | nothing: the query is pasted as a CTE into the models that use it | small steps not worth storing |
#
# The defaults are set per folder in `dbt_project.yml` (staging: view, core: table); a model overrides its folder with
# `{{ config(materialized='...') }}` (fact_trips is incremental, int_trips_unioned ephemeral). The manifest says what
# each model got:

# %%
manifest = dbt.manifest()
models = pd.DataFrame([(n["name"], n["config"]["materialized"]) for n in manifest["nodes"].values()
                       if n["resource_type"] == "model"], columns=["model", "materialized"]).sort_values("model")
models

# %% [markdown]
# And here is what the database holds in the models' schema: views for staging, tables for the core models and the
# seeds, and no trace of the ephemeral `int_trips_unioned`.

# %%
created = dbt.query("""
    SELECT table_name, table_type FROM information_schema.tables
    WHERE table_schema = 'dbt_dev' ORDER BY table_type, table_name
""", TARGET)
kinds = dict(zip(created["table_name"], created["table_type"]))
for model, materialized in zip(models["model"], models["materialized"]):
    expected = {"view": "VIEW", "table": "BASE TABLE", "incremental": "BASE TABLE", "ephemeral": None}[materialized]
    assert kinds.get(model) == expected, (model, materialized, kinds.get(model))
created

# %% [markdown]
# The ephemeral model lives on inside `fact_trips`' compiled SQL, as a CTE named `__dbt__cte__int_trips_unioned`:

# %%
sql = dbt.compiled_sql("fact_trips")
assert "__dbt__cte__int_trips_unioned" in sql
print(sql[:sql.index("trips as (")])

# %% [markdown]
# ## Incremental: the second run adds nothing
#
# `fact_trips` has `materialized='incremental'` and `unique_key='tripid'`. When the table already exists,
# `is_incremental()` is true and the model only selects trips picked up after the newest one in the table (per service:
# `{{ this }}` is the table itself). Each row records the dbt run that inserted it, in `dbt_invocation_id`.

# %%
print(dbt.model_sql("fact_trips")[:1400])

# %%
again = dbt.run("run", "--select", "fact_trips", target=TARGET)
print(again, "|", again.table()["message"][0])
loaded_by = dbt.query("SELECT dbt_invocation_id, count(*) AS trips FROM dbt_dev.fact_trips GROUP BY 1", TARGET)
assert loaded_by["dbt_invocation_id"].tolist() == [first.invocation_id]  # nothing from the second run
assert "latest_pickup" in dbt.compiled_sql("fact_trips")  # this time dbt compiled the incremental branch
loaded_by

# %% [markdown]
# ## A new month arrives
#
# Load February next to January and run the model again: only trips newer than the newest already loaded are inserted.
# The expected rows, from pandas: the clean trips of both files (deduplicated as staging does, unknown zones dropped),
# picked up after the newest January trip of their service.

# %%
dbt.load_raw(TARGET, months=["2021-01", "2021-02"])
zones = datasets.read_csv(datasets.zones_file())
known = zones.loc[zones["Borough"] != "Unknown", "LocationID"]

def clean(kind, months):
    pickup, dropoff = {"green": ("lpep_pickup_datetime", "lpep_dropoff_datetime"),
                       "yellow": ("tpep_pickup_datetime", "tpep_dropoff_datetime")}[kind]
    trips = pd.concat([datasets.read_csv(datasets.trip_file(kind, m)) for m in months])
    trips = (trips.sort_values(["VendorID", pickup, dropoff, "total_amount", "trip_distance"])
             .drop_duplicates(["VendorID", pickup]))
    trips = trips[trips["PULocationID"].isin(known) & trips["DOLocationID"].isin(known)]
    return pd.DataFrame({"service_type": kind.title(), "pickup_datetime": trips[pickup]})

january = pd.concat([clean(k, ["2021-01"]) for k in ("green", "yellow")])
both = pd.concat([clean(k, ["2021-01", "2021-02"]) for k in ("green", "yellow")])
newest = january.groupby("service_type")["pickup_datetime"].max()
expected_new = both[both["pickup_datetime"] > both["service_type"].map(newest)]

february = dbt.run("run", "--select", "fact_trips", target=TARGET)
added = dbt.query(f"SELECT service_type, count(*) AS trips FROM dbt_dev.fact_trips "
                  f"WHERE dbt_invocation_id = '{february.invocation_id}' GROUP BY 1 ORDER BY 1", TARGET)
assert added["trips"].tolist() == expected_new.groupby("service_type").size().tolist()
print(february, "|", february.table()["message"][0])
added

# %% [markdown]
# ## The trap: late records
#
# The table now holds fewer trips than the two files' clean union. February's file also has trips picked up *before*
# the newest January trip (late records, and the files' dirt: pickups days early, a mistyped year). The incremental
# filter skipped them: it only looks forward. Real pipelines re-read a window (`> max - 3 days`, with `unique_key`
# merging what was already there); when the logic changes or data is restated, the answer is a full rebuild:
# `dbt build --full-refresh` (or `dbt run --full-refresh --select fact_trips`).

# %%
count = lambda: int(dbt.query("SELECT count(*) AS n FROM dbt_dev.fact_trips", TARGET)["n"][0])
missed = len(both) - count()
late = both[both["pickup_datetime"] <= both["service_type"].map(newest)]
assert missed == len(late) - len(january) and missed > 0
print(f"incremental: {count():,} trips, {missed} late records missed")
refreshed = dbt.run("run", "--full-refresh", "--select", "fact_trips", target=TARGET)
assert refreshed.success and count() == len(both)
print(f"after --full-refresh: {count():,} trips = the clean union of both files ({len(both):,})")

# %% [markdown]
# ## Exercise 3
#
# How many trips in `fact_trips` (now holding both months) were picked up in February 2021? Answer with a number.

# %%
my_answer = None

# %%
in_february = int(both["pickup_datetime"].between("2021-02-01", "2021-03-01", inclusive="left").sum())
check(my_answer, in_february)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = int(dbt.query("""
    SELECT count(*) AS n FROM dbt_dev.fact_trips
    WHERE pickup_datetime >= '2021-02-01' AND pickup_datetime < '2021-03-01'
""", TARGET)["n"][0])
assert check(solution, in_february)
solution

# %% [markdown]
# Back to January only, so the other notebooks see the data they expect (a full refresh again: the incremental model
# would not *remove* February's rows by itself).

# %%
dbt.load_raw(TARGET, months=["2021-01"])
assert dbt.run("build", "--full-refresh", "--select", "fact_trips+", target=TARGET).success
assert count() == len(january)

# %% [markdown]
# ## Snapshots: history of a table that changes in place
#
# A lookup table gets corrected in place: yesterday's value is gone. A **snapshot** (`snapshots/zones_snapshot.yml`,
# strategy `check` on all columns) compares the table with its last snapshot on each `dbt snapshot` (or `dbt build`)
# and keeps every version of a changed row, with `dbt_valid_from` / `dbt_valid_to` (a slowly changing dimension, type 2).
#
# Change zone 1's service zone in the seed table, take a snapshot, then restore the seed and snapshot again:

# %%
versions = lambda: dbt.query("""
    SELECT locationid, service_zone, dbt_valid_from, dbt_valid_to FROM dbt_dev.zones_snapshot
    WHERE locationid = 1 ORDER BY dbt_valid_from
""", TARGET)
before = len(versions())
original = dbt.query("SELECT service_zone FROM dbt_dev.taxi_zone_lookup WHERE locationid = 1", TARGET)["service_zone"][0]

from zoomcamp import db

db.execute("UPDATE dbt_dev.taxi_zone_lookup SET service_zone = 'Airports' WHERE locationid = 1")
assert dbt.run("snapshot", target=TARGET).success
assert len(versions()) == before + 1

assert dbt.run("seed", "--select", "taxi_zone_lookup", target=TARGET).success  # the CSV's value again
assert dbt.run("snapshot", target=TARGET).success
history = versions()
assert len(history) == before + 2
assert history["service_zone"].tolist()[-2:] == ["Airports", original] and pd.isna(history["dbt_valid_to"].iloc[-1])
history.tail(3)

# %% [markdown]
# ## Summary
#
# - Views for staging, tables for what people query, incremental for big growing facts, ephemeral for small steps;
#   the catalog (`information_schema`) shows what each really created.
# - An incremental run adds only new rows (`is_incremental()`, `{{ this }}`); a second run adds nothing; late records
#   need a look-back window or `--full-refresh`.
# - Snapshots keep the history of rows that change in place.
#
# **Next:** [04 · Macros, Jinja and packages](04_macros_and_packages.ipynb)

# %%
from zoomcamp import course

course.record("week_4_analytics_engineering/03_materializations.ipynb")  # this notebook ran to the end
