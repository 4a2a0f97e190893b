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
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import datasets
from ..datasets import Month, parse_months
from ..datasets.schemas import PICKUP_COLUMN
from ..errors import CourseError
from ..settings import Settings, get_settings, project_root

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


def connect_duckdb(path: Path, *, read_only: bool = False):
    """A DuckDB connection to the warehouse file; another process holding it (a notebook's connection, a second
    `zoomcamp project run`) is one line saying so, not DuckDB's traceback."""
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        holder = re.search(r"\(PID (\d+)\)", str(exc))
        raise ProjectError(f"the warehouse {path} is in use by another program"
                           + (f" (PID {holder[1]})" if holder else "")
                           + ": close it (a notebook's DuckDB connection, another `zoomcamp project run`) and run "
                           "this again") from None


# --- where things are -----------------------------------------------------------------------------------------------

def dbt_settings(settings: Settings | None = None) -> Settings:
    """The settings the project runs dbt with: the same data, but a home of its own (``<home>/project``), so dbt's
    DuckDB file — the project's local warehouse — is not week 4's (whose notebooks rebuild theirs at will)."""
    settings = settings or get_settings()
    return settings.replace(home=settings.home / "project", data_dir=settings.data_path)


def warehouse_path(settings: Settings | None = None) -> Path:
    """The local warehouse: the DuckDB file of dbt's ``duckdb`` target, under the project's home."""
    from .. import dbt

    return dbt.duckdb_path(dbt_settings(settings))


def raw_table(kind: str) -> str:
    return f"{RAW_SCHEMA}.{kind}_tripdata"


def _months(months) -> list[Month]:
    months = parse_months(months)
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
    from ..lake import Lake

    settings = settings or get_settings()
    lake = Lake(settings)
    return [published for kind in _kinds(kinds) for published in lake.ingest(kind, _months(months),
                                                                              progress=progress)]


# --- the engines: DuckDB (dbt's local target) and BigQuery (the emulator, or GCP) -----------------------------------

class _DuckDB:
    """The project's DuckDB file: dbt's ``duckdb`` target, the dashboard's tables when local."""

    dialect = "duckdb"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.path = warehouse_path(settings)

    def name(self, schema: str, table: str) -> str:
        return f"{schema}.{table}"

    def query(self, sql: str) -> pd.DataFrame:
        """A read-only connection per query: the dashboard never holds the file that the pipeline writes."""
        import duckdb

        if not self.path.is_file():
            raise ProjectError(f"the project's warehouse ({self.path}) does not exist yet: "
                               "run `zoomcamp project run` first")
        with contextlib.closing(connect_duckdb(self.path, read_only=True)) as con:
            try:
                return con.execute(sql).df()
            except duckdb.CatalogException as exc:
                raise ProjectError(f"the warehouse has no such table yet ({str(exc).splitlines()[0]}): "
                                   "run `zoomcamp project run` first") from None

    def execute(self, statements: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(connect_duckdb(self.path)) as con:
            for statement in statements:
                con.execute(statement)


class _BigQuery:
    """BigQuery through ``zoomcamp.warehouse`` (the emulator, or BigQuery with ``backend = "gcp"``): the raw tables in
    ``settings.bq_dataset``; dbt's models and the dashboard's tables in dbt's prod dataset
    (``settings.dbt_dataset``)."""

    dialect = "bigquery"

    def __init__(self, settings: Settings):
        from ..warehouse import Warehouse

        self.settings = settings
        self.wh = Warehouse(settings)
        self.datasets = {RAW_SCHEMA: settings.bq_dataset, MODELS_SCHEMA: settings.dbt_dataset}
        self.datasets[DASHBOARD_SCHEMA] = self.datasets[MODELS_SCHEMA]

    def name(self, schema: str, table: str) -> str:
        return f"`{self.wh.project}.{self.datasets.get(schema, schema)}.{table}`"

    def query(self, sql: str) -> pd.DataFrame:
        from google.api_core.exceptions import NotFound

        from ..warehouse import to_frame

        try:
            return to_frame(self.wh.execute(sql))
        except NotFound as exc:
            raise ProjectError(f"BigQuery has no such table yet ({exc.message}): run the pipeline first") from None

    def execute(self, statements: list[str]) -> None:
        for statement in statements:
            self.wh.execute(statement)


def _engine(settings: Settings):
    return _DuckDB(settings) if _local(settings) else _BigQuery(settings)


def _month_text(expr: str, dialect: str, of: str = "TIMESTAMP") -> str:
    """``YYYY-MM`` of a timestamp (or date) column, in the engine's SQL."""
    return f"strftime({expr}, '%Y-%m')" if dialect == "duckdb" else f"FORMAT_{of}('%Y-%m', {expr})"


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
    """Step 2: each month of the lake into the warehouse's raw table of its type, replacing that month only:
    BigQuery's partitioned, clustered table (the emulator locally), and, locally, dbt's DuckDB copy of it (see the
    module), which must hold the same rows per month. Returns the BigQuery loads."""
    from ..lake import Lake

    settings = settings or get_settings()
    months, kinds = _months(months), _kinds(kinds)
    lake = Lake(settings)
    for kind in kinds:  # every month must be whole in the lake before anything is replaced
        for month in months:
            if lake.check([kind], [month])[0].state != "present":
                raise ProjectError(f"the lake has no good copy of {kind} {month}: run the lake step first "
                                   f"(`zoomcamp lake ingest {kind} {month}`)")
    loaded = _load_bigquery(months, kinds, lake, settings)
    if _local(settings):
        copies = {(x.kind, x.month): x.rows for x in _load_duckdb(months, kinds, lake, settings)}
        differ = [f"{x.kind} {x.month}: {x.rows:,} in BigQuery, {copies[x.kind, x.month]:,} in DuckDB"
                  for x in loaded if copies[x.kind, x.month] != x.rows]
        if differ:
            raise ProjectError(f"the warehouse and dbt's copy of it differ: {'; '.join(differ)}")
    return loaded


def _load_bigquery(months: list[Month], kinds: list[str], lake, settings: Settings) -> list[Loaded]:
    """One table per type, partitioned by pickup day and clustered by pickup zone (as week_7_project/terraform
    declares them); each month deleted, then appended again from its lake file by a load job."""
    from ..warehouse import to_frame

    wh = _BigQuery(settings).wh
    wh.create_dataset()
    loaded = []
    for kind in kinds:
        table = f"{kind}_tripdata"
        _ensure_partitioned_table(wh, kind, lake.protocol + lake.object_path(kind, months[0]))
        for month in months:
            started = time.perf_counter()
            where = f"year = {month.year} AND month = {month.month}"
            # Two jobs, not one transaction: for the moment between them the month is missing (not doubled).
            wh.execute(f"DELETE FROM `{wh.table_id(table)}` WHERE {where}")
            wh.load_parquet(lake.protocol + lake.object_path(kind, month), table, kind,
                            write_disposition="WRITE_APPEND")
            rows = to_frame(wh.execute(f"SELECT count(*) AS n FROM `{wh.table_id(table)}` WHERE {where}"))["n"][0]
            loaded.append(Loaded(kind, str(month), wh.table_id(table), int(rows), time.perf_counter() - started))
    return loaded


def _ensure_partitioned_table(wh, kind: str, sample_uri: str) -> None:
    """Create the raw table if it is missing, or not the partitioned, clustered one the project loads (week 3's
    notebooks replace a table of the same name with their own)."""
    from google.api_core.exceptions import NotFound
    from google.cloud import bigquery

    from ..warehouse import tlc_schema

    # The lake's year/month folders become columns, in the order a load job adds them (BigQuery's or the emulator's).
    schema = tlc_schema(kind, wh.hive_columns([sample_uri], kind))
    wanted = bigquery.Table(wh.table_id(f"{kind}_tripdata"), schema=schema)
    wanted.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY,
                                                         field=PICKUP_COLUMN[kind])
    wanted.clustering_fields = list(CLUSTER_COLUMNS)
    try:
        found = wh.client.get_table(wanted.reference)
    except NotFound:
        found = None
    if found is not None and (
            [(f.name, f.field_type) for f in found.schema] == [(f.name, f.field_type) for f in wanted.schema]
            and found.time_partitioning is not None and found.time_partitioning.field == PICKUP_COLUMN[kind]
            and list(found.clustering_fields or []) == list(CLUSTER_COLUMNS)):
        return
    wh.client.delete_table(wanted.reference, not_found_ok=True)
    wh.client.create_table(wanted)


def _raw_columns(kind: str) -> str:
    """The lake's columns with lower-case names (as week 4's raw tables: the same SQL runs on every warehouse),
    then the lake's partition keys, which say which month of the lake a row came from."""
    names = [f'"{c.name}" AS {c.name.lower()}' for c in datasets.columns(kind)]
    return ", ".join([*names, "year", "month"])


DUCKDB_TYPES = {"int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR", "timestamp": "TIMESTAMP"}


def _raw_ddl(kind: str) -> str:
    columns = [f"{c.name.lower()} {DUCKDB_TYPES[c.type]}" for c in datasets.columns(kind)]
    return ", ".join([*columns, "year INTEGER", "month INTEGER"])


def _load_duckdb(months: list[Month], kinds: list[str], lake, settings: Settings) -> list[Loaded]:
    """dbt's copy of the raw tables, each month replaced in one transaction (readers see the old month or the new
    one), rows sorted by pickup time and zone: DuckDB keeps min/max per row group, so filters on them skip groups."""

    path = warehouse_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    loaded = []
    with contextlib.closing(connect_duckdb(path)) as con:
        lake.duckdb(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
        for kind in KINDS:  # both tables always exist (dbt reads both), empty until a month is loaded
            con.execute(f"CREATE TABLE IF NOT EXISTS {raw_table(kind)} ({_raw_ddl(kind)})")
        for kind in kinds:
            table, pickup = raw_table(kind), PICKUP_COLUMN[kind].lower()
            for month in months:
                started = time.perf_counter()
                source = (f"read_parquet('{lake.protocol}{lake.object_path(kind, month)}', "
                          "hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER})")
                con.execute("BEGIN TRANSACTION")
                try:
                    con.execute(f"DELETE FROM {table} WHERE year = ? AND month = ?", [month.year, month.month])
                    con.execute(f"INSERT INTO {table} BY NAME SELECT {_raw_columns(kind)} FROM {source} "
                                f"ORDER BY {pickup}, pulocationid")
                    con.execute("COMMIT")
                except Exception:
                    con.execute("ROLLBACK")
                    raise
                rows = con.execute(f"SELECT count(*) FROM {table} WHERE year = ? AND month = ?",
                                   [month.year, month.month]).fetchone()[0]
                loaded.append(Loaded(kind, str(month), str(path), rows, time.perf_counter() - started))
    return loaded


def warehouse_months(settings: Settings | None = None, engine=None) -> list[str]:
    """The months the warehouse holds (of any type), as ``YYYY-MM``; locally, the ones dbt's copy holds."""
    engine = engine or _engine(settings or get_settings())
    month = "printf('%04d-%02d', year, month)" if engine.dialect == "duckdb" else "FORMAT('%04d-%02d', year, month)"
    union = " UNION ALL ".join(f"SELECT DISTINCT {month} AS month FROM {engine.name(RAW_SCHEMA, f'{k}_tripdata')}"
                               for k in KINDS)
    try:
        frame = engine.query(f"SELECT DISTINCT month FROM ({union}) AS months ORDER BY month")
    except ProjectError:
        return []
    return frame["month"].tolist()


# --- step 3: dbt ----------------------------------------------------------------------------------------------------

def transform(*, settings: Settings | None = None):
    """Step 3: week 4's dbt project on the warehouse — the ``revenue`` selector (staging, facts, the monthly zone mart
    and their tests), fully refreshed: the facts are rebuilt from the raw tables as they now are, so a month that
    was replaced upstream is replaced here too. Locally on DuckDB; with ``backend = "gcp"`` on BigQuery (target
    ``prod``). Returns the :class:`zoomcamp.dbt.DbtRun`."""
    from .. import dbt

    settings = settings or get_settings()
    if _local(settings):
        s = dbt_settings(settings)
        result = dbt.run("build", "--selector", DBT_SELECTOR, "--full-refresh", target="duckdb",
                         target_path=s.home / "dbt-target", settings=s)
        where = str(warehouse_path(settings))
    else:
        check_gcp(settings)
        result = dbt.run("build", "--selector", DBT_SELECTOR, "--full-refresh", target="prod", settings=settings)
        where = f"BigQuery {settings.gcp_project}"
    if not result.success:
        raise ProjectError(f"dbt build failed on the project's warehouse ({where}): "
                           f"{', '.join(result.failed()) or 'no failing node reported'}")
    return result


# --- step 4: the dashboard's tables ---------------------------------------------------------------------------------

def _dashboard_tables(engine, months: list[str]) -> dict[str, str]:
    keep = ", ".join(f"'{m}'" for m in months)
    double = "DOUBLE" if engine.dialect == "duckdb" else "FLOAT64"
    pickup_month = _month_text("pickup_datetime", engine.dialect)
    mart_month = _month_text("mart.revenue_month", engine.dialect, of="DATE")
    return {
        # The temporal tile: trips and revenue per day and service.
        "daily_trips": f"""
            SELECT CAST(pickup_datetime AS DATE) AS pickup_date, {pickup_month} AS month,
                   service_type, count(*) AS trips, CAST(sum(total_amount) AS {double}) AS revenue
            FROM {engine.name(MODELS_SCHEMA, 'fact_trips')}
            WHERE {pickup_month} IN ({keep})
            GROUP BY 1, 2, 3""",
        # The categorical tile: revenue per month, service and pickup zone (with its borough), from the mart.
        "zone_revenue": f"""
            SELECT {mart_month} AS month, mart.service_type, zones.borough,
                   mart.revenue_zone AS zone, mart.total_monthly_trips AS trips,
                   CAST(mart.revenue_monthly_total_amount AS {double}) AS revenue
            FROM {engine.name(MODELS_SCHEMA, 'dm_monthly_zone_revenue')} AS mart
            JOIN {engine.name(MODELS_SCHEMA, 'dim_zones')} AS zones ON mart.revenue_locationid = zones.locationid
            WHERE {mart_month} IN ({keep})""",
    }


def build_dashboard_data(*, settings: Settings | None = None, engine=None) -> dict[str, int]:
    """Step 4: (re)build the dashboard's tables ``daily_trips`` and ``zone_revenue`` from dbt's models, for the
    months the warehouse holds (locally in DuckDB's ``dashboard`` schema, on GCP in dbt's prod dataset). Returns
    the rows per table."""
    settings = settings or get_settings()
    engine = engine or _engine(settings)
    months = warehouse_months(settings, engine)
    if not months:
        raise ProjectError("the warehouse is empty: run the lake and warehouse steps first (`zoomcamp project run`)")
    statements = [f"CREATE SCHEMA IF NOT EXISTS {DASHBOARD_SCHEMA}"] if engine.dialect == "duckdb" else []
    for name, sql in _dashboard_tables(engine, months).items():
        statements.append(f"CREATE OR REPLACE TABLE {engine.name(DASHBOARD_SCHEMA, name)} AS {sql}")
    engine.execute(statements)
    return {name: int(engine.query(f"SELECT count(*) AS n FROM {engine.name(DASHBOARD_SCHEMA, name)}")["n"][0])
            for name in ("daily_trips", "zone_revenue")}


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
    from ..lake import DEFAULT_BUCKET

    settings = settings or get_settings()
    lake = (settings.lake_url or f"gs://{settings.gcs_bucket or DEFAULT_BUCKET}").rstrip("/")
    if _local(settings):
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
    fix."""
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


# --- the dashboard's data -------------------------------------------------------------------------------------------

MONTH = re.compile(r"^\d{4}-\d{2}$")


class DashboardData:
    """The dashboard's queries, in one place: the Streamlit app shows what these return, and its tests compare them
    with an independent computation. Reads the tables of :func:`build_dashboard_data` (read-only): DuckDB locally,
    BigQuery with ``backend = "gcp"``; the SQL is the same on both."""

    def __init__(self, settings: Settings | None = None, engine=None):
        self.settings = settings or get_settings()
        self.engine = engine or _engine(self.settings)

    def query(self, sql: str) -> pd.DataFrame:
        return self.engine.query(sql)

    def _table(self, name: str) -> str:
        return self.engine.name(DASHBOARD_SCHEMA, name)

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
        return self.query(f"SELECT DISTINCT month FROM {self._table('daily_trips')} ORDER BY month")["month"].tolist()

    def totals(self, months: Iterable[str], services: Iterable[str]) -> dict[str, float]:
        """Trips, revenue and revenue per trip for the selection."""
        row = self.query(f"SELECT coalesce(sum(trips), 0) AS trips, coalesce(sum(revenue), 0) AS revenue "
                         f"FROM {self._table('daily_trips')} {self._where(months, services)}").iloc[0]
        trips, revenue = int(row["trips"]), float(row["revenue"])
        return {"trips": trips, "revenue": round(revenue, 2), "per_trip": round(revenue / trips, 2) if trips else 0.0}

    def daily(self, months: Iterable[str], services: Iterable[str]) -> pd.DataFrame:
        """Trips and revenue per day and service: the temporal tile."""
        frame = self.query(f"SELECT pickup_date, service_type, trips, round(revenue, 2) AS revenue "
                           f"FROM {self._table('daily_trips')} {self._where(months, services)} "
                           f"ORDER BY pickup_date, service_type")
        frame["pickup_date"] = pd.to_datetime(frame["pickup_date"])
        return frame.astype({"trips": "int64", "revenue": "float64"})

    def revenue_share(self, months: Iterable[str], services: Iterable[str], by: str = "borough") -> pd.DataFrame:
        """Revenue per borough (or zone) and its share of the selection's revenue: the categorical tile."""
        if by not in ("borough", "zone"):
            raise ProjectError(f"revenue share by borough or zone, not {by!r}")
        frame = self.query(f"SELECT {by}, sum(trips) AS trips, round(sum(revenue), 2) AS revenue "
                           f"FROM {self._table('zone_revenue')} {self._where(months, services)} "
                           f"GROUP BY {by} ORDER BY revenue DESC, {by}")
        frame = frame.astype({"trips": "int64", "revenue": "float64"})
        total = frame["revenue"].sum()
        frame["share"] = (frame["revenue"] / total).round(4) if total else 0.0
        return frame


def dashboard(port: int = 8501, *, address: str = "127.0.0.1", app: Path = APP) -> int:
    """Serve the Streamlit dashboard on ``address:port`` until Ctrl-C; returns streamlit's exit code."""
    if not app.is_file():
        raise ProjectError(f"no dashboard app at {app}")
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
               "--server.address", address, "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "viewer"]
    process = subprocess.Popen(command, cwd=project_root())
    # SIGTERM (a process manager, `kill`) stopped this process and left Streamlit on the port: pass it on.
    # (Ctrl-C reaches both already: they share the terminal's process group.)
    forward = signal.getsignal(signal.SIGTERM)
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        signal.signal(signal.SIGTERM, lambda signum, frame: process.send_signal(signum))
    try:
        return process.wait()
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, forward)
        if process.poll() is None:  # an exception here (Ctrl-C): Streamlit goes too
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()



def check(path: Path | str):
    """Score a project folder against the rubric's checkable parts: :func:`zoomcamp.rubric.check`."""
    from ..rubric import check as check_folder

    return check_folder(path)


__all__ = ["APP", "KINDS", "SERVICES", "DashboardData", "Loaded", "ProjectError", "RunReport", "Step",
           "build_dashboard_data", "check", "check_gcp", "dashboard", "ingest_lake", "load_warehouse", "plan", "run",
           "transform", "warehouse_months", "warehouse_path"]
