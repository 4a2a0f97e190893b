# %% [markdown]
# # 01 · Anatomy of a dbt model
#
# **What you will learn**
# - ETL vs ELT: one report built both ways, and what each costs when the logic changes;
# - what dbt is for: the **T** of ELT — SQL `SELECT`s, version-controlled, that build tables and views *inside* the
#   warehouse, in the right order, with tests and docs;
# - the parts of the course's dbt project `taxi_rides_ny/` and where each lives;
# - what a model is: a `SELECT` with a little Jinja, and what dbt turns it into (the compiled SQL in `target/compiled`);
# - running dbt from Python (`dbtRunner`) and checking its result against an independent pandas computation;
# - the project's lineage graph.
#
# **What you need running:** the local stack (PostgreSQL). The next cell starts it if it is not running (same as
# `zoomcamp stack up`), and loads the raw trips dbt reads.

# %%
import time

import duckdb
import pandas as pd

from zoomcamp import datasets, dbt, stack
from zoomcamp.exercises import check

stack.up()
TARGET = "dev"  # the course's PostgreSQL; "duckdb" runs the same project on a DuckDB file
raw = dbt.load_raw(TARGET)  # trips_data_all.{green,yellow,fhv}_tripdata, from the month's sample (or real) files
raw

# %% [markdown]
# ## The raw data
#
# dbt does not load data: it transforms what is already in the warehouse. `dbt.load_raw` puts one month of green,
# yellow and FHV trips into the schema `trips_data_all` (the name of the course's BigQuery dataset), through week 1's
# loader. Column names are lower case (`vendorid`, `lpep_pickup_datetime`): PostgreSQL folds unquoted names to lower
# case, so lower-case columns let the same SQL run on PostgreSQL, DuckDB and BigQuery.

# %%
dbt.query("SELECT * FROM trips_data_all.green_tripdata LIMIT 3", TARGET)

# %% [markdown]
# ## ETL or ELT?
#
# Before dbt, the usual order was **ETL**: extract the files, *transform* them in a program (Python, Spark, an ETL
# tool), and load only the result into the warehouse. Cloud warehouses made storage cheap and compute elastic, so the
# order changed to **ELT**: load the raw data as it is, and transform it *inside* the warehouse, in SQL — the part dbt
# does. The difference shows when the logic changes. Here is one small report, revenue per pickup zone per day, built
# both ways on the same two files. The warehouse is an in-memory DuckDB database, so nothing is left behind; `costs`
# counts the rows each step reads from the source files and writes into the warehouse.

# %%
KINDS = {"green": "lpep_pickup_datetime", "yellow": "tpep_pickup_datetime"}
warehouse = duckdb.connect()  # stands in for BigQuery or PostgreSQL
costs = []


def extract():
    """E: read the month's files from the source (at scale: download and parse gigabytes)."""
    raw = {kind: datasets.read_csv(datasets.trip_file(kind, "2021-01")) for kind in KINDS}
    return raw, sum(map(len, raw.values()))


def transform_in_python(raw, zones, *, drop_zero_distance=False):
    """T in pandas: union, (filter), join the zone names, group per zone and day."""
    trips = pd.concat([t.assign(pickup=t[column]) for (kind, t), column in zip(raw.items(), KINDS.values())])
    if drop_zero_distance:
        trips = trips[trips["trip_distance"] > 0]
    trips = trips.merge(zones, left_on="PULocationID", right_on="LocationID")
    return (trips.assign(day=trips["pickup"].dt.date)
            .groupby(["Zone", "day"]).agg(trips=("total_amount", "size"), revenue=("total_amount", "sum"))
            .reset_index())


def etl(*, drop_zero_distance=False):
    started = time.perf_counter()
    raw, read = extract()
    report = transform_in_python(raw, zones, drop_zero_distance=drop_zero_distance)
    warehouse.execute("CREATE OR REPLACE TABLE etl_report AS SELECT * FROM report")  # L: only the result
    costs.append({"way": "ETL", "drop_zero_distance": drop_zero_distance, "rows read from source": read,
                  "rows written to warehouse": len(report), "seconds": time.perf_counter() - started})


ELT_SQL = """
CREATE OR REPLACE TABLE elt_report AS
WITH trips AS (
    SELECT lpep_pickup_datetime AS pickup, PULocationID, trip_distance, total_amount FROM raw_green
    UNION ALL
    SELECT tpep_pickup_datetime, PULocationID, trip_distance, total_amount FROM raw_yellow
)
SELECT z.Zone, CAST(t.pickup AS DATE) AS day, count(*) AS trips, sum(t.total_amount) AS revenue
FROM trips t JOIN raw_zones z ON t.PULocationID = z.LocationID
WHERE {where}
GROUP BY 1, 2
"""


def elt_load():
    """E and L: the raw files and the zone lookup go into the warehouse unchanged."""
    started = time.perf_counter()
    raw, read = extract()
    for kind, frame in raw.items():
        warehouse.register("incoming", frame)
        warehouse.execute(f"CREATE OR REPLACE TABLE raw_{kind} AS SELECT * FROM incoming")
    warehouse.execute("CREATE OR REPLACE TABLE raw_zones AS SELECT * FROM zones")
    costs.append({"way": "ELT: load raw", "drop_zero_distance": None, "rows read from source": read,
                  "rows written to warehouse": read + len(zones), "seconds": time.perf_counter() - started})


def elt_transform(*, drop_zero_distance=False):
    """T in SQL, over the raw tables already in the warehouse: the source is not touched."""
    started = time.perf_counter()
    warehouse.execute(ELT_SQL.format(where="trip_distance > 0" if drop_zero_distance else "true"))
    written = warehouse.sql("SELECT count(*) FROM elt_report").fetchone()[0]
    costs.append({"way": "ELT: transform", "drop_zero_distance": drop_zero_distance, "rows read from source": 0,
                  "rows written to warehouse": written, "seconds": time.perf_counter() - started})


def report(table):
    frame = warehouse.sql(f"SELECT Zone, day, trips, round(revenue, 2) AS revenue FROM {table} ORDER BY 1, 2").df()
    return frame.astype({"trips": "int64"})


zones = datasets.read_csv(datasets.zones_file())
etl()
elt_load()
elt_transform()
pd.testing.assert_frame_equal(report("etl_report"), report("elt_report"))
before = report("elt_report")
print(f"the same report both ways: {len(before)} zone-days, {before['trips'].sum()} trips, "
      f"${before['revenue'].sum():,.2f}")

# %% [markdown]
# Now the logic changes: trips of zero distance (cancelled or mis-recorded) must not count. ETL has to run again from
# the start — extract the files again, transform, reload the result. ELT only re-runs its SQL over the raw tables it
# already holds:

# %%
etl(drop_zero_distance=True)
elt_transform(drop_zero_distance=True)
after = report("elt_report")
pd.testing.assert_frame_equal(report("etl_report"), after)
assert after["trips"].sum() < before["trips"].sum()  # the zero-distance trips are gone, from both
ledger = pd.DataFrame(costs).round({"seconds": 3})
changed = ledger.iloc[-2:]  # the two rebuilds after the change
assert changed.loc[changed["way"] == "ETL", "rows read from source"].item() == sum(
    len(datasets.read_csv(datasets.trip_file(kind, "2021-01"))) for kind in KINDS)
assert changed.loc[changed["way"] == "ELT: transform", "rows read from source"].item() == 0
ledger

# %% [markdown]
# What the ledger says, and what it means at the size of the real data (tens of millions of rows a month):
#
# - **ETL** loads little (only the report), so the warehouse stays small and raw data that must not be kept
#   (personal data, say) never reaches it. But every change of logic, or a new question, means extracting the
#   source again — slow and sometimes impossible (the source has moved on or deleted old files) — and the transform
#   code runs on whatever machine runs the pipeline.
# - **ELT** pays once to load everything raw. After that a change of logic, a fix or a brand-new report is a SQL query
#   over data already there, on the warehouse's compute, and the raw tables stay as the record of what arrived. That
#   is the workflow dbt is built for: the `T` as versioned, tested `SELECT`s — the rest of this week.

# %% [markdown]
# ## The project
#
# A dbt project is a folder of SQL and YAML files. The important ones:
#
# | path | what it holds |
# | --- | --- |
# | `dbt_project.yml` | the project's name, folders, and defaults (staging models are views, core models tables) |
# | `profiles.yml` | how to connect: `dev` (PostgreSQL), `duckdb`, `prod` (BigQuery) — from environment variables |
# | `models/staging/` | one view per raw table: renamed, typed, deduplicated; `sources.yml` declares the raw tables |
# | `models/core/` | the tables people query: `dim_zones`, `fact_trips`, `dm_monthly_zone_revenue` |
# | `seeds/` | small CSV files dbt loads as tables (zone lookup, payment types) |
# | `macros/`, `tests/`, `snapshots/` | reusable Jinja, tests, history tables |
# | `packages.yml`, `selectors.yml` | packages to install, named selections of models |

# %%
project = dbt.PROJECT_DIR
files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*")
               if p.is_file() and p.parts[len(project.parts)] not in ("target", "logs", "dbt_packages"))
print("\n".join(files))

# %% [markdown]
# ## A model is a SELECT
#
# Here is `stg_green_tripdata.sql` as written. Three kinds of Jinja (`{{ ... }}`, `{% ... %}`) appear in it:
# `source(...)` names a raw table, `taxi_utils.generate_surrogate_key(...)` and `get_payment_type_description(...)` are
# macros that write SQL, and `var('is_test_run')` reads a project variable.

# %%
print(dbt.model_sql("stg_green_tripdata"))

# %% [markdown]
# `dbt compile` renders the Jinja and writes the SQL that dbt would send to `target/compiled/`. Compare: the source
# became a real table name, and the macros became SQL expressions (an `md5(...)` and a `CASE`).

# %%
compiled = dbt.run("compile", "--select", "stg_green_tripdata", target=TARGET)
print(compiled)
sql = dbt.compiled_sql("stg_green_tripdata")
assert '"trips_data_all"."green_tripdata"' in sql and "{{" not in sql
print(sql[sql.index("select\n    -- identifiers"):sql.index("-- trip info")])

# %% [markdown]
# dbt never writes `CREATE TABLE` or `CREATE VIEW` in a model: the *materialization* (view, table, incremental,
# ephemeral — notebook 03) wraps the `SELECT` in the right DDL. That wrapped statement is in `target/run/`.
#
# ## Build everything
#
# `dbt build` does, in dependency order: load the seeds, build each model, take the snapshot, and run the tests
# of each node right after it (a failing test stops what depends on it). `dbt.run` calls dbt in this Python process
# (`dbtRunner`) and returns one row per node. `--full-refresh` rebuilds the incremental model from scratch, so this
# notebook starts from a known state whatever ran before.

# %%
build = dbt.run("build", "--full-refresh", target=TARGET)
print(build)
assert build.success
build.table().query("resource_type != 'test'")

# %% [markdown]
# ## Check it against pandas
#
# The fact table should hold every green and yellow trip of the files, once per (vendor, pickup time), except the
# trips from or to an *Unknown* zone. Computed independently with pandas, from the files themselves:

# %%
zones = datasets.read_csv(datasets.zones_file())
known = zones.loc[zones["Borough"] != "Unknown", "LocationID"]

def clean_trips(kind, pickup, dropoff, service):
    trips = datasets.read_csv(datasets.trip_file(kind, "2021-01"))
    trips = (trips[trips["VendorID"].notna()]
             .sort_values(["VendorID", pickup, dropoff, "total_amount", "trip_distance"])
             .drop_duplicates(["VendorID", pickup]))  # the first: the earliest dropoff, as the model keeps
    trips = trips[trips["PULocationID"].isin(known) & trips["DOLocationID"].isin(known)]
    return trips.assign(service_type=service, pickup_datetime=trips[pickup])

expected = pd.concat([clean_trips("green", "lpep_pickup_datetime", "lpep_dropoff_datetime", "Green"),
                      clean_trips("yellow", "tpep_pickup_datetime", "tpep_dropoff_datetime", "Yellow")])
facts = dbt.query("SELECT service_type, count(*) AS trips FROM dbt_dev.fact_trips GROUP BY 1 ORDER BY 1", TARGET)
assert facts["trips"].tolist() == expected.groupby("service_type").size().tolist()
assert facts["trips"].sum() == len(expected)
facts

# %% [markdown]
# And the data mart's revenue per month and service is the sum of `total_amount` over the same trips:

# %%
mart = dbt.query("""
    SELECT service_type, revenue_month, sum(revenue_monthly_total_amount) AS revenue, sum(total_monthly_trips) AS trips
    FROM dbt_dev.dm_monthly_zone_revenue GROUP BY 1, 2 ORDER BY 1, 2
""", TARGET)
by_month = (expected.assign(revenue_month=expected["pickup_datetime"].dt.to_period("M").dt.to_timestamp())
            .groupby(["service_type", "revenue_month"])["total_amount"].agg(["sum", "size"]).reset_index())
assert mart["trips"].tolist() == by_month["size"].tolist()
assert (mart["revenue"].astype(float) - by_month["sum"]).abs().max() < 0.01
mart

# %% [markdown]
# A few trips land in months other than January 2021: that is the files' dirt (a mistyped year, trips logged a day
# late). The mart keeps them in their own months, visibly, rather than hiding them.
#
# ## The lineage graph
#
# Every `ref()` and `source()` is an edge: dbt knows the order to build things in, and what a change affects. dbt
# writes the whole graph to `target/manifest.json`; here it is drawn (columns from left to right: raw tables and seeds,
# staging, the ephemeral union, the fact table, the mart).

# %%
manifest = dbt.manifest()
dbt.draw_lineage(manifest);

# %% [markdown]
# ## Exercise 1
#
# How many green trips did the staging model's deduplication drop, that is, how many rows of the raw table
# `trips_data_all.green_tripdata` are not in `stg_green_tripdata`? Answer with a number (query both with `dbt.query`).

# %%
my_answer = None  # e.g. dbt.query("SELECT ...", TARGET)["n"][0]

# %%
green = datasets.read_csv(datasets.trip_file("green", "2021-01"))
dropped = len(green) - len(green.drop_duplicates(["VendorID", "lpep_pickup_datetime"]))
check(my_answer, dropped)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = int(dbt.query("""
    SELECT (SELECT count(*) FROM trips_data_all.green_tripdata) - (SELECT count(*) FROM dbt_dev.stg_green_tripdata) AS n
""", TARGET)["n"][0])
assert check(solution, dropped)
solution

# %% [markdown]
# ## Summary
#
# - A dbt model is a `SELECT` in a `.sql` file; Jinja (`source`, `ref`, macros, `var`) is rendered into plain SQL,
#   which you can read in `target/compiled/`.
# - `dbt build` loads seeds, builds models, takes snapshots and runs tests, in dependency order.
# - The result was checked against pandas: same trips, same revenue per month.
# - `target/manifest.json` holds the whole project, including the lineage graph.
#
# **Next:** [02 · Sources, ref and seeds](02_sources_refs_seeds.ipynb)

# %%
from zoomcamp import course

course.record("week_4_analytics_engineering/01_anatomy_of_a_model.ipynb")  # this notebook ran to the end
