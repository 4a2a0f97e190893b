# %% [markdown]
# # 02 · The reference project: from the TLC files to a dashboard
#
# **What you will learn**
# - the capstone wired by hand from what the weeks built (the lake, the warehouse, dbt, a query of the mart), then
#   the same as one command, `project.run`: data lake → warehouse → dbt → the dashboard's tables, and what it adds;
# - why each step is idempotent, and how re-running one month replaces exactly that month;
# - where partitioning and clustering go, and why;
# - the Streamlit dashboard (two tiles, two filters), tested without a browser, and the same chain as an Airflow DAG.
#
# **What you need running:** the local stack (the GCS emulator holds the lake). The next cell starts it.

# %%
import duckdb
import matplotlib.pyplot as plt
import pandas as pd

from zoomcamp import datasets, dbt, orchestration, project, stack
from zoomcamp.course import scratch
from zoomcamp.datasets.schemas import DROPOFF_COLUMN, PICKUP_COLUMN
from zoomcamp.exercises import check
from zoomcamp.lake import Lake
from zoomcamp.settings import get_settings
from zoomcamp.warehouse import Warehouse, to_frame

stack.up()
MONTHS = ["2021-01", "2021-02"]
project.plan()

# %% [markdown]
# ## The problem, and the plan
#
# *How much do New York's green and yellow cabs earn, day by day, and where?* The TLC publishes every trip, month by
# month. The reference project turns those files into a dashboard that answers the question for any month and service,
# and keeps answering it as new months arrive. It reuses what the weeks built:
#
# | step | what it does | the course's piece |
# |---|---|---|
# | lake | each month's file as typed parquet, `{type}/year=YYYY/month=MM/` | week 2, `zoomcamp.lake` |
# | warehouse | each month into BigQuery's partitioned, clustered raw table of its type, replacing that month | week 3's `zoomcamp.warehouse` |
# | dbt | staging, facts and the monthly zone mart, tested | week 4's `taxi_rides_ny` |
# | dashboard | two small tables, then a Streamlit app reading them | this week |
#
# The table above (`project.plan()`) says where each step writes with your settings. Locally, the warehouse is the
# BigQuery emulator (and dbt runs on a DuckDB copy, see step 2); with `backend = "gcp"` the same steps write to GCS and
# BigQuery (notebook 03).
#
# ## Build it: the pipeline by hand
#
# First wire the chain yourself from the pieces of the earlier weeks, in a DuckDB file of your own (`by_hand`, under
# the project's folder). **1. The lake** (week 2): each month of each type as typed parquet.

# %%
settings = get_settings()
# a folder of this week's own (`zoomcamp reset 7` clears it) as the home of your warehouse and dbt's files
work = scratch(7, "by_hand")
by_hand = settings.replace(home=work, data_dir=settings.data_path)
lake = Lake()
for kind in project.KINDS:
    for published in lake.ingest(kind, MONTHS, progress=False):
        print(published)

# %% [markdown]
# **2. The warehouse** (week 3): the raw tables dbt reads, `trips_data_all.{green,yellow}_tripdata`, loaded from the
# lake's files of these months. Locally that is a DuckDB file (dbt has no adapter for the BigQuery emulator); DuckDB
# reads the lake's `gs://` files directly once it has the lake's filesystem.

# %%
hand_warehouse = dbt.duckdb_path(by_hand)  # where dbt's duckdb target looks, with these settings
hand_warehouse.parent.mkdir(parents=True, exist_ok=True)
with duckdb.connect(str(hand_warehouse)) as con:
    lake.duckdb(con)
    con.execute("CREATE SCHEMA IF NOT EXISTS trips_data_all")
    for kind in project.KINDS:
        files = ", ".join(f"'{lake.protocol}{lake.object_path(kind, month)}'" for month in MONTHS)
        con.execute(f"CREATE OR REPLACE TABLE trips_data_all.{kind}_tripdata AS "
                    f"SELECT * FROM read_parquet([{files}], hive_partitioning = true)")
    raw = con.execute("SELECT (SELECT count(*) FROM trips_data_all.green_tripdata) AS green, "
                      "(SELECT count(*) FROM trips_data_all.yellow_tripdata) AS yellow").df()
assert raw.iloc[0].to_dict() == {kind: sum(lake.manifest(kind, m)["rows"] for m in MONTHS) for kind in project.KINDS}
raw

# %% [markdown]
# **3. dbt** (week 4): the `revenue` selector (the monthly zone mart and everything upstream of it), models only
# (`--exclude-resource-type test`: the tests are for the one-command run below). **4. The mart**, queried.

# %%
built = dbt.run("build", "--selector", "revenue", "--full-refresh", "--exclude-resource-type", "test",
                "--exclude-resource-type", "unit_test", target="duckdb", target_path=work / "dbt-target",
                settings=by_hand)
assert built.success
MART = ("SELECT strftime(revenue_month, '%Y-%m') AS month, service_type, revenue_zone, total_monthly_trips, "
        "round(revenue_monthly_total_amount, 2) AS revenue FROM dbt_dev.dm_monthly_zone_revenue ORDER BY ALL")
with duckdb.connect(str(hand_warehouse), read_only=True) as con:
    hand_mart = con.execute(MART).df()
print(f"{len(hand_mart):,} mart rows (month, service, zone); the busiest:")
hand_mart.sort_values("total_monthly_trips", ascending=False).head(3)

# %% [markdown]
# ## Run it: one command
#
# [`project.run(months)`](../shared/zoomcamp/project/pipeline.py) (in `shared/zoomcamp/project/pipeline.py`) runs the same four steps in
# order; the terminal version is `zoomcamp project run --months 2021-01..2021-02`. What it adds to the cells above:
#
# - **idempotence per month**: re-running a month deletes that month and loads it again (in one transaction in
#   DuckDB), instead of replacing whole tables; other months stay as they are (checked at the end);
# - **both engines**: BigQuery's partitioned, clustered tables (the emulator here, BigQuery on GCP) *and* dbt's DuckDB
#   copy, checked to hold the same rows per month; the same call targets GCP with `backend = "gcp"`;
# - **checks between steps**: a month missing from the lake stops it before anything is replaced; dbt's tests run;
# - **the steps recorded** (`report.table()`: time and what each wrote), and the dashboard's tables built;
# - **the DAG**: the same functions as an Airflow DAG, one month per run (end of this notebook).
#
# Both give the same mart rows:

# %%
report = project.run(MONTHS)
assert [s.name for s in report.steps] == ["lake", "warehouse", "dbt", "dashboard"]
with duckdb.connect(str(project.warehouse_path()), read_only=True) as con:
    assert con.execute(MART).df().equals(hand_mart)
report.table()

# %% [markdown]
# A few seconds per step on the sample. The sections below look at what each step left behind, and check it against
# the files themselves.
#
# ## Step 1: the lake
#
# Week 2's [`Lake.ingest`](../shared/zoomcamp/lake.py): fetch (sample or download), convert to parquet with the TLC
# types, publish atomically, record the row count in `_manifests/`.

# %%
states = pd.DataFrame([vars(s) for s in lake.check(list(project.KINDS), MONTHS)])
assert (states["state"] == "present").all()
states[["kind", "month", "state", "rows"]]

# %% [markdown]
# ## Step 2: the warehouse
#
# [`project.load_warehouse`](../shared/zoomcamp/project/loading.py) loads each month's parquet file from the lake into BigQuery
# — the local emulator here, BigQuery itself on GCP — as `trips_data_all.<type>_tripdata`. The tables are **partitioned
# by pickup day**: the dashboard and dbt read whole days and months, and BigQuery scans only those partitions. They are
# **clustered by pickup zone**, which the categorical tile groups by, so fewer blocks are read. (The project's
# Terraform, `week_7_project/terraform/main.tf`, declares the same tables on GCP.) Re-running a month deletes it and
# appends it again with a load job; two columns from the lake's folders, `year` and `month`, say which month of the lake
# a row came from, and that is what the delete matches on — the pickup time will not do, as the TLC files hold a few
# trips dated in other months.

# %%
wh = Warehouse()
tables = [wh.client.get_table(wh.table_id(f"{kind}_tripdata")) for kind in project.KINDS]
layout = pd.DataFrame([{"table": t.table_id, "partitioned by": f"{t.time_partitioning.type_}({t.time_partitioning.field})",
                        "clustered by": ", ".join(t.clustering_fields), "rows": t.num_rows} for t in tables])
assert (layout["partitioned by"].str.startswith("DAY(")).all() and (layout["clustered by"] == "PULocationID").all()
layout

# %% [markdown]
# dbt has no adapter for the emulator, so locally dbt runs on DuckDB: the warehouse step also writes each month, from
# the same lake file, into the DuckDB file of dbt's `duckdb` target — in one transaction (readers see the old month or
# the new one) and sorted by pickup time and zone (DuckDB keeps min/max statistics per row group, so filters on them
# skip groups: the same idea as clustering). On GCP, dbt reads the BigQuery tables themselves.
#
# The lake, the warehouse and dbt's copy must hold the same rows, month by month:

# %%
in_bigquery = pd.concat([
    to_frame(wh.execute(f"SELECT '{kind}' AS kind, FORMAT('%04d-%02d', year, month) AS month, count(*) AS bigquery "
                        f"FROM `{wh.table_id(kind + '_tripdata')}` GROUP BY 1, 2")) for kind in project.KINDS])
with duckdb.connect(str(project.warehouse_path()), read_only=True) as con:
    in_duckdb = con.execute(" UNION ALL ".join(
        f"SELECT '{kind}' AS kind, printf('%04d-%02d', year, month) AS month, count(*) AS dbt_copy "
        f"FROM trips_data_all.{kind}_tripdata GROUP BY ALL" for kind in project.KINDS)).df()
counts = in_bigquery.merge(in_duckdb, on=["kind", "month"]).sort_values(["kind", "month"]).reset_index(drop=True)
counts["lake"] = [lake.manifest(k, m)["rows"] for k, m in zip(counts["kind"], counts["month"], strict=True)]
assert (counts["bigquery"] == counts["lake"]).all() and (counts["dbt_copy"] == counts["lake"]).all()
counts

# %% [markdown]
# ## Step 3: dbt
#
# Week 4's project, with its `revenue` selector (the monthly zone mart and everything upstream), built with
# `--full-refresh`: `fact_trips` is rebuilt from the raw tables as they are now, so a month replaced upstream is replaced
# here too. (Week 4's incremental run only adds newer trips; a replaced month needs the rebuild, or on BigQuery an
# `insert_overwrite` of its partitions.) Every test of the selection runs too.

# %%
build = report.step("dbt").result
assert build.success
build.table().groupby(["resource_type", "status"]).size().rename("nodes").reset_index()

# %% [markdown]
# Now the same facts computed without dbt, from the files, in pandas: dbt's staging rules (one trip per vendor and pickup
# time, trips without a vendor dropped), then only trips from and to known zones, then only pickups inside the loaded
# months (the dashboard's rule).

# %%
zones = datasets.read_csv(datasets.zones_file())
known = zones.loc[zones["Borough"] != "Unknown", "LocationID"]
frames = []
for kind, service in project.SERVICES.items():
    trips = pd.concat([datasets.read_csv(datasets.trip_file(kind, m)) for m in MONTHS], ignore_index=True)
    pickup, dropoff = PICKUP_COLUMN[kind], DROPOFF_COLUMN[kind]
    trips = (trips[trips["VendorID"].notna()]
             .sort_values(["VendorID", pickup, dropoff, "total_amount", "trip_distance"])
             .drop_duplicates(["VendorID", pickup], keep="first"))
    trips = trips[trips["PULocationID"].isin(known) & trips["DOLocationID"].isin(known)]
    frames.append(pd.DataFrame({"service_type": service, "pickup": trips[pickup],
                                "PULocationID": trips["PULocationID"], "total_amount": trips["total_amount"]}))
clean = pd.concat(frames, ignore_index=True)
clean["month"] = clean["pickup"].dt.strftime("%Y-%m")
clean = clean[clean["month"].isin(MONTHS)].merge(zones, left_on="PULocationID", right_on="LocationID")

with duckdb.connect(str(project.warehouse_path()), read_only=True) as con:
    facts = con.execute("SELECT service_type, count(*) AS trips FROM dbt_dev.fact_trips "
                        "WHERE strftime(pickup_datetime, '%Y-%m') IN ('2021-01', '2021-02') GROUP BY 1 ORDER BY 1").df()
assert facts.set_index("service_type")["trips"].to_dict() == clean.groupby("service_type").size().to_dict()
facts

# %% [markdown]
# ## Step 4: the dashboard's data
#
# [`project.build_dashboard_data`](../shared/zoomcamp/project/dashboard.py) writes two small tables from dbt's models:
# `dashboard.daily_trips` (trips and revenue per day and service, from `fact_trips`) and `dashboard.zone_revenue` (per
# month, service and pickup zone with its borough, from the mart and `dim_zones`). The dashboard's queries live in one
# place, `project.DashboardData`: the app shows what they return, and the tests compare them with pandas, as here.

# %%
data = project.DashboardData()
services = list(project.SERVICES.values())
totals = data.totals(MONTHS, services)
daily = data.daily(MONTHS, services)
share = data.revenue_share(MONTHS, services)

assert totals["trips"] == len(clean) and abs(totals["revenue"] - clean["total_amount"].sum()) < 0.01
per_day = clean.groupby([clean["pickup"].dt.normalize(), "service_type"]).size()
assert daily.set_index(["pickup_date", "service_type"])["trips"].to_dict() == per_day.to_dict()
by_borough = clean.groupby("Borough")["total_amount"].sum()
assert ((share.set_index("borough")["revenue"] - by_borough).abs() < 0.01).all() and abs(share["share"].sum() - 1) < 1e-3
totals

# %% [markdown]
# The dashboard's two tiles, drawn here with matplotlib from the same queries:

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.5))
colours = {"Green": "#2ca02c", "Yellow": "#e6b800"}
for service, rows in daily.groupby("service_type"):
    left.plot(rows["pickup_date"], rows["trips"], marker=".", label=service, color=colours[service])
left.set_title("Trips per day by service type")
left.legend()
left.tick_params(axis="x", rotation=30)
right.barh(share["borough"][::-1], share["share"][::-1], color="#4a6fa5")
right.set_title("Revenue share by borough")
right.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
fig.tight_layout()


# %% [markdown]
# ## Re-running a month
#
# Run February again: every step replaces February and only February, so the dashboard's numbers do not move, and
# January's rows in the warehouse are the same rows.

# %%
def january_fingerprint():
    with duckdb.connect(str(project.warehouse_path()), read_only=True) as con:
        return con.execute("SELECT count(*), sum(hash(vendorid, lpep_pickup_datetime, total_amount)) "
                           "FROM trips_data_all.green_tripdata WHERE month = 1").fetchone()


before = (data.totals(MONTHS, services), january_fingerprint())
rerun = project.run(["2021-02"])
after = (data.totals(MONTHS, services), january_fingerprint())
assert before == after
rerun.table()

# %% [markdown]
# ## The dashboard
#
# `zoomcamp project dashboard` serves the Streamlit app, `week_7_project/dashboard/app.py`, on
# http://127.0.0.1:8501: three totals, trips (or revenue) per day by service type, revenue share by borough (or zone),
# and filters for the month and the service type in the sidebar. It is a thin layer over `DashboardData`.
#
# Streamlit's `AppTest` runs the app without a browser and lets us read what it shows — and move its filters:

# %%
from streamlit.testing.v1 import AppTest

app = AppTest.from_file(str(project.APP), default_timeout=60).run()
assert not app.exception
shown = {m.label: m.value for m in app.metric}
assert shown["Trips"] == f"{totals['trips']:,}"
app.multiselect(key="months").set_value(["2021-02"]).run()
app.multiselect(key="services").set_value(["Green"]).run()
green_feb = data.totals(["2021-02"], ["Green"])
assert app.metric[0].value == f"{green_feb['trips']:,}" and app.metric[1].value == f"${green_feb['revenue']:,.2f}"
pd.DataFrame({"all months and services": shown, "February, Green": {m.label: m.value for m in app.metric}})

# %% [markdown]
# (`tests/project/test_project.py` also opens it in a real headless browser and saves a screenshot.)
#
# ## The same chain in Airflow
#
# `week_7_project/airflow/dags/project_pipeline.py` runs the same functions as tasks, one month per run
# (`{{ ds[:7] }}`), retried on failure; `zoomcamp airflow test project_pipeline --months 2021-01..2021-02` is a local
# backfill.

# %%
shape = orchestration.describe_dag("project_pipeline")
assert shape["tags"] == ["project", "week_7"] and min(t["retries"] for t in shape["tasks"].values()) >= 1
orchestration.plot_dag(shape);

# %% [markdown]
# ## Exercise 3
#
# Which borough earns the largest share of the **green** cabs' revenue in **February**? Use `data.revenue_share(...)`.

# %%
my_answer = None  # a borough's name

# %%
green_february = clean[(clean["service_type"] == "Green") & (clean["month"] == "2021-02")]
check(my_answer, green_february.groupby("Borough")["total_amount"].sum().idxmax())

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = data.revenue_share(["2021-02"], ["Green"])["borough"].iloc[0]
assert check(solution, green_february.groupby("Borough")["total_amount"].sum().idxmax())

# %% [markdown]
# ## Summary
#
# - Wired by hand, the chain is four short steps: the lake, a load into the warehouse, dbt, a query of the mart.
# - One command, `zoomcamp project run`, runs lake → warehouse → dbt → dashboard data; every step is idempotent and a
#   re-run of a month replaces that month only (checked above: same totals, the same January rows).
# - The warehouse's raw tables are partitioned by pickup day and clustered by pickup zone in BigQuery (the emulator
#   here, Terraform on GCP); dbt's local DuckDB copy is sorted the same way and holds the same rows; the lake's
#   `year`/`month` keys make "replace a month" exact.
# - dbt's facts are rebuilt in full so that replaced months flow through; its tests run on every build.
# - The dashboard's numbers come from one class, `DashboardData`, and equal a pandas computation from the raw files;
#   the Streamlit app only lays them out, and Airflow runs the same functions as a DAG.
#
# **Next:** [03 · Your project](03_your_project.ipynb)

# %%
from zoomcamp import course

course.record("week_7_project/02_reference_project.ipynb")  # this notebook ran to the end
