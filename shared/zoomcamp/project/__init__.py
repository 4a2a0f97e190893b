"""Week 7's reference project: the whole chain in one call, the dashboard's queries, and the rubric self-check.

>>> from zoomcamp import project
>>> project.run(["2021-01", "2021-02"])    # lake -> warehouse -> dbt -> dashboard data; each step idempotent
>>> data = project.DashboardData()          # what the Streamlit app (week_7_project/dashboard/app.py) shows
>>> data.daily(["2021-01"], ["Green", "Yellow"])
>>> project.check("week_7_project/template")   # a project folder against the rubric's checkable parts

The steps, each a function of its own and each safe to repeat (re-running a month replaces that month only):

1. **lake** (:func:`ingest_lake`): each month's file, downloaded or generated, as typed parquet in the data lake,
   ``{type}/year=YYYY/month=MM/`` (week 2's :class:`zoomcamp.lake.Lake`).
2. **warehouse** (:func:`load_warehouse`): each month of the lake into BigQuery's raw tables
   ``trips_data_all.{green,yellow}_tripdata``, partitioned by pickup day and clustered by pickup zone (the month's rows
   deleted, then loaded again) — the local BigQuery emulator, or BigQuery itself with ``backend = "gcp"``.
3. **dbt** (:func:`transform`): week 4's project, ``dbt build --selector revenue --full-refresh``: the facts and the
   monthly zone mart rebuilt from the raw tables, with their tests.
4. **dashboard data** (:func:`build_dashboard_data`): two small tables the dashboard reads, ``dashboard.daily_trips``
   and ``dashboard.zone_revenue``, for the months the pipeline loaded (a trip whose pickup falls outside every loaded
   month is dirt in the TLC files, left out).

dbt has no adapter for the BigQuery emulator, so locally dbt runs on DuckDB: the warehouse step also writes each
month, from the same lake file, into the DuckDB file of dbt's ``duckdb`` target (kept apart from week 4's, under
``<home>/project/``), in one transaction and sorted by pickup time and zone, and checks that both hold the same rows
per month. The dashboard's tables are built there too. (Copying the rows out of the emulator instead runs at a few
thousand rows a second through its REST API: minutes for one real month.) With ``backend = "gcp"`` the same steps
target real GCS, BigQuery and dbt's ``prod`` target, and the dashboard reads BigQuery: :func:`plan` says where each
step writes and :func:`check_gcp` validates that configuration without connecting.

The package, one job a module: :mod:`.config` (names, where the warehouse is), :mod:`.engines` (DuckDB and
BigQuery behind one face), :mod:`.loading` (step 2), :mod:`.pipeline` (steps 1 and 3, and :func:`run`),
:mod:`.dashboard` (step 4, the dashboard's queries, serving it), :mod:`.gcp` (plan and configuration check).
"""

from __future__ import annotations

from pathlib import Path

from .config import KINDS, SERVICES, ProjectError, dbt_settings, warehouse_path
from .dashboard import APP, DashboardData, build_dashboard_data, dashboard
from .engines import connect_duckdb
from .gcp import check_gcp, plan
from .loading import Loaded, load_warehouse, warehouse_months
from .pipeline import RunReport, Step, ingest_lake, run, transform


def check(path: Path | str):
    """Score a project folder against the rubric's checkable parts: :func:`zoomcamp.rubric.check`.
    Taught in week_7_project/03_your_project.ipynb."""
    from ..rubric import check as check_folder

    return check_folder(path)


__all__ = ["APP", "KINDS", "SERVICES", "DashboardData", "Loaded", "ProjectError", "RunReport", "Step", "connect_duckdb",
           "dbt_settings",
           "build_dashboard_data", "check", "check_gcp", "dashboard", "ingest_lake", "load_warehouse", "plan", "run",
           "transform", "warehouse_months", "warehouse_path"]
