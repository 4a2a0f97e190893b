"""``backend = "gcp"`` executed: the code paths that real GCS and BigQuery take, run against the course's own emulators
standing in for them (``gcs_endpoint``, ``bq_endpoint``: anonymous credentials). What only Google Cloud can check
(IAM, Application Default Credentials, billing, BigQuery's own external tables...) is listed in the README,
"Settings, and switching to real GCP"."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from zoomcamp import datasets, project, warehouse
from zoomcamp.lake import Lake, LakeError
from zoomcamp.stack.bigquery import BigQuery
from zoomcamp.stack.gcs import Gcs

pytestmark = pytest.mark.stack

BUCKET = "test-gcp-backend-lake"
DATASET = "test_gcp_backend"


@pytest.fixture
def gcp(stack, settings):
    """Settings as a student's on GCP, with the local emulators' endpoints standing in for Google's."""
    cloud = settings.replace(backend="gcp", gcp_project="my-gcp-project", gcs_bucket=BUCKET, lake_url=None,
                             gcs_endpoint=Gcs(settings).env()["STORAGE_EMULATOR_HOST"],
                             bq_endpoint=BigQuery(settings).env()["BIGQUERY_EMULATOR_HOST"], bq_dataset=DATASET)
    local = Lake(settings, url=f"gs://{BUCKET}")  # the local backend's lake, on the same emulator
    if local.fs.exists(BUCKET):
        local.fs.rm(BUCKET, recursive=True)
    yield cloud
    if local.fs.exists(BUCKET):
        local.fs.rm(BUCKET, recursive=True)
    warehouse.client(cloud).delete_dataset(f"my-gcp-project.{DATASET}", delete_contents=True, not_found_ok=True)


def test_the_lake_and_the_warehouse_on_gcp_run_the_same_steps(gcp, settings):
    # On GCP the bucket is Terraform's to make: the lake does not create one.
    with pytest.raises(LakeError, match=f"bucket {BUCKET} does not exist in project my-gcp-project.*terraform apply"):
        Lake(gcp)
    Lake(settings, url=f"gs://{BUCKET}")  # as `terraform apply` would

    # Step 1, the lake: the month's parquet object is in the bucket, whole, with every row of the source file.
    (published,) = project.ingest_lake(["2021-01"], ["yellow"], settings=gcp)
    source_rows = len(datasets.read_csv(datasets.trip_file("yellow", "2021-01", settings=settings)))
    lake = Lake(gcp)
    assert lake.fs.ls(lake.partition("yellow", "2021-01"), detail=False, refresh=True) == [
        f"{BUCKET}/yellow/year=2021/month=01/yellow_tripdata_2021-01.parquet"]
    with lake.fs.open(lake.object_path("yellow", "2021-01")) as f:
        assert pq.read_table(f).num_rows == published.rows == source_rows
    assert [(p.state, p.rows) for p in lake.check(["yellow"], ["2021-01"])] == [("present", source_rows)]

    # Step 2, the warehouse: a client in the settings' project and region, the raw table loaded from the bucket.
    bq = warehouse.client(gcp)
    assert (bq.project, bq.location, type(bq._credentials).__name__) == ("my-gcp-project", gcp.gcp_region,
                                                                         "AnonymousCredentials")
    (loaded,) = project.load_warehouse(["2021-01"], ["yellow"], settings=gcp)
    assert (loaded.table, loaded.rows) == (f"my-gcp-project.{DATASET}.yellow_tripdata", source_rows)
    assert bq.get_table(loaded.table).time_partitioning.field == "tpep_pickup_datetime"

    # Week 3's external table over the same bucket reads the same rows.
    wh = warehouse.Warehouse(gcp)
    wh.run("02_external_table", kind="yellow")
    counted = warehouse.to_frame(wh.execute(f"SELECT count(*) AS n FROM `{wh.table_id('external_yellow_tripdata')}`"))
    assert counted["n"][0] == source_rows


def test_project_plan_checks_the_gcp_configuration(gcp, monkeypatch):
    import importlib.util

    from zoomcamp.cli import app
    from zoomcamp.settings import reload_settings

    for name, value in (("BACKEND", "gcp"), ("GCP_PROJECT", "my-gcp-project"), ("GCS_BUCKET", BUCKET),
                        ("GCS_ENDPOINT", gcp.gcs_endpoint), ("BQ_ENDPOINT", gcp.bq_endpoint)):
        monkeypatch.setenv(f"ZOOMCAMP_{name}", value)
    reload_settings()
    try:
        real = importlib.util.find_spec  # dbt-bigquery is not installed here (test_project: the check names it)
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: object() if name == "dbt.adapters.bigquery" else real(name, *a))
        printed = CliRunner().invoke(app, ["project", "plan"], terminal_width=200)
        assert printed.exit_code == 0, printed.output
        assert f"gs://{BUCKET}" in printed.output and "the GCP configuration is complete" in printed.output
    finally:
        monkeypatch.undo()
        reload_settings()
