"""Step 2, the warehouse: each month of the lake into BigQuery's raw tables and, locally, into dbt's DuckDB copy of
them (see the package's description for why a copy)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass

from .. import datasets
from ..datasets import Month
from ..datasets.schemas import DUCKDB_TYPES, PICKUP_COLUMN, RAW_SCHEMA, raw_table
from ..settings import Settings, get_settings
from .config import CLUSTER_COLUMNS, KINDS, ProjectError, check_kinds, check_months, is_local, warehouse_path
from .engines import BigQuery, connect_duckdb, engine_for


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
    package's description), which must hold the same rows per month. Returns the BigQuery loads.
    Taught in week_7_project/02_reference_project.ipynb."""
    from ..lake import Lake

    settings = settings or get_settings()
    months, kinds = check_months(months), check_kinds(kinds)
    lake = Lake(settings)
    for kind in kinds:  # every month must be whole in the lake before anything is replaced
        for month in months:
            if lake.check([kind], [month])[0].state != "present":
                raise ProjectError(f"the lake has no good copy of {kind} {month}: run the lake step first "
                                   f"(`zoomcamp lake ingest {kind} {month}`)")
    loaded = load_bigquery(months, kinds, lake, settings)
    if is_local(settings):
        copies = {(x.kind, x.month): x.rows for x in load_duckdb(months, kinds, lake, settings)}
        differ = [f"{x.kind} {x.month}: {x.rows:,} in BigQuery, {copies[x.kind, x.month]:,} in DuckDB"
                  for x in loaded if copies[x.kind, x.month] != x.rows]
        if differ:
            raise ProjectError(f"the warehouse and dbt's copy of it differ: {'; '.join(differ)}")
    return loaded


def load_bigquery(months: list[Month], kinds: list[str], lake, settings: Settings) -> list[Loaded]:
    """One table per type, partitioned by pickup day and clustered by pickup zone (as week_7_project/terraform
    declares them); each month deleted, then appended again from its lake file by a load job."""
    from ..warehouse import to_frame

    wh = BigQuery(settings).wh
    wh.create_dataset()
    loaded = []
    for kind in kinds:
        table = raw_table(kind)
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
    wanted = bigquery.Table(wh.table_id(raw_table(kind)), schema=schema)
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



def _raw_ddl(kind: str) -> str:
    columns = [f"{c.name.lower()} {DUCKDB_TYPES[c.type]}" for c in datasets.columns(kind)]
    return ", ".join([*columns, "year INTEGER", "month INTEGER"])


def load_duckdb(months: list[Month], kinds: list[str], lake, settings: Settings) -> list[Loaded]:
    """dbt's copy of the raw tables, each month replaced in one transaction (readers see the old month or the new
    one), rows sorted by pickup time and zone: DuckDB keeps min/max per row group, so filters on them skip groups."""

    path = warehouse_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    loaded = []
    with contextlib.closing(connect_duckdb(path)) as con:
        lake.duckdb(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
        for kind in KINDS:  # both tables always exist (dbt reads both), empty until a month is loaded
            con.execute(f"CREATE TABLE IF NOT EXISTS {raw_table(kind, RAW_SCHEMA)} ({_raw_ddl(kind)})")
        for kind in kinds:
            table, pickup = raw_table(kind, RAW_SCHEMA), PICKUP_COLUMN[kind].lower()
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
    engine = engine or engine_for(settings or get_settings())
    month = "printf('%04d-%02d', year, month)" if engine.dialect == "duckdb" else "FORMAT('%04d-%02d', year, month)"
    union = " UNION ALL ".join(f"SELECT DISTINCT {month} AS month FROM {engine.name(RAW_SCHEMA, raw_table(k))}"
                               for k in KINDS)
    try:
        frame = engine.query(f"SELECT DISTINCT month FROM ({union}) AS months ORDER BY month")
    except ProjectError:
        return []
    return frame["month"].tolist()
