"""Week 7's reference project end to end on the sample: lake -> warehouse -> dbt -> dashboard data, the dashboard's
numbers against pandas (through the library, Streamlit's AppTest and a real headless browser), month replacement,
the DAG, the GCP configuration, and the rubric self-check on the template, a broken project and the reference."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from zoomcamp import datasets, orchestration, project, rubric
from zoomcamp.datasets.schemas import DROPOFF_COLUMN, PICKUP_COLUMN
from zoomcamp.errors import CourseError
from zoomcamp.lake import Lake
from zoomcamp.project import engines, loading
from zoomcamp.project.config import MODELS_SCHEMA
from zoomcamp.stack import free_port
from zoomcamp.warehouse import Warehouse, to_frame

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
WEEK = ROOT / "week_7_project"
ZOOMCAMP = str(Path(sys.executable).parent / "zoomcamp")
MONTHS = ["2021-01", "2021-02"]
SERVICES = ["Green", "Yellow"]


def expected_trips(settings, months=MONTHS) -> pd.DataFrame:
    """What the dashboard should count, from the files in pandas: dbt's staging rules (one trip per vendor and pickup
    time, earliest dropoff first; no vendor, no trip), trips from and to known zones only, pickups in the months."""
    zones = datasets.read_csv(datasets.zones_file(settings=settings))
    known = zones.loc[zones["Borough"] != "Unknown", "LocationID"]
    frames = []
    for kind, service in project.SERVICES.items():
        trips = pd.concat([datasets.read_csv(datasets.trip_file(kind, m, settings=settings)) for m in months],
                          ignore_index=True)
        pickup, dropoff = PICKUP_COLUMN[kind], DROPOFF_COLUMN[kind]
        trips = (trips[trips["VendorID"].notna()]
                 .sort_values(["VendorID", pickup, dropoff, "total_amount", "trip_distance"])
                 .drop_duplicates(["VendorID", pickup], keep="first"))
        trips = trips[trips["PULocationID"].isin(known) & trips["DOLocationID"].isin(known)]
        frames.append(pd.DataFrame({"service_type": service, "pickup": trips[pickup],
                                    "location": trips["PULocationID"], "total_amount": trips["total_amount"]}))
    clean = pd.concat(frames, ignore_index=True)
    clean["month"] = clean["pickup"].dt.strftime("%Y-%m")
    clean = clean[clean["month"].isin(months)]
    return clean.merge(zones.rename(columns={"LocationID": "location"}), on="location")


def select(trips: pd.DataFrame, months, services) -> pd.DataFrame:
    return trips[trips["month"].isin(months) & trips["service_type"].isin(services)]


def fingerprint(settings, kind: str, month: int) -> tuple:
    """Rows and a hash over them for one month of one raw table (the same rows give the same pair)."""
    pickup = PICKUP_COLUMN[kind].lower()
    with duckdb.connect(str(project.warehouse_path(settings)), read_only=True) as con:
        return con.execute(f"SELECT count(*), sum(hash(vendorid, {pickup}, pulocationid, total_amount)) "
                           f"FROM trips_data_all.{kind}_tripdata WHERE month = ?", [month]).fetchone()


@pytest.fixture(scope="module")
def built(settings):
    report = project.run(MONTHS, settings=settings)
    print(report)
    return report


@pytest.fixture(scope="module")
def trips(settings):
    return expected_trips(settings)


# --- the pipeline ---------------------------------------------------------------------------------------------------

def test_run_builds_lake_warehouse_models_and_dashboard_tables(built, settings):
    assert [s.name for s in built.steps] == ["lake", "warehouse", "dbt", "dashboard"]
    lake = Lake(settings)
    assert [s.state for s in lake.check(list(project.KINDS), MONTHS)] == ["present"] * 4
    loaded = built.step("warehouse").result
    assert {(x.kind, x.month): x.rows for x in loaded} == {
        (kind, month): lake.manifest(kind, month)["rows"] for kind in project.KINDS for month in MONTHS}
    # The warehouse: BigQuery's tables (the emulator), partitioned by pickup day, clustered by pickup zone.
    wh = Warehouse(settings)
    for kind in project.KINDS:
        table = wh.client.get_table(wh.table_id(f"{kind}_tripdata"))
        assert (table.time_partitioning.type_, table.time_partitioning.field) == ("DAY", PICKUP_COLUMN[kind])
        assert table.clustering_fields == ["PULocationID"]
        counts = to_frame(wh.execute(f"SELECT year, month, count(*) AS n FROM `{table.full_table_id.replace(':', '.')}`"
                                     " GROUP BY year, month ORDER BY year, month"))
        assert counts["n"].tolist() == [lake.manifest(kind, m)["rows"] for m in MONTHS]
        assert fingerprint(settings, kind, 1)[0] == counts["n"][0]  # dbt's DuckDB copy holds the same rows
    dbt_run = built.step("dbt").result
    assert dbt_run.success and dbt_run.status("fact_trips") == "success"
    assert dbt_run.status("assert_monthly_revenue_reconciles") == "pass"
    assert project.warehouse_months(settings) == MONTHS
    assert built.step("dashboard").result["daily_trips"] > 0


def test_dashboard_numbers_equal_an_independent_computation(built, trips, settings):
    data = project.DashboardData(settings)
    assert data.months() == MONTHS
    for months, services in [(MONTHS, SERVICES), (["2021-02"], ["Green"]), (["2021-01"], ["Yellow"])]:
        expected = select(trips, months, services)
        totals = data.totals(months, services)
        assert totals["trips"] == len(expected)
        assert totals["revenue"] == pytest.approx(expected["total_amount"].sum(), abs=0.01)

        daily = data.daily(months, services).set_index(["pickup_date", "service_type"])
        per_day = expected.groupby([expected["pickup"].dt.normalize(), "service_type"])["total_amount"]
        assert daily["trips"].to_dict() == per_day.size().to_dict()
        assert (daily["revenue"] - per_day.sum().round(2)).abs().max() < 0.011

        for by, column in (("borough", "Borough"), ("zone", "Zone")):
            share = data.revenue_share(months, services, by).set_index(by)
            revenue = expected.groupby(column)["total_amount"].sum()
            assert set(share.index) == set(revenue.index)
            assert (share["revenue"] - revenue.round(2)).abs().max() < 0.011
            assert (share["share"] - revenue / revenue.sum()).abs().max() < 1e-4
    assert data.totals([], SERVICES) == {"trips": 0, "revenue": 0.0, "per_trip": 0.0}


def test_rerunning_a_month_replaces_that_month_only(built, settings):
    data = project.DashboardData(settings)
    before = data.totals(MONTHS, SERVICES)
    january = fingerprint(settings, "green", 1)
    february = fingerprint(settings, "green", 2)
    with duckdb.connect(str(project.warehouse_path(settings))) as con:  # damage February: half its rows gone
        con.execute("DELETE FROM trips_data_all.green_tripdata WHERE month = 2 AND vendorid = 2")
    assert fingerprint(settings, "green", 2)[0] < february[0]
    again = project.run(["2021-02"], settings=settings)
    assert [x.rows for x in again.step("warehouse").result] == [february[0], fingerprint(settings, "yellow", 2)[0]]
    assert fingerprint(settings, "green", 2) == february and fingerprint(settings, "green", 1) == january
    assert data.totals(MONTHS, SERVICES) == before
    assert Lake(settings).leftovers() == []


def test_the_warehouse_table_is_recreated_when_it_is_not_the_partitioned_one(built, settings):
    wh = Warehouse(settings)
    table = wh.table_id("green_tripdata")
    wh.execute(f"CREATE OR REPLACE TABLE `{table}` AS SELECT 1 AS x")  # what another notebook might leave
    project.load_warehouse(["2021-01", "2021-02"], ["green"], settings=settings)
    found = wh.client.get_table(table)
    assert found.time_partitioning.field == "lpep_pickup_datetime" and found.clustering_fields == ["PULocationID"]
    assert found.num_rows == sum(Lake(settings).manifest("green", m)["rows"] for m in MONTHS)


def test_the_dashboard_sql_runs_on_bigquery_too(built, settings, tmp_path):
    """The GCP path's SQL (BigQuery's dialect), on the emulator: dbt's three models published there from DuckDB
    (as dbt's prod target would build them), the dashboard's tables built there, the same answers as locally."""
    from google.cloud import bigquery

    engine = engines.BigQuery(settings)
    wh, lake = engine.wh, Lake(settings)
    dataset = engine.datasets[MODELS_SCHEMA]
    wh.client.create_dataset(bigquery.Dataset(f"{wh.project}.{dataset}"), exists_ok=True)
    types = {"VARCHAR": "STRING", "BIGINT": "INT64", "INTEGER": "INT64", "DOUBLE": "FLOAT64", "DATE": "DATE",
             "TIMESTAMP": "TIMESTAMP", "BOOLEAN": "BOOL"}
    with duckdb.connect(str(project.warehouse_path(settings)), read_only=True) as con:
        for model in ("fact_trips", "dm_monthly_zone_revenue", "dim_zones"):
            columns = [(c, "DOUBLE" if t.startswith("DECIMAL") else t)
                       for c, t, *_ in con.execute(f"DESCRIBE dbt_dev.{model}").fetchall()]
            local = tmp_path / f"{model}.parquet"
            select = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in columns)
            con.execute(f"COPY (SELECT {select} FROM dbt_dev.{model}) TO '{local}' (FORMAT parquet)")
            remote = lake.path("_project_test", f"{model}.parquet")
            lake.fs.put_file(str(local), remote)
            config = bigquery.LoadJobConfig(source_format="PARQUET", write_disposition="WRITE_TRUNCATE",
                                            schema=[bigquery.SchemaField(c, types[t]) for c, t in columns])
            wh.client.load_table_from_uri(lake.protocol + remote, f"{wh.project}.{dataset}.{model}",
                                          job_config=config).result()
    lake.fs.rm(lake.path("_project_test"), recursive=True)
    rows = project.build_dashboard_data(settings=settings, engine=engine)
    assert rows == built.step("dashboard").result
    on_bigquery, local = project.DashboardData(settings, engine=engine), project.DashboardData(settings)
    assert on_bigquery.months() == local.months() == MONTHS
    for months, services in [(MONTHS, SERVICES), (["2021-02"], ["Green"])]:
        assert on_bigquery.totals(months, services) == local.totals(months, services)
        pd.testing.assert_frame_equal(on_bigquery.daily(months, services), local.daily(months, services),
                                      check_dtype=False)
        pd.testing.assert_frame_equal(on_bigquery.revenue_share(months, services, "zone"),
                                      local.revenue_share(months, services, "zone"), check_dtype=False)


def test_the_dag_runs_the_same_steps(built, settings, airflow_home):
    data = project.DashboardData(settings)
    before = data.totals(MONTHS, SERVICES), fingerprint(settings, "yellow", 1)
    runs = orchestration.run_dag("project_pipeline", ["2021-02-01"], airflow_home=airflow_home)
    assert runs[0].tasks == {"lake_green": "success", "lake_yellow": "success", "warehouse": "success",
                             "dbt_build": "success", "dashboard_data": "success"}
    assert (data.totals(MONTHS, SERVICES), fingerprint(settings, "yellow", 1)) == before


def test_bad_input_is_one_clear_line(built, settings):
    with pytest.raises(CourseError, match="2021-13"):
        project.run(["2021-13"], settings=settings)
    with pytest.raises(project.ProjectError, match="green and yellow"):
        project.load_warehouse(["2021-01"], ["fhvhv"], settings=settings)
    data = project.DashboardData(settings)
    with pytest.raises(project.ProjectError, match="not a month"):
        data.totals(["January'; DROP TABLE x; --"], SERVICES)
    with pytest.raises(project.ProjectError, match="unknown service"):
        data.daily(MONTHS, ["Blue"])
    result = subprocess.run([ZOOMCAMP, "project", "run", "--months", "2021-1x"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("error:") and "Traceback" not in result.stderr


def test_a_missing_or_damaged_month_is_named_and_loses_nothing(built, settings, tmp_path):
    empty = settings.replace(lake_url=str(tmp_path / "empty"), home=tmp_path / "home", data_dir=settings.data_path)
    with pytest.raises(project.ProjectError, match="no good copy of green 2021-01"):
        project.load_warehouse(["2021-01"], ["green"], settings=empty)
    with pytest.raises(project.ProjectError, match="zoomcamp project run"):
        project.DashboardData(empty).months()

    # A lake of its own and a BigQuery dataset of its own (the DuckDB copy is the session's: the same rows again).
    lonely = settings.replace(lake_url=str(tmp_path / "lake"), bq_dataset="project_test_lonely")
    project.ingest_lake(["2021-01"], ["green"], settings=lonely)
    assert project.load_warehouse(["2021-01"], ["green"], settings=lonely)[0].rows > 0
    before = fingerprint(lonely, "green", 1)
    lake = Lake(lonely)
    with lake.fs.open(lake.object_path("green", "2021-01"), "wb") as f:  # a month damaged in the lake
        f.write(b"not parquet")
    with pytest.raises(project.ProjectError, match="no good copy of green 2021-01"):
        project.load_warehouse(["2021-01"], ["green"], settings=lonely)
    assert fingerprint(lonely, "green", 1) == before  # the warehouse still has the good month
    wh = Warehouse(lonely)
    assert wh.client.get_table(wh.table_id("green_tripdata")).num_rows == before[0]


# --- the dashboard app ----------------------------------------------------------------------------------------------

def _charts(app) -> list:
    def walk(node):
        for child in getattr(node, "children", {}).values():
            yield child
            yield from walk(child)

    return [e for e in walk(app.main) if getattr(e, "type", "") == "vega_lite_chart"]


def _chart_data(chart) -> pd.DataFrame:
    return pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas()


def test_the_app_shows_the_warehouse_numbers_and_its_filters_work(built, trips):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    app = AppTest.from_file(str(project.APP), default_timeout=60).run()
    assert not app.exception
    assert app.multiselect(key="months").value == MONTHS and app.multiselect(key="services").value == SERVICES
    everything = select(trips, MONTHS, SERVICES)
    assert [m.value for m in app.metric] == [
        f"{len(everything):,}", f"${everything['total_amount'].sum():,.2f}",
        f"${everything['total_amount'].sum() / len(everything):,.2f}"]
    daily, share = _charts(app)
    assert json.loads(daily.proto.spec)["mark"]["type"] == "line"
    shown = _chart_data(daily)
    assert shown["trips"].sum() == len(everything) and set(shown["service_type"]) == set(SERVICES)
    boroughs = _chart_data(share).set_index("borough")["revenue"]
    assert (boroughs - everything.groupby("Borough")["total_amount"].sum().round(2)).abs().max() < 0.011

    app.multiselect(key="months").set_value(["2021-02"]).run()
    app.multiselect(key="services").set_value(["Green"]).run()
    app.radio(key="by").set_value("zone").run()
    some = select(trips, ["2021-02"], ["Green"])
    assert app.metric[0].value == f"{len(some):,}" and app.metric[1].value == f"${some['total_amount'].sum():,.2f}"
    zones = app.dataframe[1].value.set_index("zone")["revenue"]
    assert (zones - some.groupby("Zone")["total_amount"].sum().round(2)).abs().max() < 0.011
    assert len(_chart_data(_charts(app)[1])) == min(15, len(zones))  # the 15 biggest zones in the chart


def test_the_app_without_data_says_what_to_run(tmp_path, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from zoomcamp.settings import reload_settings

    monkeypatch.setenv("ZOOMCAMP_HOME", str(tmp_path))
    reload_settings()
    try:
        st.cache_data.clear()
        app = AppTest.from_file(str(project.APP), default_timeout=60).run()
        assert not app.exception and "zoomcamp project run" in app.error[0].value
        assert not app.metric
    finally:
        monkeypatch.undo()
        reload_settings()
        st.cache_data.clear()


@pytest.fixture
def dashboard_server(built, settings):
    port = free_port()
    log = settings.home / f"dashboard-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([ZOOMCAMP, "project", "dashboard", "--port", str(port)], stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_the_dashboard_in_a_real_browser(browser, dashboard_server, trips, settings):
    artifacts = settings.home / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(dashboard_server)
    page.get_by_text("Trips per day by service type").wait_for(timeout=60_000)
    page.get_by_text("Revenue share by borough").wait_for()
    page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").nth(1).wait_for()
    values = page.locator("[data-testid='stMetricValue']").all_inner_texts()
    everything = select(trips, MONTHS, SERVICES)
    assert values[:2] == [f"{len(everything):,}", f"${everything['total_amount'].sum():,.2f}"]
    page.wait_for_timeout(1000)  # the charts' transitions
    shot = artifacts / "project-dashboard.png"
    page.screenshot(path=shot, full_page=True)
    page.close()
    assert shot.stat().st_size > 30_000


# --- GCP, by configuration ------------------------------------------------------------------------------------------

def test_gcp_is_planned_and_validated_without_connecting(settings, monkeypatch):
    gcp = settings.replace(backend="gcp", gcp_project="my-project", gcs_bucket="my-bucket")
    plan = project.plan(gcp).set_index("step")
    assert plan.loc["lake", "where"].startswith("gs://my-bucket")
    assert "my-project.trips_data_all" in plan.loc["warehouse", "where"]
    assert "partitioned by DAY" in plan.loc["warehouse", "what"] and "PULocationID" in plan.loc["warehouse", "what"]
    assert plan.loc["dbt", "where"].startswith("target prod")
    assert plan.loc["dbt", "what"].endswith("-> my-project.production")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "dbt.adapters.bigquery" else real(name, *a))
    with pytest.raises(project.ProjectError, match="pip install dbt-bigquery"):
        project.check_gcp(gcp)
    with pytest.raises(project.ProjectError, match="dbt-bigquery"):  # before anything is written
        project.run(["2021-01"], settings=gcp)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    # dbt's prod output reads the course's settings: no key file, no variable to export by hand
    output = project.check_gcp(gcp.replace(dbt_dataset="marts"))
    assert (output["project"], output["dataset"], output["method"]) == ("my-project", "marts", "oauth")
    assert "keyfile" not in output


def test_a_prod_profile_that_does_not_read_the_settings_is_named(settings, tmp_path, monkeypatch):
    import importlib.util

    from zoomcamp import dbt

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    profiles = (dbt.PROJECT_DIR / "profiles.yml").read_text()
    (tmp_path / "profiles.yml").write_text(profiles.replace("{{ env_var('DBT_BQ_PROJECT') }}", "someone-else"))
    real = dbt.check_prod_profile
    monkeypatch.setattr(dbt, "check_prod_profile", lambda environ: real(tmp_path, environ))
    gcp = settings.replace(backend="gcp", gcp_project="my-project", gcs_bucket="my-bucket")
    with pytest.raises(project.ProjectError, match="names someone-else.production, not the course's my-project"):
        project.check_gcp(gcp)


def test_terraform_schemas_are_the_course_schemas():
    types = {"int64": "INTEGER", "float64": "FLOAT", "string": "STRING", "timestamp": "TIMESTAMP"}
    for kind in project.KINDS:
        schema = json.loads((WEEK / "terraform" / "schemas" / f"{kind}_tripdata.json").read_text())
        assert [(f["name"], f["type"]) for f in schema] == [
            *[(c.name, types[c.type]) for c in datasets.columns(kind)], ("year", "INTEGER"), ("month", "INTEGER")]


# --- the rubric self-check ------------------------------------------------------------------------------------------

def test_the_template_scores_its_skeleton_and_points_at_what_is_left(tmp_path):
    mine = tmp_path / "mine"
    shutil.copytree(WEEK / "template", mine)
    start = rubric.check(mine)
    points = {c.name: c.points for c in start.criteria}
    assert points == {"Problem description": 0, "Cloud and IaC": 2, "Data ingestion (batch or stream)": 2,
                      "Data warehouse": 0, "Transformations": 2, "Dashboard": 2, "Reproducibility": 2}
    rows = start.table().set_index("name")
    assert "pipeline (4 tasks)" in rows.loc["Data ingestion (batch or stream)", "found"]
    assert "2 models" in rows.loc["Transformations", "found"]
    assert "terraform/main.tf:" in rows.loc["Cloud and IaC", "todo"]
    assert not (mine / "dbt" / "target").exists() and not (mine / "dbt" / "logs").exists()  # nothing written

    # Finished parts earn their points.
    readme = "# Trips\n\n## Problem description\n\n" + "word " * 60 + "\n\n## How to run\n\n```bash\nmake run\n```\n"
    (mine / "README.md").write_text(readme)
    main_tf = mine / "terraform" / "main.tf"
    main_tf.write_text(main_tf.read_text().split("# TODO")[0] + """
resource "google_bigquery_table" "trips" {
  dataset_id = google_bigquery_dataset.raw.dataset_id
  table_id   = "trips"
  time_partitioning {
    type = "DAY"
  }
  clustering = ["zone"]
}
""")
    done = rubric.check(mine)
    assert (done.points("Problem description"), done.points("Reproducibility"), done.points("Cloud and IaC"),
            done.points("Data warehouse")) == (2, 4, 4, 4)


BROKEN = {
    "terraform/main.tf": 'resource "google_storage_bucket" "b" {\n  name = \n',
    "airflow/dags/pipeline.py": "from airflow.sdk import dag\nimport no_such_module\n\n@dag()\ndef pipeline():\n"
                                "    pass\n\npipeline()\n",
    "dbt/dbt_project.yml": "name: broken\nprofile: broken\nversion: '1.0'\n",
    "dbt/models/a.sql": "select * from {{ ref('no_such_model') }}\n",
    "dashboard/app.py": "import streamlit as st\nst.line_chart(\n",
    "README.md": "# Broken\n\nNothing to see.\n",
}


def test_broken_parts_score_zero_and_say_what_to_fix(tmp_path):
    for name, text in BROKEN.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    rows = rubric.check(tmp_path).table().set_index("name")
    assert rows["points"].to_dict() == {"Problem description": 1, "Cloud and IaC": 0,
                                        "Data ingestion (batch or stream)": 0, "Data warehouse": 0,
                                        "Transformations": 0, "Dashboard": 0, "Reproducibility": 0}
    assert "terraform/main.tf" in rows.loc["Cloud and IaC", "todo"]
    assert "no_such_module" in rows.loc["Data ingestion (batch or stream)", "todo"]
    assert "no_such_model" in rows.loc["Transformations", "found"]
    assert "does not compile" in rows.loc["Dashboard", "found"] and "line 2" in rows.loc["Dashboard", "todo"]

    (tmp_path / rubric.MANIFEST).write_text('dbt = ["nowhere"]\n')
    with pytest.raises(rubric.RubricError, match="nowhere"):
        rubric.check(tmp_path)


def test_check_cli_prints_the_score_table(tmp_path):
    # (The reference project's full marks are asserted by week_7_project/03_your_project.ipynb, run by nbval.)
    (tmp_path / "README.md").write_text("# P\n\n## Problem description\n\n" + "word " * 50 +
                                        "\n\n## How to run\n\n```bash\nmake\n```\n")
    (tmp_path / "app.py").write_text("import streamlit as st\nst.line_chart([1])\nst.bar_chart([1])\n")
    result = subprocess.run([ZOOMCAMP, "project", "check", str(tmp_path)], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 3}
    assert "2/2" in lines["Problem description"] and "4/4" in lines["Dashboard"] and "4/4" in lines["Reproducibility"]
    assert "0/4" in lines["Cloud and IaC"] and "total 10/26" in result.stdout
    missing = subprocess.run([ZOOMCAMP, "project", "check", "/no/such/folder"], capture_output=True, text=True)
    assert missing.returncode == 2 and "not a folder" in missing.stderr


def test_reset_removes_the_projects_warehouse(settings, tmp_path):
    from zoomcamp import weeks

    # A project home of its own, built without BigQuery (whose emulator belongs to the session's home).
    scratch = settings.replace(home=tmp_path, data_dir=settings.data_path, lake_url=str(tmp_path / "lake"))
    project.ingest_lake(["2021-01"], settings=scratch)
    loading.load_duckdb([datasets.Month(2021, 1)], list(project.KINDS), Lake(scratch), scratch)
    project.transform(settings=scratch)
    project.build_dashboard_data(settings=scratch)
    assert project.DashboardData(scratch).months() == ["2021-01"]
    assert weeks.get(7).reset(scratch) == [str(tmp_path / "project")]  # (course.reset(7) also starts the stack)
    assert not project.warehouse_path(scratch).exists() and weeks.get(7).reset(scratch) == []


def test_week7_homework_reads_the_dashboard(built, trips, settings, write_answers, tmp_path):
    from zoomcamp import homework

    january = select(trips, ["2021-01"], SERVICES)
    yellow = select(trips, ["2021-01"], ["Yellow"])
    per_day = yellow.groupby(yellow["pickup"].dt.date).size()
    revenue = january.groupby("Borough")["total_amount"].sum()
    expected = homework.expected_answers(7, settings)
    assert expected == {"q1": len(january), "q2": per_day[per_day == per_day.max()].index.min(),
                        "q3": revenue.idxmax()}
    wrong = dict(expected, q3=revenue.idxmin())
    assert [g.correct for g in homework.grade(7, write_answers(wrong), settings)] == [True, True, False]
    not_run = homework.grade(7, write_answers(expected), settings.replace(home=tmp_path / "fresh"))
    assert all("cannot check yet" in g.note and "notebook 02" in g.note for g in not_run)


def test_a_warehouse_held_by_another_process_is_one_clear_line(tmp_path):
    """`zoomcamp project run` while a notebook held the DuckDB file: DuckDB's lock error came as a traceback."""
    from zoomcamp.project import ProjectError, connect_duckdb

    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys; con = duckdb.connect({str(path)!r}); "
                               "print('holding', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(ProjectError, match=rf"the warehouse .* is in use by another program \(PID {holder.pid}\)"):
            connect_duckdb(path)
    finally:
        holder.communicate("")
    connect_duckdb(path).close()  # free again


def test_sigterm_stops_the_dashboard_and_its_streamlit(settings):
    """SIGTERM to `zoomcamp project dashboard` used to leave its Streamlit child serving on the port."""
    port = free_port()
    log = settings.home / f"dashboard-term-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([ZOOMCAMP, "project", "dashboard", "--port", str(port)], stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        process.send_signal(signal.SIGTERM)  # to the command only, as a process manager would
        process.wait(timeout=30)
        children = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert children == [], f"left running: {children}"
    finally:
        if subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True).returncode == 0:
            os.killpg(process.pid, signal.SIGKILL)  # whatever this test's session left
