"""The project on GCP, by configuration: where each step writes, and a check of that configuration without
connecting."""

from __future__ import annotations

import contextlib

import pandas as pd

from ..settings import Settings, get_settings, project_root
from .config import (
    CLUSTER_COLUMNS,
    DASHBOARD_SCHEMA,
    DBT_SELECTOR,
    MODELS_SCHEMA,
    ProjectError,
    is_local,
    warehouse_path,
)


def plan(settings: Settings | None = None) -> pd.DataFrame:
    """Where each step reads and writes with these settings (local or GCP), without running anything.
    Taught in week_7_project/03_your_project.ipynb (and used in 02)."""
    from ..lake import DEFAULT_BUCKET

    settings = settings or get_settings()
    lake = (settings.lake_url or f"gs://{settings.gcs_bucket or DEFAULT_BUCKET}").rstrip("/")
    if is_local(settings):
        where = warehouse_path(settings)
        with contextlib.suppress(ValueError):  # inside the checkout: the shorter, relative path
            where = where.relative_to(project_root())
        rows = [
            ("lake", f"{lake} ({'GCS emulator' if lake.startswith('gs://') else 'folder'})",
             "{type}/year=YYYY/month=MM/*.parquet"),
            ("warehouse", f"BigQuery emulator, dataset {settings.bq_dataset}; dbt's copy in DuckDB {where}",
             f"{{type}}_tripdata, partitioned by DAY(pickup time), clustered by {', '.join(CLUSTER_COLUMNS)}; "
             "the copy sorted the same way"),
            ("dbt", f"target duckdb ({where})", f"--selector {DBT_SELECTOR} --full-refresh -> {MODELS_SCHEMA}"),
            ("dashboard", f"DuckDB {where}", f"{DASHBOARD_SCHEMA}.daily_trips, {DASHBOARD_SCHEMA}.zone_revenue"),
        ]
    else:
        bq = f"{settings.gcp_project}.{settings.bq_dataset}"
        rows = [
            ("lake", f"{lake} (GCS, project {settings.gcp_project})", "{type}/year=YYYY/month=MM/*.parquet"),
            ("warehouse", f"BigQuery {bq} ({settings.gcp_region})",
             f"{{type}}_tripdata, partitioned by DAY(pickup time), clustered by {', '.join(CLUSTER_COLUMNS)}"),
            ("dbt", "target prod (BigQuery, dbt-bigquery)",
             f"--selector {DBT_SELECTOR} -> {settings.gcp_project}.{settings.dbt_dataset}"),
            ("dashboard", "BigQuery, dbt's prod dataset", "daily_trips, zone_revenue (Streamlit or Looker Studio)"),
        ]
    return pd.DataFrame(rows, columns=["step", "where", "what"])


def check_gcp(settings: Settings | None = None) -> dict:
    """Validate the GCP configuration of every step without connecting: the settings name a project and a bucket,
    dbt's ``prod`` output renders from the same settings (``zoomcamp dbt env --target prod``), and dbt-bigquery is
    installed. Credentials are Application Default Credentials (``gcloud auth application-default login``), checked
    by GCP at the first call. Returns the rendered dbt output; raises :class:`ProjectError` naming the first thing to
    fix. Taught in week_7_project/03_your_project.ipynb."""
    import importlib.util

    from .. import dbt

    settings = settings or get_settings()
    if settings.backend != "gcp":
        raise ProjectError("backend is 'local': set backend = 'gcp' (with [gcp] project and [gcs] bucket) first")
    try:
        output = dbt.check_prod_profile(environ=dbt.env("prod", settings))
    except dbt.DbtError as exc:
        raise ProjectError(str(exc)) from None
    if (output["project"], output["dataset"]) != (settings.gcp_project, settings.dbt_dataset):
        raise ProjectError(f"profiles.yml's prod output names {output['project']}.{output['dataset']}, not the "
                           f"course's {settings.gcp_project}.{settings.dbt_dataset}: read them with env_var "
                           "('DBT_BQ_PROJECT', 'DBT_BQ_DATASET') as the course's profiles.yml does")
    if importlib.util.find_spec("dbt.adapters.bigquery") is None:
        raise ProjectError("dbt's prod target needs the BigQuery adapter: pip install dbt-bigquery")
    return output
