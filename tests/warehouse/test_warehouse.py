"""Week 3's warehouse: the external-table stand-in, the backend switch, the SQL files the notebooks run, the row counts
against the lake, and the local measurement of what a layout saves."""

from __future__ import annotations

import ast
import json
import re
import time
from pathlib import Path

import nbformat
import pandas as pd
import pyarrow as pa
import pytest
from google.api_core.exceptions import NotFound

from zoomcamp import warehouse
from zoomcamp.lake import Lake
from zoomcamp.stack.bigquery import BigQuery
from zoomcamp.warehouse import Warehouse, WarehouseError

ROOT = Path(__file__).resolve().parents[2]
WEEK = ROOT / "week_3_warehouse"
NOTEBOOKS = sorted(WEEK.glob("[0-9][0-9]_*.ipynb"))
MONTHS = ["2021-01", "2021-02", "2021-03"]

EXTERNAL = """-- the lake's yellow months
CREATE OR REPLACE EXTERNAL TABLE `p.d.external_yellow`
WITH PARTITION COLUMNS (year INT64, month INT64)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://zoomcamp-lake/yellow/*'],
  hive_partition_uri_prefix = 'gs://zoomcamp-lake/yellow'
)"""


# --- the external-table mapping ------------------------------------------------------------------------------------
def test_an_external_table_statement_is_read_whole():
    table = warehouse.parse_external_table(EXTERNAL)
    assert table.name == "p.d.external_yellow" and table.replace
    assert table.uris == ["gs://zoomcamp-lake/yellow/*"] and table.format == "PARQUET"
    assert table.partition_columns == [("year", "INT64"), ("month", "INT64")]
    plain = warehouse.parse_external_table("CREATE EXTERNAL TABLE d.t OPTIONS (format = \"PARQUET\", "
                                           "uris = [\"gs://b/a.parquet\", 'gs://b/c.parquet'])")
    assert (plain.name, plain.uris, plain.partition_columns, plain.replace) == (
        "d.t", ["gs://b/a.parquet", "gs://b/c.parquet"], None, False)
    assert warehouse.parse_external_table("CREATE OR REPLACE TABLE d.t AS SELECT 1") is None
    assert warehouse.parse_external_table("SELECT 'CREATE EXTERNAL TABLE'") is None
    with pytest.raises(WarehouseError, match="uris"):
        warehouse.parse_external_table("CREATE EXTERNAL TABLE d.t OPTIONS (format = 'PARQUET')")


def test_gs_uris_map_to_the_gcs_emulators_folder_and_star_to_a_recursive_glob(tmp_path):
    root = tmp_path / "gcs"
    assert warehouse.local_glob("gs://lake/yellow/*", root) == f"{root}/lake/yellow/**/*.parquet"
    assert warehouse.local_glob("gs://lake/yellow/*.parquet", root) == f"{root}/lake/yellow/**/*.parquet"
    assert warehouse.local_glob("gs://lake/yellow/year=2021/month=01/f.parquet", root) == \
        f"{root}/lake/yellow/year=2021/month=01/f.parquet"
    assert warehouse.local_glob("file:///data/lake/green/*", root) == "/data/lake/green/**/*.parquet"
    assert warehouse.local_glob("/data/lake/green/x.parquet", root) == "/data/lake/green/x.parquet"
    for bad, message in [("gs://lake/../etc/passwd", "not a gs://bucket/path"), ("gs://", "not a gs://bucket"),
                         ("gs://lake/*/x/*", "one \\* wildcard"), ("s3://lake/yellow/*", "gs:// URIs"),
                         ("gs://lake/it's/*", "quotes")]:
        with pytest.raises(WarehouseError, match=message):
            warehouse.local_glob(bad, root)


def test_a_star_inside_an_object_name_keeps_bigquerys_meaning(tmp_path):
    """DEZ's homework URI gs://BUCKET/yellow_tripdata_2024-*.parquet: the * is inside a name, and may go on into
    folders; DuckDB's * stops at /, so two globs, of which those that match a file are kept."""
    root = tmp_path / "gcs"
    for name in ("b/yellow_tripdata_2024-01.parquet", "b/yellow_tripdata_2024-x/y/z.parquet"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    uri = "gs://b/yellow_tripdata_2024-*.parquet"
    assert warehouse.local_globs(uri, root) == [f"{root}/b/yellow_tripdata_2024-*.parquet",
                                                f"{root}/b/yellow_tripdata_2024-*/**/*.parquet"]
    assert warehouse.local_globs("gs://b/yellow_tripdata_2023-*.parquet", root) == [
        f"{root}/b/yellow_tripdata_2023-*.parquet"]  # nothing matches: DuckDB's "No files found" names this one
    (root / "b/yellow_tripdata_2024-x/y/z.parquet").unlink()
    assert warehouse.local_globs(uri, root) == [f"{root}/b/yellow_tripdata_2024-*.parquet"]
    assert warehouse.local_glob(uri, root) == f"{root}/b/yellow_tripdata_2024-*.parquet"


def test_the_stand_in_is_a_view_over_the_mapped_files_with_typed_partition_columns(tmp_path):
    view = warehouse.external_table_as_view(EXTERNAL, tmp_path)
    assert view.startswith("CREATE OR REPLACE VIEW `p.d.external_yellow` AS")
    assert "SELECT * EXCEPT (year, month), CAST(year AS INT64) AS year, CAST(month AS INT64) AS month" in view
    assert f"read_parquet(['{tmp_path}/zoomcamp-lake/yellow/**/*.parquet'], hive_partitioning = true)" in view
    flat = warehouse.external_table_as_view(
        "CREATE EXTERNAL TABLE d.t OPTIONS (format='PARQUET', uris=['gs://b/x.parquet'])", tmp_path)
    assert flat.startswith("CREATE VIEW `d.t`") and "SELECT *\n" in flat and "hive_partitioning = false" in flat
    csv = warehouse.external_table_as_view(
        "CREATE EXTERNAL TABLE d.t OPTIONS (format='CSV', uris=['gs://b/x.csv'], skip_leading_rows=1)", tmp_path)
    assert f"read_csv(['{tmp_path}/b/x.csv'], hive_partitioning = false, header = true, union_by_name = true)" in csv
    with pytest.raises(WarehouseError, match="PARQUET or CSV, not AVRO"):
        warehouse.external_table_as_view("CREATE EXTERNAL TABLE d.t OPTIONS (format='AVRO', uris=['gs://b/x.avro'])",
                                         tmp_path)


def test_cloud_loads_name_the_lakes_hive_folders_from_their_prefix():
    from zoomcamp.warehouse import _hive_prefix

    keys = ("year", "month")
    assert _hive_prefix("gs://lake/yellow/*", keys) == "gs://lake/yellow"
    assert _hive_prefix("gs://lake/yellow/year=2021/month=01/*", keys) == "gs://lake/yellow"
    assert _hive_prefix("gs://lake/prefix/green/year=2021/month=02/green_tripdata_2021-02.parquet", keys) == \
        "gs://lake/prefix/green"


def test_placeholders_and_statements():
    assert warehouse.render("SELECT * FROM `${project}.${dataset}.t`", {"project": "p", "dataset": "d"}) == \
        "SELECT * FROM `p.d.t`"
    with pytest.raises(WarehouseError, match=r"\$\{table\}"):
        warehouse.render("SELECT * FROM ${table}", {})
    text = "-- first\nCREATE TABLE a AS SELECT 1;\n\nSELECT ';' AS x;\n-- only a comment;\n"
    assert warehouse.statements(text) == ["-- first\nCREATE TABLE a AS SELECT 1", "SELECT ';' AS x"]
    with pytest.raises(WarehouseError, match="no SQL file nope.sql"):
        warehouse.sql_file("nope")


# --- the backend switch ---------------------------------------------------------------------------------------------
@pytest.mark.stack
def test_the_local_backend_is_the_emulator_with_anonymous_credentials(settings):
    from google.auth.credentials import AnonymousCredentials

    bq = warehouse.client(settings)
    assert bq._connection.API_BASE_URL == BigQuery(settings).env()["BIGQUERY_EMULATOR_HOST"]
    assert isinstance(bq._credentials, AnonymousCredentials) and bq.project == "zoomcamp"
    assert warehouse.is_emulator(bq)
    assert bq.query("SELECT 40 + 2 AS x").result().to_arrow(create_bqstorage_client=False).to_pylist() == [{"x": 42}]


def test_the_local_backend_without_the_emulator_says_how_to_start_it(scratch_settings):
    with pytest.raises(WarehouseError, match="zoomcamp stack up"):
        warehouse.client(scratch_settings)


@pytest.mark.stack  # its last line compares with the local emulator's client
def test_the_gcp_backend_is_bigquery_with_application_default_credentials(settings, tmp_path, monkeypatch):
    adc = tmp_path / "adc.json"  # what `gcloud auth application-default login` writes
    adc.write_text(json.dumps({"type": "authorized_user", "client_id": "id.apps.googleusercontent.com",
                               "client_secret": "secret", "refresh_token": "token"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", "http://127.0.0.1:9")  # left in the shell: must not be used
    cloud = settings.replace(backend="gcp", gcp_project="my-project", gcs_bucket="my-lake", gcp_region="us-east1")
    bq = warehouse.client(cloud)
    assert bq._connection.API_BASE_URL == "https://bigquery.googleapis.com"
    assert bq.project == "my-project" and bq.location == "us-east1"
    assert type(bq._credentials).__module__.startswith("google.oauth2")
    assert not warehouse.is_emulator(bq)
    wh = Warehouse(cloud, bq)
    assert (wh.emulator, wh.lake, wh.table_id("t")) == (False, "gs://my-lake", "my-project.trips_data_all.t")
    assert warehouse.client(settings)._connection.API_BASE_URL != bq._connection.API_BASE_URL


def test_the_gcp_backend_without_credentials_is_a_clear_error(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    cloud = settings.replace(backend="gcp", gcp_project="my-project", gcs_bucket="my-lake")
    with pytest.raises(WarehouseError, match="gcloud auth application-default login"):
        warehouse.client(cloud)


# --- the SQL files are what the notebooks run -----------------------------------------------------------------------
def _code_cells(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_every_sql_file_is_run_by_a_notebook_and_every_name_exists():
    files = {p.stem for p in (WEEK / "sql").glob("*.sql")}
    used = set()
    for notebook in NOTEBOOKS:
        for source in _code_cells(notebook):
            used |= set(re.findall(r"(?:run|query|sql|dry_run_bytes)\(\s*\"(\d\d_\w+)\"", source))
    for dag in (WEEK / "airflow" / "dags").glob("*.py"):  # a DAG's query job runs its SQL file too
        used |= set(re.findall(r"(?:run|query)\(\s*\"(\d\d_\w+)\"", dag.read_text()))
    assert used - files == set(), "notebooks name SQL files that do not exist"
    assert files - used == set(), "SQL files no notebook or DAG runs"
    assert len(NOTEBOOKS) == 6


def test_notebooks_send_the_warehouse_no_sql_of_their_own():
    """BigQuery SQL lives in sql/*.sql only: a literal statement passed to the client would drift from the files."""
    offenders = []
    for notebook in NOTEBOOKS:
        for source in _code_cells(notebook):
            for node in ast.walk(ast.parse(source)):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args
                        and isinstance(node.args[0], ast.Constant | ast.JoinedStr)):
                    continue
                receiver, method, first = ast.unparse(node.func.value), node.func.attr, node.args[0]
                names_a_file = isinstance(first, ast.Constant) and re.fullmatch(r"\d\d_\w+", str(first.value))
                if ((receiver in ("bq", "wh.client", "client") and method == "query")
                        or (receiver == "wh" and method == "execute")
                        or (receiver == "wh" and method in ("run", "query", "sql") and not names_a_file)):
                    offenders.append(f"{notebook.name}: {ast.unparse(node)[:80]}")
    assert offenders == []


def test_sql_files_fill_every_placeholder_they_use():
    for path in (WEEK / "sql").glob("*.sql"):
        names = set(re.findall(r"\$\{(\w+)\}", path.read_text()))
        assert names <= {"project", "dataset", "lake", "kind", "table", "corrections"}, path.name
        rendered = warehouse.render(path.read_text(), {n: "x" for n in names})
        assert "${" not in rendered and warehouse.statements(rendered), path.name


# --- on the session's emulator --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wh(settings, stack):
    lake = Lake(settings)
    lake.ingest("yellow", MONTHS, progress=False)
    wh = Warehouse(settings.replace(bq_dataset="test_warehouse"))
    wh.create_dataset()
    return wh


def test_warehouse_row_counts_agree_with_the_lake_check(wh, settings):
    lake_rows = {(int(s.month[:4]), int(s.month[5:])): s.rows for s in Lake(settings).check(["yellow"], MONTHS)}
    assert all(rows for rows in lake_rows.values())
    wh.run("02_external_table", kind="yellow")
    wh.run("02_external_table", kind="yellow")  # idempotent: the view is replaced
    assert wh.client.get_table(wh.table_id("external_yellow_tripdata")).table_type == "VIEW"
    wh.run("02_native_table", kind="yellow")
    for table in ("external_yellow_tripdata", "yellow_tripdata"):
        counted = wh.query("02_rows_by_month", table=table)
        assert {(r.year, r.month): r.trips for r in counted.itertuples()} == lake_rows, table
    assert wh.client.get_table(wh.table_id("yellow_tripdata")).num_rows == sum(lake_rows.values())
    loaded = wh.load_parquet(f"{wh.lake}/yellow/*", "yellow_loaded", "yellow")
    assert loaded.output_rows == sum(lake_rows.values())


@pytest.mark.stack
def test_week3_homework_is_graded_on_the_warehouse(settings, write_answers):
    from zoomcamp import datasets, homework

    # A dataset of its own: the tests here replace external_green_tripdata with a table, and on the emulator
    # deleting a view as a table fails with HTTP 500.
    wh = Warehouse(settings.replace(bq_dataset="test_homework"))
    wh.create_dataset()
    lake = Lake(settings)
    lake.ingest("yellow", ["2021-01"], progress=False)
    lake.ingest("green", ["2021-01"], progress=False)
    for kind in ("yellow", "green"):
        wh.run("02_external_table", kind=kind)
    wh.run("02_native_table", kind="yellow")
    wh.run("03_create_tables")

    def source(kind):  # the lake's months, read from the files in pandas
        return pd.concat(datasets.read_csv(datasets.trip_file(kind, str(m), settings=settings))
                         for m in lake.months(kind))

    yellow, green = source("yellow"), source("green")
    per_day = yellow.groupby(yellow["tpep_pickup_datetime"].dt.strftime("%Y%m%d")).size()
    expected = homework.expected_answers(3, wh.settings)
    assert expected == {"q1": len(green), "q2": yellow["PULocationID"].nunique(),
                        "q3": int((yellow["fare_amount"] == 0).sum()),
                        "q4": per_day[per_day == per_day.min()].index.min()}
    assert [g.correct for g in homework.grade(3, write_answers(expected), wh.settings)] == [True] * 4
    wrong = dict(expected, q1=expected["q1"] - 1, q4=per_day.idxmax())
    assert [g.correct for g in homework.grade(3, write_answers(wrong), wh.settings)] == [False, True, True, False]
    missing = homework.grade(3, write_answers(expected), wh.settings.replace(bq_dataset="no_such_dataset"))
    assert all("cannot check yet" in g.note for g in missing)


def test_dez_homework_external_table_with_a_wildcard_in_the_file_name(wh, settings):
    """DEZ's week 3 homework, its statement unchanged: monthly files at the bucket's root, one * in the name."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from zoomcamp import datasets
    from zoomcamp.stack.gcs import Gcs

    gcs = storage.Client(project="dez", credentials=AnonymousCredentials(),
                         client_options={"api_endpoint": Gcs(settings).env()["STORAGE_EMULATOR_HOST"]})
    bucket = gcs.bucket("dez-homework")
    if not bucket.exists():
        gcs.create_bucket("dez-homework")
    rows = {}
    for month in ("2023-12", "2024-01", "2024-02"):  # 2023-12 is not in the table
        path = datasets.trip_file("yellow", month, "parquet", settings=settings)
        bucket.blob(path.name).upload_from_filename(str(path))
        rows[month] = len(pd.read_parquet(path))
    table_id = wh.table_id("dez_external_yellow_tripdata")
    wh.execute(f"""CREATE OR REPLACE EXTERNAL TABLE `{table_id}`
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://dez-homework/yellow_tripdata_2024-*.parquet']
)""")
    counted = warehouse.to_frame(wh.client.query(
        f"SELECT count(*) AS n, count(DISTINCT PULocationID) AS zones, min(tpep_pickup_datetime) AS first "
        f"FROM `{table_id}` WHERE tpep_pickup_datetime >= '2024-01-01'"))
    both = pd.concat(pd.read_parquet(datasets.trip_file("yellow", m, "parquet", settings=settings))
                     for m in ("2024-01", "2024-02"))
    both = both[both["tpep_pickup_datetime"] >= "2024-01-01"]
    assert counted["n"].item() == len(both) and counted["zones"].item() == both["PULocationID"].nunique()
    total = warehouse.to_frame(wh.client.query(f"SELECT count(*) AS n FROM `{table_id}`"))["n"].item()
    assert total == rows["2024-01"] + rows["2024-02"]
    loaded = wh.load_parquet("gs://dez-homework/yellow_tripdata_2024-*.parquet", "dez_yellow_tripdata", "yellow",
                             hive_keys=())
    assert loaded.output_rows == total
    with pytest.raises(Exception, match="No files found"):
        wh.execute(f"CREATE OR REPLACE EXTERNAL TABLE `{table_id}_2022` OPTIONS (format = 'PARQUET', "
                   "uris = ['gs://dez-homework/yellow_tripdata_2022-*.parquet'])")


def test_dez_csv_external_table_over_a_wildcard(wh, settings):
    """DEZ's older homework: format = 'CSV' over gs://BUCKET/trip data/fhv_tripdata_2019-*.csv (plain CSV files)."""
    import gzip

    from zoomcamp import datasets
    from zoomcamp.lake import Lake

    lake = Lake(settings, url="gs://dez-csv")
    frames = []
    for month in ("2019-01", "2019-02"):
        path = datasets.trip_file("fhv", month, settings=settings)
        with lake.fs.open(lake.path("trip data", f"fhv_tripdata_{month}.csv"), "wb") as f:
            f.write(gzip.decompress(path.read_bytes()))
        frames.append(datasets.read_csv(path))
    fhv = pd.concat(frames)
    table_id = wh.table_id("dez_fhv_tripdata")
    wh.execute(f"""CREATE OR REPLACE EXTERNAL TABLE `{table_id}`
OPTIONS (
  format = 'CSV',
  uris = ['gs://dez-csv/trip data/fhv_tripdata_2019-*.csv']
)""")
    got = warehouse.to_frame(wh.client.query(
        f"SELECT count(*) AS n, count(DISTINCT dispatching_base_num) AS bases, count(PUlocationID) AS pu, "
        f"max(pickup_datetime) AS last FROM `{table_id}` WHERE DATE(pickup_datetime) < '2019-02-01'"))
    january = fhv[fhv["pickup_datetime"] < "2019-02-01"]
    assert (got["n"].item(), got["bases"].item(), got["pu"].item()) == (
        len(january), january["dispatching_base_num"].nunique(), january["PUlocationID"].notna().sum())
    assert pd.Timestamp(got["last"].item()).tz_localize(None) == january["pickup_datetime"].max()


def test_load_csv_file_loads_the_csv_layout_and_refuses_another(wh, settings, tmp_path):
    """Yellow CSV files have 18 columns (no airport_fee): the course's sample, as the TLC's and DEZ's backups."""
    from zoomcamp import datasets

    path = datasets.trip_file("yellow", "2021-01", settings=settings)
    job = wh.load_csv_file(path, "yellow_from_csv", "yellow")
    frame = datasets.read_csv(path)
    assert job.output_rows == len(frame)
    table = wh.client.get_table(wh.table_id("yellow_from_csv"))
    assert [f.name for f in table.schema] == list(frame.columns) and "airport_fee" not in frame.columns
    got = warehouse.to_frame(wh.client.query(
        f"SELECT sum(total_amount) AS total, count(RatecodeID) AS rated FROM `{wh.table_id('yellow_from_csv')}`"))
    assert got["total"].item() == pytest.approx(frame["total_amount"].sum())
    assert got["rated"].item() == frame["RatecodeID"].notna().sum()
    wrong = tmp_path / "yellow_tripdata_2021-01.csv"
    frame.assign(airport_fee=0.0).to_csv(wrong, index=False)  # a parquet month written out as CSV
    with pytest.raises(datasets.BadFile, match="unexpected: airport_fee"):
        wh.load_csv_file(wrong, "yellow_from_csv", "yellow")


def test_an_external_table_made_through_the_api_is_replaced_by_the_stand_in(wh):
    from google.cloud import bigquery

    table_id = wh.table_id("external_green_tripdata")
    wh.client.delete_table(table_id, not_found_ok=True)
    api_table = bigquery.Table(table_id)
    config = bigquery.ExternalConfig("PARQUET")
    config.source_uris = [f"{wh.lake}/yellow/*"]
    api_table.external_data_configuration = config
    wh.client.create_table(api_table)  # the emulator accepts it, and reads it as empty
    wh.execute(f"CREATE OR REPLACE EXTERNAL TABLE `{table_id}` OPTIONS (format = 'PARQUET', "
               f"uris = ['{wh.lake}/yellow/year=2021/month=01/*'])")
    assert wh.client.get_table(table_id).table_type == "VIEW"
    columns = [f.name for f in wh.client.get_table(table_id).schema]
    assert "year" not in columns  # no WITH PARTITION COLUMNS: no hive columns, as in BigQuery
    rows = warehouse.to_frame(wh.client.query(f"SELECT count(*) AS n FROM `{table_id}`"))["n"].item()
    assert rows == Lake(wh.settings).manifest("yellow", "2021-01")["rows"]


def test_an_emulator_error_fails_fast_instead_of_retrying_for_ten_minutes(wh, monkeypatch):
    """Deleting a view as a table is a 500 on the emulator: BigQuery's client would retry it for 600 s."""
    from google.api_core.exceptions import GoogleAPIError, RetryError

    monkeypatch.setattr(warehouse, "EMULATOR_RETRY_SECONDS", 2.0)
    view = wh.table_id("fail_fast_view")
    wh.execute(f"CREATE OR REPLACE VIEW `{view}` AS SELECT 1 AS one")
    started = time.monotonic()
    with pytest.raises((RetryError, GoogleAPIError)) as raised:
        wh.client.delete_table(view)
    assert time.monotonic() - started < 30 and "500" in str(raised.value)
    wh.execute(f"DROP VIEW `{view}`")


def test_a_missing_sql_value_fails_before_anything_runs(wh):
    with pytest.raises(WarehouseError, match=r"\$\{kind\}"):
        wh.run("02_external_table")
    with pytest.raises(NotFound):
        wh.client.get_table(wh.table_id("external_${kind}_tripdata"))


# --- measuring layouts ----------------------------------------------------------------------------------------------
def test_scan_profile_counts_what_partition_and_min_max_pruning_skip(tmp_path):
    n = 4000
    table = pa.table({"day": pa.array([f"2021-01-{1 + i % 4:02d}" for i in range(n)]),
                      "vendor": pa.array([1 + (i // 4) % 2 for i in range(n)]),
                      "amount": pa.array([float(i) for i in range(n)])})
    plain = warehouse.write_layout(table, tmp_path / "plain", row_group_size=100)
    parted = warehouse.write_layout(table, tmp_path / "parted", partition_by="day", cluster_by="vendor",
                                    row_group_size=100)
    assert len(plain) == 1 and len(parted) == 4
    query = ("SELECT count(*), sum(amount) FROM read_parquet('{}/**/*.parquet', hive_partitioning = true) "
             "WHERE day = '2021-01-02' AND vendor = 1")
    chosen = [i for i in range(n) if i % 4 == 1 and (i // 4) % 2 == 0]
    expected = [(len(chosen), float(sum(chosen)))]
    whole = warehouse.scan_profile(query.format(warehouse.counted(tmp_path / "plain")), plain)
    pruned = warehouse.scan_profile(query.format(warehouse.counted(tmp_path / "parted")), parted)
    assert whole["result"] == pruned["result"] == expected
    assert (whole["files_read"], whole["row_groups_read"], whole["row_groups_total"]) == (1, 40, 40)
    assert pruned["files_total"] == 4 and pruned["files_read"] <= 2  # its day, and at most the schema file
    assert pruned["row_groups_total"] == 40
    # In its day's file rows are sorted by vendor: the row groups holding only vendor 2 are never read.
    assert pruned["row_groups_read"] <= 5 + 1
    assert pruned["data_bytes_read"] < whole["data_bytes_read"] / 4
    assert whole["bytes_read"] >= whole["data_bytes_read"] > 0


def test_reset_week_3_empties_the_dataset(wh):
    """Last in this file: drops the tables and views the tests above made (the notebooks make their own again)."""
    from zoomcamp import course, weeks

    wh.run("02_external_table", kind="yellow")  # a view on the emulator
    wh.run("02_native_table", kind="yellow")
    wh.run("06_ml_table")
    wh.run("06_create_model")  # registered, not trained, on the emulator
    dataset = f"{wh.project}.{wh.dataset}"
    kinds = {t.table_id: t.table_type for t in wh.client.list_tables(dataset)}
    assert kinds["external_yellow_tripdata"] == "VIEW" and kinds["yellow_tripdata"] == "TABLE"
    cloud = wh.settings.replace(backend="gcp", gcp_project="p", gcs_bucket="b")
    assert weeks.get(3).reset(cloud) == []  # the cloud's BigQuery is never touched (no credentials asked for)
    removed = course.reset(3, settings=wh.settings)[3]
    assert {"view test_warehouse.external_yellow_tripdata", "table test_warehouse.yellow_tripdata",
            "model test_warehouse.tip_model"} <= set(removed)
    assert list(wh.client.list_tables(dataset)) == [] and list(wh.client.list_models(dataset)) == []
    assert course.reset(3, settings=wh.settings)[3] == []
