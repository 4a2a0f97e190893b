"""Week 4's dbt project: the raw tables on both local targets; on DuckDB built from a clean database twice (the
incremental second run adds nothing), checked against pandas; injected data problems fail the right test; docs, deps
offline, prod profile.

The same build on PostgreSQL (``dev``) is asserted by week 4's notebooks, run in the same session: against pandas
(01), materializations and the incremental second run (03), dispatch on both targets (04), injected problems and
the catalog (05), and its mart equal to DuckDB's to the cent (06)."""

from __future__ import annotations

import json
import shutil
import time

import pandas as pd
import pytest

from zoomcamp import datasets, dbt
from zoomcamp.datasets.schemas import DROPOFF_COLUMN, PICKUP_COLUMN

pytestmark = pytest.mark.stack

SERVICES = {"green": "Green", "yellow": "Yellow"}


def clean_union(settings) -> pd.DataFrame:
    """What fact_trips should hold, computed in pandas from the files: one trip per (vendor, pickup) (the earliest
    dropoff kept), trips from or to an Unknown borough dropped, green and yellow stacked."""
    zones = datasets.read_csv(datasets.zones_file(settings=settings))
    known = zones.loc[zones["Borough"] != "Unknown", "LocationID"]
    frames = []
    for kind, service in SERVICES.items():
        trips = datasets.read_csv(datasets.trip_file(kind, "2021-01", settings=settings))
        pickup, dropoff = PICKUP_COLUMN[kind], DROPOFF_COLUMN[kind]
        trips = (trips[trips["VendorID"].notna()]
                 .sort_values(["VendorID", pickup, dropoff, "total_amount", "trip_distance"])
                 .drop_duplicates(["VendorID", pickup], keep="first"))
        trips = trips[trips["PULocationID"].isin(known) & trips["DOLocationID"].isin(known)]
        frames.append(pd.DataFrame({"service_type": service, "pickup_locationid": trips["PULocationID"],
                                    "month": trips[pickup].dt.to_period("M").dt.to_timestamp(),
                                    "total_amount": trips["total_amount"]}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def built(settings, tmp_path_factory):
    """A clean DuckDB database, the raw tables loaded, then `dbt build` twice, then `dbt docs generate`."""
    target = "duckdb"
    target_path = tmp_path_factory.mktemp(f"dbt-{target}")
    dbt.reset(target, settings=settings)
    loaded = dbt.load_raw(target, settings=settings)
    runs = []
    for _ in range(2):
        started = time.perf_counter()
        runs.append(dbt.run("build", target=target, target_path=target_path, settings=settings))
        print(f"dbt build --target {target}: {time.perf_counter() - started:.1f} s wall")
    docs = dbt.run("docs", "generate", target=target, target_path=target_path, settings=settings)
    return {"target": target, "loaded": loaded, "first": runs[0], "second": runs[1], "docs": docs,
            "target_path": target_path}


@pytest.mark.parametrize("target", dbt.LOCAL_TARGETS)
def test_raw_tables_hold_the_files(target, built, settings):
    if target == built["target"]:
        loaded = built["loaded"]
    else:  # a clean database: the tables are created, not refilled
        dbt.reset(target, settings=settings)
        loaded = dbt.load_raw(target, settings=settings)
    for kind in ("green", "yellow", "fhv"):
        rows = len(datasets.read_csv(datasets.trip_file(kind, "2021-01", settings=settings)))
        assert loaded[f"{kind}_tripdata"] == rows
        counted = dbt.query(f"SELECT count(*) AS n FROM trips_data_all.{kind}_tripdata", target, settings)
        assert counted["n"][0] == rows


def test_first_build_passes_and_matches_pandas(built, settings):
    first = built["first"]
    assert first.success, first.table().query("status != 'pass' and status != 'success'")
    statuses = {r["resource_type"]: set() for r in first.results}
    for r in first.results:
        statuses[r["resource_type"]].add(r["status"])
    assert statuses["model"] == {"success"} and statuses["test"] == {"pass"} and statuses["unit_test"] == {"pass"}
    assert statuses["seed"] == {"success"} and statuses["snapshot"] == {"success"}

    expected = clean_union(settings)
    facts = dbt.query("SELECT service_type, count(*) AS trips, sum(total_amount) AS revenue "
                      "FROM dbt_dev.fact_trips GROUP BY 1 ORDER BY 1", built["target"], settings)
    by_service = expected.groupby("service_type")["total_amount"].agg(["size", "sum"])
    assert facts["trips"].tolist() == by_service["size"].tolist()
    assert facts["revenue"].astype(float).round(2).tolist() == pytest.approx(by_service["sum"].round(2).tolist())

    mart = dbt.query("SELECT revenue_locationid, revenue_month, service_type, total_monthly_trips AS trips, "
                     "revenue_monthly_total_amount AS revenue FROM dbt_dev.dm_monthly_zone_revenue",
                     built["target"], settings)
    mart["revenue_month"] = pd.to_datetime(mart["revenue_month"])
    keys = ["pickup_locationid", "month", "service_type"]
    pandas_mart = expected.groupby(keys)["total_amount"].agg(trips="size", revenue="sum").reset_index()
    merged = pandas_mart.merge(mart, left_on=keys, right_on=["revenue_locationid", "revenue_month", "service_type"],
                               how="outer", suffixes=("_pd", "_dbt"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert (merged["trips_pd"] == merged["trips_dbt"]).all()
    assert (merged["revenue_pd"] - merged["revenue_dbt"].astype(float)).abs().max() < 0.01


def test_second_build_adds_nothing_and_stays_correct(built, settings):
    first, second = built["first"], built["second"]
    assert second.success and second.status("fact_trips") == "success"
    rows = dbt.query("SELECT dbt_invocation_id, count(*) AS n FROM dbt_dev.fact_trips GROUP BY 1",
                     built["target"], settings)
    # Every row was inserted by the first build: the incremental second run found nothing newer.
    assert rows["dbt_invocation_id"].tolist() == [first.invocation_id] != [second.invocation_id]
    assert rows["n"][0] == len(clean_union(settings))
    # The snapshot saw no change either: one current version per zone.
    versions = dbt.query("SELECT count(*) AS n, count(dbt_valid_to) AS closed FROM dbt_dev.zones_snapshot",
                         built["target"], settings)
    assert (versions["n"][0], versions["closed"][0]) == (265, 0)


def test_materializations_create_what_they_say(built, settings):
    kinds = dbt.query("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'dbt_dev'",
                      built["target"], settings)
    kinds = dict(zip(kinds["table_name"], kinds["table_type"], strict=True))
    assert kinds["stg_green_tripdata"] == kinds["stg_yellow_tripdata"] == "VIEW"
    assert kinds["fact_trips"] == kinds["dm_monthly_zone_revenue"] == kinds["dim_zones"] == "BASE TABLE"
    assert "int_trips_unioned" not in kinds  # ephemeral: a CTE inside fact_trips, nothing in the database
    assert "__dbt__cte__int_trips_unioned" in dbt.compiled_sql("fact_trips", target_path=built["target_path"])


def test_dispatch_writes_duckdbs_sql(built):
    # (PostgreSQL's, `::date`, is asserted beside DuckDB's by notebook 04.)
    sql = dbt.compiled_sql("dm_monthly_zone_revenue", target_path=built["target_path"])
    assert "cast(date_trunc('month', pickup_datetime) as date)" in sql


def test_docs_generate_writes_the_catalog(built):
    assert built["docs"].success
    catalog = dbt.catalog(target_path=built["target_path"])
    nodes = {node["metadata"]["name"]: node for node in catalog["nodes"].values()}
    assert {"fact_trips", "dm_monthly_zone_revenue", "stg_green_tripdata", "taxi_zone_lookup"} <= set(nodes)
    assert nodes["stg_green_tripdata"]["metadata"]["type"].upper() == "VIEW"
    assert {"tripid", "service_type", "dbt_invocation_id"} <= {c.lower() for c in nodes["fact_trips"]["columns"]}
    sources = {node["metadata"]["name"] for node in catalog["sources"].values()}
    assert sources == {"green_tripdata", "yellow_tripdata", "fhv_tripdata"}
    manifest = dbt.manifest(target_path=built["target_path"])
    assert manifest["docs"]["doc.taxi_rides_ny.fact_trips"]["block_contents"].startswith("All green and yellow")


def test_lineage_graph(built):
    import matplotlib

    matplotlib.use("Agg")
    manifest = dbt.manifest(target_path=built["target_path"])
    graph = dbt.lineage(manifest)
    names = {graph.nodes[n]["label"]: n for n in graph}
    path = ["trips_data_all.green_tripdata", "stg_green_tripdata", "int_trips_unioned", "fact_trips",
            "dm_monthly_zone_revenue"]
    for upstream, downstream in zip(path, path[1:], strict=False):
        assert graph.has_edge(names[upstream], names[downstream])
    assert graph.nodes[names["fact_trips"]]["kind"] == "incremental"
    assert graph.nodes[names["int_trips_unioned"]]["kind"] == "ephemeral"
    ax = dbt.draw_lineage(manifest)
    assert {t.get_text() for t in ax.texts if t.get_text()} == set(names)  # (arrows are empty annotations)


# --- data problems ---------------------------------------------------------------------------------------------------

INJECTIONS = {
    # A row loaded twice: the staging dedup would hide it, so the raw table's own test must catch it.
    "duplicate trip": ("INSERT INTO trips_data_all.green_tripdata SELECT * FROM trips_data_all.green_tripdata "
                       "WHERE vendorid = 2 LIMIT 1",
                       "taxi_utils_source_no_duplicate_rows_trips_data_all_green_tripdata_", "stg_green_tripdata"),
    "unknown payment type": ("UPDATE trips_data_all.yellow_tripdata SET payment_type = 7 WHERE payment_type = 3",
                             "accepted_values_stg_yellow_tripdata_payment_type__False__1__2__3__4__5__6",
                             "fact_trips"),
}


def parse_info(folder, settings, **vars) -> dict:
    """dbt's own report of a `dbt parse` on DuckDB into ``folder``: path_count files, parsed_path_count re-read."""
    assert dbt.run("parse", target="duckdb", target_path=folder, vars=vars or None, settings=settings).success
    return json.loads((folder / "perf_info.json").read_text())


def test_a_fresh_target_folder_starts_from_the_last_parse(built, settings, tmp_path):
    """The home keeps dbt's parse state per project and target (here the build's): a new artifacts folder re-reads
    no file."""
    info = parse_info(tmp_path / "again", settings)
    assert info["path_count"] > 100 and info["parsed_path_count"] == 0


@pytest.mark.parametrize("problem", INJECTIONS)
def test_an_injected_problem_fails_the_right_test(problem, scratch_settings, tmp_path):
    import duckdb

    statement, failing_test, skipped = INJECTIONS[problem]
    dbt.load_raw("duckdb", settings=scratch_settings)
    with duckdb.connect(str(dbt.duckdb_path(scratch_settings))) as con:
        con.execute(statement)
    result = dbt.run("build", target="duckdb", target_path=tmp_path / "target", settings=scratch_settings)
    assert not result.success
    assert result.failed() == [failing_test]
    assert result.status(skipped) == "skipped"  # dbt build stops what depends on a failed test


def test_is_test_run_limits_staging(scratch_settings, tmp_path):
    dbt.load_raw("duckdb", kinds=["green"], settings=scratch_settings)
    result = dbt.run("run", "--select", "stg_green_tripdata", target="duckdb", vars={"is_test_run": True},
                     target_path=tmp_path / "target", settings=scratch_settings)
    assert result.success
    rows = dbt.query("SELECT count(*) AS n FROM dbt_dev.stg_green_tripdata", "duckdb", scratch_settings)
    assert rows["n"][0] == 100
    # The parse state is kept per vars too: a new folder with the same vars re-reads nothing.
    assert parse_info(tmp_path / "again", scratch_settings, is_test_run=True)["parsed_path_count"] == 0


def test_the_duckdb_target_works_on_a_fresh_home(scratch_settings, tmp_path):
    """Notebook 04 compiles on DuckDB before anything was loaded there: the database's folder must be made."""
    assert not dbt.duckdb_path(scratch_settings).parent.exists()
    result = dbt.run("compile", "--select", "stg_green_tripdata", target="duckdb", target_path=tmp_path / "target",
                     settings=scratch_settings)
    assert result.success and dbt.duckdb_path(scratch_settings).is_file()


# --- packages, prod, errors ------------------------------------------------------------------------------------------

def test_deps_installs_the_local_package_offline(tmp_path, monkeypatch):
    week = dbt.PROJECT_DIR.parent
    for name in ("taxi_rides_ny", "taxi_utils"):
        shutil.copytree(week / name, tmp_path / name, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")  # any download attempt would fail
    project = tmp_path / "taxi_rides_ny"
    assert not (project / "dbt_packages").exists()
    result = dbt.run("deps", project_dir=project)
    assert result.success
    assert (project / "dbt_packages" / "taxi_utils" / "macros" / "truncate_date.sql").is_file()


def test_prod_profile_is_a_valid_bigquery_output_from_the_settings(settings):
    output = dbt.check_prod_profile(environ={"DBT_BQ_PROJECT": "my-project"})
    assert output["type"] == "bigquery" and output["project"] == "my-project"
    assert output["dataset"] == "production" and output["method"] == "oauth" and "keyfile" not in output
    gcp = settings.replace(backend="gcp", gcp_project="p1", gcs_bucket="b", dbt_dataset="marts", gcp_region="US")
    output = dbt.check_prod_profile(environ=dbt.env("prod", gcp))  # what `zoomcamp dbt env --target prod` exports
    assert (output["project"], output["dataset"], output["location"]) == ("p1", "marts", "US")
    with pytest.raises(dbt.DbtError, match="DBT_BQ_PROJECT"):
        dbt.prod_profile(environ={})


def test_bad_input_is_a_clear_error(settings):
    with pytest.raises(dbt.DbtError, match="unknown target"):
        dbt.run("build", target="production")
    with pytest.raises(dbt.DbtError, match="not 'fhvhv'"):
        dbt.load_raw("duckdb", kinds=["fhvhv"], settings=settings)
    with pytest.raises(dbt.DbtError, match="could not run"):
        dbt.run("run", "--select", "stg_green_tripdata", "--vars", "{not yaml", target="duckdb", settings=settings)


def test_cli_prints_the_profile_variables_and_refuses_a_bad_target(settings):
    import subprocess
    import sys
    from pathlib import Path

    from typer.testing import CliRunner

    from zoomcamp.cli import app

    printed = CliRunner().invoke(app, ["dbt", "env", "--target", "duckdb"])
    assert printed.exit_code == 0
    assert f"export DBT_DUCKDB_PATH={dbt.duckdb_path(settings)}" in printed.output.splitlines()
    # DBT_SCHEMA is the raw tables' schema, as DataTalksClub's projects read it; the models' is DBT_TARGET_SCHEMA.
    assert {"export DBT_SCHEMA=trips_data_all", "export DBT_DATABASE=taxi_rides_ny",
            "export DBT_TARGET_SCHEMA=dbt_dev", "export DBT_TARGET=duckdb", "export DBT_PROFILE=taxi_rides_ny",
            f"export DBT_PROFILES_DIR={dbt.PROJECT_DIR}"} <= set(printed.output.splitlines())
    zoomcamp = Path(sys.executable).parent / "zoomcamp"
    refused = subprocess.run([zoomcamp, "dbt", "load-raw", "--target", "bigquery"], capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stderr.strip() == "error: unknown target 'bigquery'; choose one of: dev, duckdb"


DEZ_SOURCES = """version: 2
sources:
  - name: staging
    database: "{{ env_var('DBT_DATABASE', 'my-gcp-project') }}"
    schema: "{{ env_var('DBT_SCHEMA', 'trips_data_all') }}"
    tables:
      - name: green_tripdata
      - name: yellow_tripdata
"""


def dez_project(folder):
    """A project shaped as DataTalksClub's (2024-2025): profile 'default', sources read DBT_DATABASE/DBT_SCHEMA."""
    (folder / "models" / "staging").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text("name: taxi_rides_ny\nversion: '1.0.0'\nconfig-version: 2\n"
                                            "profile: default\n")
    (folder / "models" / "staging" / "schema.yml").write_text(DEZ_SOURCES)
    (folder / "models" / "staging" / "stg_yellow_tripdata.sql").write_text(
        "select vendorid, tpep_pickup_datetime, total_amount\n"
        "from {{ source('staging', 'yellow_tripdata') }}\nwhere vendorid is not null\n")
    return folder


def check_dez_build(target, settings):
    yellow = datasets.read_csv(datasets.trip_file("yellow", "2021-01", settings=settings))
    got = dbt.query("SELECT count(*) AS n, sum(total_amount) AS total FROM dez_dev.stg_yellow_tripdata",
                    target, settings=settings)
    assert got["n"].item() == yellow["VendorID"].notna().sum()
    assert got["total"].item() == pytest.approx(yellow.loc[yellow["VendorID"].notna(), "total_amount"].sum())
    with dbt._environ({"DBT_TARGET_SCHEMA": "dez_dev"}):
        dbt.reset(target, raw=False, settings=settings)


def test_a_dez_project_builds_on_duckdb_with_the_same_variables(settings, tmp_path):
    """A DEZ-shaped project (profile `default`, sources reading DBT_DATABASE/DBT_SCHEMA) built by a plain `dbt build`
    with the variables `zoomcamp dbt env --target duckdb` exports: DBT_DATABASE is the file's database, taxi_rides_ny.
    In this process (dbt's start-up is the slow part); tests/dez/test_dez.py runs DEZ.md's commands, the shell's `eval`
    and `dbt build` included, on the dev target. On main: 'relation "dbt_dev.yellow_tripdata" does not exist'
    (DBT_SCHEMA was the models' schema), and no profile 'default'."""
    from dbt.cli.main import dbtRunner

    dbt.load_raw("duckdb", ["2021-01"], kinds=["yellow"], settings=settings)
    project = dez_project(tmp_path / "dez")
    variables = {**dbt.env("duckdb", settings), "DBT_TARGET_SCHEMA": "dez_dev",
                 "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt._release_duckdb()
    with dbt._environ(variables):  # `dbt build`: profile, its folder and the target come from the variables
        outcome = dbtRunner().invoke(["--log-level", "none", "build", "--project-dir", str(project)])
    dbt._release_duckdb()
    assert outcome.success, outcome.exception
    check_dez_build("duckdb", settings)


def test_publishing_the_docs_needs_the_static_page_and_replaces_the_catalog_whole(tmp_path, settings):
    """The dbt_production DAG's last task: no page yet is a one-line error; a page is published whole, in place."""
    settings = settings.replace(home=tmp_path / "home")
    with pytest.raises(dbt.DbtError, match=r"dbt docs generate --static first"):
        dbt.publish_docs(tmp_path, settings)
    (tmp_path / "target").mkdir()
    for version in ("<html>v1</html>", "<html>v2</html>"):
        (tmp_path / "target" / "static_index.html").write_text(version)
        site = dbt.publish_docs(tmp_path, settings)
    assert site == tmp_path / "home" / "dbt" / "docs" / "index.html" and site.read_text() == "<html>v2</html>"
    assert [p.name for p in site.parent.iterdir()] == ["index.html"]  # no half-written copy left beside it


def test_reset_week_4_drops_the_models_raw_tables_and_dbt_files(settings):
    """Last in this file: both local targets lose the models' and raw schemas, the project its target/ and logs/, the
    home the published docs and the DAG's alerts."""
    import duckdb

    from zoomcamp import course, db, orchestration

    dbt.duckdb_path(settings).parent.mkdir(parents=True, exist_ok=True)  # also when run on its own (-k)
    for schema in (dbt.SCHEMA, dbt.RAW_SCHEMA):
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"', settings=settings)
        db.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".left_over (i int)', settings=settings)
        with duckdb.connect(str(dbt.duckdb_path(settings))) as con:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".left_over (i int)')
    (dbt.PROJECT_DIR / "target").mkdir(exist_ok=True)
    published = [dbt.docs_site(settings), orchestration.alerts_file(settings)]  # the dbt_production DAG's
    for path in published:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("left over")
    course.reset(4, settings=settings)
    assert not any(path.exists() for path in published)
    schemas = set(db.query("SELECT nspname FROM pg_namespace", settings=settings)["nspname"])
    with duckdb.connect(str(dbt.duckdb_path(settings)), read_only=True) as con:
        duck_schemas = {row[0] for row in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
    assert not {dbt.SCHEMA, dbt.RAW_SCHEMA} & (schemas | duck_schemas)
    assert not (dbt.PROJECT_DIR / "target").exists() and not (dbt.PROJECT_DIR / "logs").exists()
