"""Week 7's reference project: the whole chain in one call, the dashboard's queries, and the rubric self-check.

>>> from zoomcamp import project
>>> project.run(["2021-01", "2021-02"])    # lake -> warehouse -> dbt -> dashboard data; each step idempotent
>>> data = project.DashboardData()          # what the Streamlit app (week_7_project/dashboard/app.py) shows
>>> data.daily(["2021-01"], ["Green", "Yellow"])
>>> project.check("week_7_project/template")   # a project folder against the rubric's checkable parts

The steps, each a function of its own and each safe to repeat (re-running a month replaces that month only):

1. **lake** (:func:`ingest_lake`): each month's file, downloaded or generated, as typed parquet in the data lake,
   ``{type}/year=YYYY/month=MM/`` (week 2's :class:`zoomcamp.lake.Lake`).
2. **warehouse** (:func:`load_warehouse`): each month of the lake into the raw tables
   ``trips_data_all.{green,yellow}_tripdata``, the month's rows deleted and inserted in one transaction, sorted by
   pickup time and zone (what clustering does in BigQuery; on BigQuery the table is also partitioned by day).
3. **dbt** (:func:`transform`): week 4's project, ``dbt build --selector revenue --full-refresh``: the facts and the
   monthly zone mart rebuilt from the raw tables, with their tests.
4. **dashboard data** (:func:`build_dashboard_data`): two small tables the dashboard reads, ``dashboard.daily_trips``
   and ``dashboard.zone_revenue``, for the months the pipeline loaded (a trip whose pickup falls outside every loaded
   month is dirt in the TLC files, left out).

Locally the warehouse is the DuckDB file of dbt's ``duckdb`` target, kept apart from week 4's under
``<home>/project/``. With ``backend = "gcp"`` the same steps target real GCS, BigQuery and dbt's ``prod`` target:
:func:`plan` says where each step writes and :func:`check_gcp` validates that configuration without connecting.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import datasets
from .datasets import Month, parse_months
from .datasets.schemas import PICKUP_COLUMN
from .errors import CourseError
from .settings import Settings, get_settings, project_root

KINDS = ("green", "yellow")
SERVICES = {"green": "Green", "yellow": "Yellow"}  # trip type -> dbt's service_type
RAW_SCHEMA = "trips_data_all"
MODELS_SCHEMA = "dbt_dev"
DASHBOARD_SCHEMA = "dashboard"
CLUSTER_COLUMNS = ("PULocationID",)  # the dashboard groups by pickup zone
DBT_SELECTOR = "revenue"  # week 4's selector: the monthly mart and everything upstream of it
APP = project_root() / "week_7_project" / "dashboard" / "app.py"


class ProjectError(CourseError, RuntimeError):
    pass


# --- where things are -----------------------------------------------------------------------------------------------

def dbt_settings(settings: Settings | None = None) -> Settings:
    """The settings the project runs dbt with: the same data, but a home of its own (``<home>/project``), so dbt's
    DuckDB file — the project's local warehouse — is not week 4's (whose notebooks rebuild theirs at will)."""
    settings = settings or get_settings()
    return settings.replace(home=settings.home / "project", data_dir=settings.data_path)


def warehouse_path(settings: Settings | None = None) -> Path:
    """The local warehouse: the DuckDB file of dbt's ``duckdb`` target, under the project's home."""
    from . import dbt

    return dbt.duckdb_path(dbt_settings(settings))


def raw_table(kind: str) -> str:
    return f"{RAW_SCHEMA}.{kind}_tripdata"


def _months(months) -> list[Month]:
    if isinstance(months, str | Month):
        months = [months]
    months = parse_months([str(m) for m in months])
    if not months:
        raise ProjectError("give at least one month, e.g. 2021-01")
    return months


def _kinds(kinds: Iterable[str]) -> list[str]:
    kinds = list(kinds)
    for kind in kinds:
        if kind not in SERVICES:
            raise ProjectError(f"the project reads green and yellow trips, not {kind!r}")
    return kinds


def _local(settings: Settings) -> bool:
    return settings.backend == "local"


# --- step 1: the lake -----------------------------------------------------------------------------------------------

def ingest_lake(months, kinds: Iterable[str] = KINDS, *, settings: Settings | None = None,
                progress: bool = False) -> list:
    """Step 1: each month of each type into the lake (re-running a month replaces exactly that month)."""
    from .lake import Lake

    settings = settings or get_settings()
    lake = Lake(settings)
    return [published for kind in _kinds(kinds) for published in lake.ingest(kind, _months(months),
                                                                              progress=progress)]


# --- step 2: the warehouse ------------------------------------------------------------------------------------------

@dataclass
class Loaded:
    """One month of one type in the warehouse."""

    kind: str
    month: str
    table: str
    rows: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.kind} {self.month}: {self.rows:,} rows -> {self.table} ({self.seconds:.1f} s)"


def load_warehouse(months, kinds: Iterable[str] = KINDS, *, settings: Settings | None = None) -> list[Loaded]:
    """Step 2: each month of the lake into the warehouse's raw table of its type, replacing that month only.

    The one place that decides which warehouse: the local DuckDB file (dbt's ``duckdb`` target) here."""
    settings = settings or get_settings()
    if not _local(settings):
        raise ProjectError("the warehouse step on BigQuery needs zoomcamp.warehouse (week 3); "
                           "run the project locally (backend = 'local')")
    return _load_duckdb(_months(months), _kinds(kinds), settings)


def _raw_columns(kind: str) -> str:
    """The lake's columns with lower-case names (as week 4's raw tables: the same SQL runs on every warehouse),
    then the lake's partition keys, which say which month of the lake a row came from."""
    names = [f'"{c.name}" AS {c.name.lower()}' for c in datasets.columns(kind)]
    return ", ".join([*names, "year", "month"])


DUCKDB_TYPES = {"int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR", "timestamp": "TIMESTAMP"}


def _raw_ddl(kind: str) -> str:
    columns = [f"{c.name.lower()} {DUCKDB_TYPES[c.type]}" for c in datasets.columns(kind)]
    return ", ".join([*columns, "year INTEGER", "month INTEGER"])


def _load_duckdb(months: list[Month], kinds: list[str], settings: Settings) -> list[Loaded]:
    import duckdb

    from .lake import Lake

    lake = Lake(settings)
    path = warehouse_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    loaded = []
    with contextlib.closing(duckdb.connect(str(path))) as con:
        lake.duckdb(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
        for kind in KINDS:  # both tables always exist (dbt reads both), empty until a month is loaded
            con.execute(f"CREATE TABLE IF NOT EXISTS {raw_table(kind)} ({_raw_ddl(kind)})")
        for kind in kinds:
            table, pickup = raw_table(kind), PICKUP_COLUMN[kind].lower()
            for month in months:
                started = time.perf_counter()
                if lake.check([kind], [month])[0].state != "present":
                    raise ProjectError(f"the lake has no good copy of {kind} {month}: run the lake step first "
                                       f"(`zoomcamp lake ingest {kind} {month}`)")
                source = (f"read_parquet('{lake.protocol}{lake.object_path(kind, month)}', "
                          "hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER})")
                select = f"SELECT {_raw_columns(kind)} FROM {source}"
                con.execute("BEGIN TRANSACTION")
                try:  # readers see the old month or the new one, never neither
                    con.execute(f"DELETE FROM {table} WHERE year = ? AND month = ?", [month.year, month.month])
                    # Sorted: DuckDB keeps min/max per row group, so filters on pickup time or zone skip groups.
                    con.execute(f"INSERT INTO {table} BY NAME {select} ORDER BY {pickup}, pulocationid")
                    con.execute("COMMIT")
                except Exception:
                    con.execute("ROLLBACK")
                    raise
                rows = con.execute(f"SELECT count(*) FROM {table} WHERE year = ? AND month = ?",
                                   [month.year, month.month]).fetchone()[0]
                loaded.append(Loaded(kind, str(month), table, rows, time.perf_counter() - started))
    return loaded


def warehouse_months(settings: Settings | None = None) -> list[str]:
    """The months the warehouse holds (of any type), as ``YYYY-MM``."""
    tables = " UNION ALL ".join(f"SELECT DISTINCT year, month FROM {raw_table(k)}" for k in KINDS)
    frame = _query_local(f"SELECT DISTINCT printf('%04d-%02d', year, month) AS month FROM ({tables}) ORDER BY 1",
                         settings, missing_ok=True)
    return frame["month"].tolist() if frame is not None else []


def _query_local(sql: str, settings: Settings | None = None, *, missing_ok: bool = False):
    import duckdb

    path = warehouse_path(settings)
    if not path.is_file():
        if missing_ok:
            return None
        raise ProjectError(f"the project's warehouse ({path}) does not exist yet: run `zoomcamp project run` first")
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
        try:
            return con.execute(sql).df()
        except duckdb.CatalogException as exc:
            if missing_ok:
                return None
            raise ProjectError(f"the warehouse has no such table yet ({str(exc).splitlines()[0]}): "
                               "run `zoomcamp project run` first") from None


# --- step 3: dbt ----------------------------------------------------------------------------------------------------

def transform(*, settings: Settings | None = None):
    """Step 3: week 4's dbt project on the warehouse — the ``revenue`` selector (staging, facts, the monthly zone mart
    and their tests), fully refreshed: the facts are rebuilt from the raw tables as they now are, so a month that
    was replaced upstream is replaced here too. Returns the :class:`zoomcamp.dbt.DbtRun`."""
    from . import dbt

    settings = settings or get_settings()
    if not _local(settings):
        raise ProjectError("dbt's prod target (BigQuery) is not run from here offline: see `zoomcamp project plan`")
    s = dbt_settings(settings)
    result = dbt.run("build", "--selector", DBT_SELECTOR, "--full-refresh", target="duckdb",
                     target_path=s.home / "dbt-target", settings=s)
    if not result.success:
        raise ProjectError(f"dbt build failed on the project's warehouse ({warehouse_path(settings)}): "
                           f"{', '.join(result.failed()) or 'no failing node reported'}")
    return result


# --- step 4: the dashboard's tables ---------------------------------------------------------------------------------

def _dashboard_tables(months: list[str]) -> dict[str, str]:
    keep = ", ".join(f"'{m}'" for m in months)
    return {
        # The temporal tile: trips and revenue per day and service.
        "daily_trips": f"""
            SELECT CAST(pickup_datetime AS DATE) AS pickup_date, strftime(pickup_datetime, '%Y-%m') AS month,
                   service_type, count(*) AS trips, CAST(sum(total_amount) AS DOUBLE) AS revenue
            FROM {MODELS_SCHEMA}.fact_trips
            WHERE strftime(pickup_datetime, '%Y-%m') IN ({keep})
            GROUP BY ALL ORDER BY pickup_date, service_type""",
        # The categorical tile: revenue per month, service and pickup zone (with its borough), from the mart.
        "zone_revenue": f"""
            SELECT strftime(mart.revenue_month, '%Y-%m') AS month, mart.service_type, zones.borough,
                   mart.revenue_zone AS zone, mart.total_monthly_trips AS trips,
                   CAST(mart.revenue_monthly_total_amount AS DOUBLE) AS revenue
            FROM {MODELS_SCHEMA}.dm_monthly_zone_revenue AS mart
            JOIN {MODELS_SCHEMA}.dim_zones AS zones ON mart.revenue_locationid = zones.locationid
            WHERE strftime(mart.revenue_month, '%Y-%m') IN ({keep})
            ORDER BY month, service_type, revenue DESC""",
    }


def build_dashboard_data(*, settings: Settings | None = None) -> dict[str, int]:
    """Step 4: (re)build ``dashboard.daily_trips`` and ``dashboard.zone_revenue`` from dbt's models, for the months
    the warehouse holds. Returns the rows per table."""
    import duckdb

    settings = settings or get_settings()
    if not _local(settings):
        raise ProjectError("the dashboard tables on BigQuery are built by the same SQL in dbt's prod dataset; "
                           "not run offline")
    months = warehouse_months(settings)
    if not months:
        raise ProjectError("the warehouse is empty: run the lake and warehouse steps first (`zoomcamp project run`)")
    rows = {}
    with contextlib.closing(duckdb.connect(str(warehouse_path(settings)))) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {DASHBOARD_SCHEMA}")
        for name, sql in _dashboard_tables(months).items():
            con.execute(f"CREATE OR REPLACE TABLE {DASHBOARD_SCHEMA}.{name} AS {sql}")
            rows[name] = con.execute(f"SELECT count(*) FROM {DASHBOARD_SCHEMA}.{name}").fetchone()[0]
    return rows


# --- the whole chain ------------------------------------------------------------------------------------------------

@dataclass
class Step:
    name: str
    seconds: float
    detail: str
    result: object = field(default=None, repr=False)  # what the step's function returned


@dataclass
class RunReport:
    months: list[str]
    steps: list[Step] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([(s.name, round(s.seconds, 1), s.detail) for s in self.steps],
                            columns=["step", "seconds", "detail"])

    def __str__(self) -> str:
        lines = [f"{s.name:<10} {s.seconds:6.1f} s  {s.detail}" for s in self.steps]
        return "\n".join([*lines, f"{'total':<10} {self.seconds:6.1f} s  months {', '.join(self.months)}"])


def run(months=("2021-01",), kinds: Iterable[str] = KINDS, *, settings: Settings | None = None,
        progress: bool = False, announce=None) -> RunReport:
    """The whole chain for ``months``: lake -> warehouse -> dbt -> dashboard data. ``announce`` (e.g. ``print``)
    is called with each step's line as it finishes."""
    settings = settings or get_settings()
    months, kinds = _months(months), _kinds(kinds)
    if not _local(settings):
        check_gcp(settings)  # one clear error before anything is written
    report = RunReport([str(m) for m in months])

    def step(name: str, work, describe) -> None:
        started = time.perf_counter()
        result = work()
        report.steps.append(Step(name, time.perf_counter() - started, describe(result), result))
        if announce:
            announce(f"{name:<10} {report.steps[-1].seconds:6.1f} s  {report.steps[-1].detail}")

    step("lake", lambda: ingest_lake(months, kinds, settings=settings, progress=progress),
         lambda published: f"{sum(p.rows for p in published):,} rows in {len(published)} partitions")
    step("warehouse", lambda: load_warehouse(months, kinds, settings=settings),
         lambda loaded: ", ".join(sorted({x.table for x in loaded})) + f": {sum(x.rows for x in loaded):,} rows")
    step("dbt", lambda: transform(settings=settings), str)
    step("dashboard", lambda: build_dashboard_data(settings=settings),
         lambda rows: ", ".join(f"{DASHBOARD_SCHEMA}.{n} {r:,} rows" for n, r in rows.items()))
    return report


# --- GCP, by configuration ------------------------------------------------------------------------------------------

def plan(settings: Settings | None = None) -> pd.DataFrame:
    """Where each step reads and writes with these settings (local or GCP), without running anything."""
    from .lake import DEFAULT_BUCKET

    settings = settings or get_settings()
    lake = (settings.lake_url or f"gs://{settings.gcs_bucket or DEFAULT_BUCKET}").rstrip("/")
    if _local(settings):
        where = warehouse_path(settings)
        with contextlib.suppress(ValueError):  # inside the checkout: the shorter, relative path
            where = where.relative_to(project_root())
        rows = [
            ("lake", f"{lake} ({'GCS emulator' if lake.startswith('gs://') else 'folder'})",
             "{type}/year=YYYY/month=MM/*.parquet"),
            ("warehouse", f"DuckDB {where}", f"{RAW_SCHEMA}.{{type}}_tripdata, sorted by pickup time and "
                                             f"{', '.join(CLUSTER_COLUMNS)}"),
            ("dbt", f"target duckdb ({where})", f"--selector {DBT_SELECTOR} --full-refresh -> {MODELS_SCHEMA}"),
            ("dashboard", f"DuckDB {where}", f"{DASHBOARD_SCHEMA}.daily_trips, {DASHBOARD_SCHEMA}.zone_revenue"),
        ]
    else:
        bq = f"{settings.gcp_project}.{settings.bq_dataset}"
        rows = [
            ("lake", f"{lake} (GCS, project {settings.gcp_project})", "{type}/year=YYYY/month=MM/*.parquet"),
            ("warehouse", f"BigQuery {bq} ({settings.gcp_region})",
             f"{{type}}_tripdata, partitioned by DAY(pickup time), clustered by {', '.join(CLUSTER_COLUMNS)}"),
            ("dbt", "target prod (BigQuery, dbt-bigquery)", f"--selector {DBT_SELECTOR} -> dataset of DBT_BQ_DATASET"),
            ("dashboard", "BigQuery, dbt's prod dataset", "daily_trips, zone_revenue (Streamlit or Looker Studio)"),
        ]
    return pd.DataFrame(rows, columns=["step", "where", "what"])


def check_gcp(settings: Settings | None = None, environ: dict[str, str] | None = None) -> dict:
    """Validate the GCP configuration of every step without connecting: the settings name a project and a bucket,
    dbt's ``prod`` output renders with the environment's ``DBT_BQ_*`` variables, and dbt-bigquery is installed.
    Returns the rendered dbt output; raises :class:`ProjectError` naming the first thing to fix."""
    import importlib.util
    import os

    from . import dbt

    settings = settings or get_settings()
    if settings.backend != "gcp":
        raise ProjectError("backend is 'local': set backend = 'gcp' (with [gcp] project and [gcs] bucket) first")
    environ = dict(os.environ if environ is None else environ)
    missing = [name for name in ("DBT_BQ_PROJECT", "DBT_BQ_KEYFILE") if not environ.get(name)]
    if missing:
        raise ProjectError(f"dbt's prod target needs {' and '.join(missing)} in the environment "
                           "(the GCP project and the service account's key file)")
    try:
        output = dbt.check_prod_profile(environ=environ)
    except dbt.DbtError as exc:
        raise ProjectError(str(exc)) from None
    if output["project"] != settings.gcp_project:
        raise ProjectError(f"DBT_BQ_PROJECT ({output['project']}) is not the course's gcp_project "
                           f"({settings.gcp_project}): dbt would read another project's tables")
    if importlib.util.find_spec("dbt.adapters.bigquery") is None:
        raise ProjectError("dbt's prod target needs the BigQuery adapter: pip install dbt-bigquery")
    return output


# --- the dashboard's data -------------------------------------------------------------------------------------------

MONTH = re.compile(r"^\d{4}-\d{2}$")


class DashboardData:
    """The dashboard's queries, in one place: the Streamlit app shows what these return, and its tests compare them
    with an independent computation. Reads the tables of :func:`build_dashboard_data` (read-only)."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        if not _local(self.settings):
            raise ProjectError("the dashboard reads BigQuery with backend = 'gcp': not available offline")

    def query(self, sql: str) -> pd.DataFrame:
        return _query_local(sql, self.settings)

    @staticmethod
    def _where(months: Iterable[str], services: Iterable[str]) -> str:
        months, services = list(months), list(services)
        for month in months:
            if not MONTH.match(month):
                raise ProjectError(f"{month!r} is not a month like 2021-01")
        for service in services:
            if service not in SERVICES.values():
                raise ProjectError(f"unknown service {service!r}; choose from {', '.join(SERVICES.values())}")
        if not months or not services:
            return "WHERE false"
        # Validated above: safe to write into the SQL (the same text then runs on DuckDB and BigQuery).
        return (f"WHERE month IN ({', '.join(repr(m) for m in months)}) "
                f"AND service_type IN ({', '.join(repr(s) for s in services)})")

    def months(self) -> list[str]:
        return self.query(f"SELECT DISTINCT month FROM {DASHBOARD_SCHEMA}.daily_trips ORDER BY month")[
            "month"].tolist()

    def totals(self, months: Iterable[str], services: Iterable[str]) -> dict[str, float]:
        """Trips, revenue and revenue per trip for the selection."""
        row = self.query(f"SELECT coalesce(sum(trips), 0) AS trips, coalesce(sum(revenue), 0) AS revenue "
                         f"FROM {DASHBOARD_SCHEMA}.daily_trips {self._where(months, services)}").iloc[0]
        trips, revenue = int(row["trips"]), float(row["revenue"])
        return {"trips": trips, "revenue": round(revenue, 2), "per_trip": round(revenue / trips, 2) if trips else 0.0}

    def daily(self, months: Iterable[str], services: Iterable[str]) -> pd.DataFrame:
        """Trips and revenue per day and service: the temporal tile."""
        frame = self.query(f"SELECT pickup_date, service_type, trips, round(revenue, 2) AS revenue "
                           f"FROM {DASHBOARD_SCHEMA}.daily_trips {self._where(months, services)} "
                           f"ORDER BY pickup_date, service_type")
        frame["pickup_date"] = pd.to_datetime(frame["pickup_date"])
        return frame.astype({"trips": "int64"})

    def revenue_share(self, months: Iterable[str], services: Iterable[str], by: str = "borough") -> pd.DataFrame:
        """Revenue per borough (or zone) and its share of the selection's revenue: the categorical tile."""
        if by not in ("borough", "zone"):
            raise ProjectError(f"revenue share by borough or zone, not {by!r}")
        frame = self.query(f"SELECT {by}, sum(trips) AS trips, round(sum(revenue), 2) AS revenue "
                           f"FROM {DASHBOARD_SCHEMA}.zone_revenue {self._where(months, services)} "
                           f"GROUP BY {by} ORDER BY revenue DESC, {by}")
        total = frame["revenue"].sum()
        frame["share"] = (frame["revenue"] / total).round(4) if total else 0.0
        return frame.astype({"trips": "int64"})


def dashboard(port: int = 8501, *, address: str = "127.0.0.1", app: Path = APP) -> int:
    """Serve the Streamlit dashboard on ``address:port`` until Ctrl-C; returns streamlit's exit code."""
    if not app.is_file():
        raise ProjectError(f"no dashboard app at {app}")
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
               "--server.address", address, "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "viewer"]
    return subprocess.call(command, cwd=project_root())



def check(path: Path | str):
    """Score a project folder against the rubric's checkable parts: :func:`zoomcamp.rubric.check`."""
    from .rubric import check as check_folder

    return check_folder(path)


__all__ = ["APP", "KINDS", "SERVICES", "DashboardData", "Loaded", "ProjectError", "RunReport", "Step",
           "build_dashboard_data", "check", "check_gcp", "dashboard", "ingest_lake", "load_warehouse", "plan", "run",
           "transform", "warehouse_months", "warehouse_path"]
