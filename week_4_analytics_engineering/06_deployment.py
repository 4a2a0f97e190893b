# %% [markdown]
# # 06 · Deployment: targets, selectors, CI
#
# **What you will learn**
# - development vs production: one project, several *targets* (`profiles.yml`), chosen with `--target`;
# - the same project on a second warehouse (DuckDB), giving the same numbers as PostgreSQL;
# - the production target (BigQuery), checked without running it;
# - selectors for jobs, and the CI pattern `--select state:modified+` (build only what a change touches), shown for real;
# - dbt in production with Airflow as the scheduler: freshness, build, docs, alerts on failure, the docs as the data
#   catalog, and what dbt Cloud offers instead.
#
# **What you need running:** the local stack; the next cell starts it and builds the project on PostgreSQL.

# %%
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from zoomcamp import datasets, dbt, stack
from zoomcamp.exercises import check
from zoomcamp.settings import get_settings

stack.up()
dbt.load_raw("dev")
dev = dbt.run("build", "--full-refresh", target="dev")
assert dev.success
print(dev)

# %% [markdown]
# ## Development and production
#
# A team works in **development**: each person builds into their own schema (`dbt_dev` here, often `dbt_<name>`), on
# their own data or a sample, as often as they like. **Production** is the schema dashboards read (`production` on
# BigQuery), built by a scheduled job from the main branch only. Both run the same code; `profiles.yml` tells dbt where
# each *target* is, from environment variables (no password in git):

# %%
print((dbt.PROJECT_DIR / "profiles.yml").read_text())

# %% [markdown]
# `dbt.env(target)` is what the course sets for each target; in a terminal, `eval "$(zoomcamp dbt env --target dev)"`
# then `dbt build --target dev` in the project folder does the same as `dbt.run`.

# %%
{name: value if "PASSWORD" not in name else "***" for name, value in dbt.env("dev").items()}

# %% [markdown]
# ## The same project on DuckDB
#
# Switching warehouse is switching target: load the raw tables into the DuckDB file and build there. Because the SQL
# goes through `source`/`ref`, dbt's cross-database macros and our dispatched one, not a line of the project changes.
# The two data marts agree to the cent:

# %%
dbt.load_raw("duckdb")
# Its artifacts in a folder of their own: dbt re-reads the whole project when the target of `target/` changes.
duck_target = Path(tempfile.mkdtemp())
duck = dbt.run("build", "--full-refresh", target="duckdb", target_path=duck_target)
assert duck.success
print(duck)

sql = """SELECT revenue_locationid, revenue_month, service_type, total_monthly_trips AS trips,
                round(revenue_monthly_total_amount, 2) AS revenue
         FROM dbt_dev.dm_monthly_zone_revenue ORDER BY 1, 2, 3"""
on_postgres, on_duckdb = dbt.query(sql, "dev"), dbt.query(sql, "duckdb")
assert len(on_postgres) == len(on_duckdb)
for column in ("revenue_locationid", "trips"):
    assert on_postgres[column].astype(int).tolist() == on_duckdb[column].astype(int).tolist()
assert (on_postgres["revenue"].astype(float) - on_duckdb["revenue"].astype(float)).abs().max() < 0.005
print(f"{len(on_postgres)} rows, identical on both warehouses")

# %% [markdown]
# And both agree with pandas on the total per service (the clean union of the files, as in notebook 01):

# %%
zones = datasets.read_csv(datasets.zones_file())
known = zones.loc[zones["Borough"] != "Unknown", "LocationID"]
frames = []
for kind, pickup, dropoff in (("green", "lpep_pickup_datetime", "lpep_dropoff_datetime"),
                              ("yellow", "tpep_pickup_datetime", "tpep_dropoff_datetime")):
    trips = datasets.read_csv(datasets.trip_file(kind, "2021-01"))
    trips = (trips.sort_values(["VendorID", pickup, dropoff, "total_amount", "trip_distance"])
             .drop_duplicates(["VendorID", pickup]))
    trips = trips[trips["PULocationID"].isin(known) & trips["DOLocationID"].isin(known)]
    frames.append(trips.assign(service_type=kind.title(), pickup_locationid=trips["PULocationID"]))
clean = pd.concat(frames)
per_service = clean.groupby("service_type")["total_amount"].sum()
duck_totals = on_duckdb.groupby("service_type")["revenue"].sum().astype(float)
assert (duck_totals - per_service).abs().max() < 0.05
pd.DataFrame({"pandas": per_service.round(2), "duckdb mart": duck_totals.round(2)})

# %% [markdown]
# ## Production: BigQuery
#
# The `prod` target is BigQuery with Application Default Credentials (`gcloud auth application-default login` once;
# no key file to leak): `eval "$(zoomcamp dbt env --target prod)"` exports the project, dataset and location from the
# course's settings (`gcp_project`, `dbt_dataset`, `gcp_region`), then `dbt build --target prod` with `dbt-bigquery`
# installed reads the raw tables in the `trips_data_all` dataset (week 3). The course runs offline, so here the
# target's configuration is checked the way dbt reads it — rendered with `env_var`, every field BigQuery needs present
# — without connecting:

# %%
gcp = get_settings().replace(backend="gcp", gcp_project="my-gcp-project", gcs_bucket="my-gcp-project-lake")
prod = dbt.check_prod_profile(environ=dbt.env("prod", gcp))
assert prod["type"] == "bigquery" and prod["method"] == "oauth" and prod["dataset"] == "production"
prod

# %%
try:  # without the variables, dbt would refuse before doing anything, and say which one is missing
    dbt.prod_profile(environ={})
except dbt.DbtError as exc:
    print(exc)

# %% [markdown]
# ## Selectors: named selections for jobs
#
# A production job rarely builds "everything, every time". `selectors.yml` gives selections a name, so a job's command
# stays short and reviewable: `dbt build --target prod --selector nightly`.

# %%
print((dbt.PROJECT_DIR / "selectors.yml").read_text())


# %%
def selected(*args, project_dir=dbt.PROJECT_DIR):
    return sorted(dbt.run("ls", *args, "--resource-type", "model", "--output", "name", target="dev",
                          project_dir=project_dir).result or [])

revenue, nightly = selected("--selector", "revenue"), selected("--selector", "nightly")
assert revenue == ["dim_zones", "dm_monthly_zone_revenue", "fact_trips", "int_trips_unioned", "stg_green_tripdata",
                   "stg_yellow_tripdata"]
assert "stg_fhv_tripdata" not in nightly and len(nightly) == 6
print("revenue:", revenue)
print("nightly:", nightly)

# %% [markdown]
# ## CI: build only what changed — `state:modified+`
#
# On a pull request, CI should build and test what the change touches, not the whole warehouse. dbt compares the
# project with the **manifest of the last production run** (`--state`): `state:modified` selects the nodes whose code
# or config differ, `+` adds everything downstream. With `--defer`, unchanged parents are read from production instead
# of being rebuilt. A CI job is then `dbt build --select state:modified+ --defer --state prod-artifacts/`.
#
# Here it is for real: keep this build's manifest as "production", change one model in a copy of the project, and ask
# dbt what CI would build.

# %%
work = Path(tempfile.mkdtemp())
production_state = work / "prod-artifacts"
production_state.mkdir()
shutil.copy(dbt.PROJECT_DIR / "target" / "manifest.json", production_state)  # the manifest of the last build

for name in ("taxi_rides_ny", "taxi_utils"):  # a branch: a copy of the project with one model changed
    shutil.copytree(dbt.PROJECT_DIR.parent / name, work / name, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
branch = work / "taxi_rides_ny"
model = branch / "models" / "core" / "dm_monthly_zone_revenue.sql"
model.write_text(model.read_text().replace("avg(trip_distance) as avg_monthly_trip_distance",
                                           "avg(trip_distance) as avg_monthly_trip_distance,\n"
                                           "    avg(trip_duration_minutes) as avg_monthly_trip_duration"))

ci = sorted(dbt.run("ls", "--select", "state:modified+", "--state", str(production_state), "--output", "name",
                    target="dev", project_dir=branch).result)
assert "dm_monthly_zone_revenue" in ci and "assert_monthly_revenue_reconciles" in ci
assert "fact_trips" not in ci and "stg_green_tripdata" not in ci
assert selected("--selector", "ci", "--state", str(production_state), project_dir=branch) == ["dm_monthly_zone_revenue"]
ci

# %% [markdown]
# Only the changed model and its tests (and the singular test that reads it): the fact table and staging are not
# rebuilt. The selector `ci` in `selectors.yml` is the same selection by name.
#
# ## Scheduling: dbt in production with Airflow
#
# Production runs on a schedule. The order matters: `dbt source freshness` first (stale raw data should stop the
# run, not produce a dashboard that silently shows last month), then `dbt build --selector nightly`, then
# `dbt docs generate` for the docs site. Someone must hear about a failure, and the docs must be somewhere people
# can read them. Each run also leaves `target/manifest.json` and `run_results.json`: keep them, they are the
# `--state` of the next CI run.
#
# The course's scheduler is Airflow (week 2). The DAG `dbt_production`
# ([airflow/dags/dbt_production.py](airflow/dags/dbt_production.py)) is those commands as four tasks, each a few lines
# calling `zoomcamp.dbt`, with an `on_failure_callback` on every task
# ([`orchestration.alert_on_failure`](../shared/zoomcamp/orchestration.py)):

# %%
from zoomcamp import orchestration

print((dbt.PROJECT_DIR.parent / "airflow" / "dags" / "dbt_production.py").read_text().split("@dag(")[1].split("dbt_production()")[0])

# %% [markdown]
# Two runs, tested the way week 2 tests DAGs (`dag.test()`, every task in one process), one Airflow start for both:
#
# - a **catch-up** run for 2 January 2021: its data is old by definition, so the freshness check is skipped; dbt
#   builds, the docs are generated and published;
# - **tonight's** run: our raw data is from January 2021, far past `error_after`, so the freshness check fails,
#   nothing is built on stale data, and the failure callback raises an alert.

# %%
import datetime

alerts_before = len(orchestration.alerts())
dbt.docs_site().unlink(missing_ok=True)
tonight = datetime.date.today().isoformat()
try:
    orchestration.run_dag("dbt_production", ["2021-01-02", tonight])
    raise AssertionError("tonight's run should have stopped on stale data")
except orchestration.DagRunFailed as failure:
    print(str(failure).split("; full log")[0])
    assert f"{tonight}: build, docs_generate, publish_docs, source_freshness" in str(failure)  # 2021-01-02 passed
new_alerts = orchestration.alerts()[alerts_before:]
assert [(a["task_id"], a["error"]) for a in new_alerts] == [
    ("source_freshness", "stale sources: green_tripdata, yellow_tripdata")]
new_alerts

# %% [markdown]
# The catch-up run built the project and published the catalog; tonight's built nothing (its `build` task is
# `upstream_failed`) and left one alert: the task, the run's date and why. A team points the callback at Slack,
# e-mail or PagerDuty instead of a file: it gets the same `context`.
#
# ## The docs as the data catalog
#
# `dbt docs generate --static` writes one self-contained page, `target/static_index.html`, with the manifest (models,
# descriptions, columns, tests, lineage) and the catalog (the tables' real columns and types, read from the
# warehouse) inside it. The DAG's last task publishes it to `<home>/dbt/docs/index.html`. Serving it is serving a
# file: open it in a browser, or put it where a web server, a GCS bucket with website hosting, or GitHub Pages serves
# it to everyone. (`dbt docs serve --port 8081` in the project folder serves `target/` on your own machine while you
# work: fine for one person, not a catalog for a team.)

# %%
site = dbt.docs_site()
page = site.read_text()
assert "model.taxi_rides_ny.fact_trips" in page and "model.taxi_rides_ny.dm_monthly_zone_revenue" in page
assert '"catalog"' in page  # the warehouse's columns are in the page: no separate catalog.json to fetch
print(f"<home>/{site.relative_to(get_settings().home)}: {site.stat().st_size / 1e6:.1f} MB, one file")

# %% [markdown]
# ### What dbt Cloud does instead
#
# | | dbt Cloud | this DAG on Airflow |
# | --- | --- | --- |
# | scheduler | jobs with a cron schedule or a trigger (after another job, on a pull request, by API) | the DAG's `schedule`; anything Airflow can wait for (a load DAG finishing, a file landing) |
# | source freshness | a tick box in the job: run it first | the `source_freshness` task, with the catch-up rule in code |
# | failure alerts | e-mail / Slack notifications per job | `on_failure_callback`: any code you like |
# | docs / catalog | hosted docs (dbt Explorer): lineage, columns, run history, behind the account's log-in | the static page, hosted where you choose, with your own access control |
# | CI on pull requests | built in (`state:modified+` with deferral to production) | your CI running `dbt build --select state:modified+ --defer --state ...` (above) |
# | what it costs | a seat or usage price; nothing to operate | Airflow to run and upgrade (or a managed one: Cloud Composer, MWAA, Astronomer) |
#
# dbt Cloud only runs dbt. Airflow is worth it when dbt is one step of a larger pipeline — load the lake, then build,
# then refresh a dashboard or train a model — as in week 7's `project_pipeline`.
#
# ## Exercise 6
#
# From the **DuckDB** target's `dm_monthly_zone_revenue`: what was the total revenue (`revenue_monthly_total_amount`) of
# yellow taxi trips picked up in January 2021? Answer with a number.

# %%
my_answer = None

# %%
yellow_january = clean[(clean["service_type"] == "Yellow")
                       & clean["tpep_pickup_datetime"].between("2021-01-01", "2021-02-01", inclusive="left")]
check(my_answer, round(float(yellow_january["total_amount"].sum()), 2))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = float(dbt.query("""
    SELECT sum(revenue_monthly_total_amount) AS revenue FROM dbt_dev.dm_monthly_zone_revenue
    WHERE service_type = 'Yellow' AND revenue_month = DATE '2021-01-01'
""", "duckdb")["revenue"][0])
assert check(solution, round(float(yellow_january["total_amount"].sum()), 2))
solution

# %% [markdown]
# ## Summary
#
# - One project, several targets: `dev` and `duckdb` locally, `prod` on BigQuery; `--target` chooses, `profiles.yml`
#   reads the connection from the environment.
# - The same models gave the same mart on PostgreSQL and DuckDB, equal to pandas.
# - Selectors name the selections jobs run; `state:modified+` with `--state` (and `--defer`) builds only what a change
#   touches — the CI pattern.
# - In production a scheduler runs freshness, build and docs: the `dbt_production` DAG stopped on stale data with an
#   alert, and published the docs as one static page, the data catalog.
#
# **Next:** [Week 5 · Batch processing](../week_5_batch/README.md)

# %%
from zoomcamp import course

course.record("week_4_analytics_engineering/06_deployment.ipynb")  # this notebook ran to the end
