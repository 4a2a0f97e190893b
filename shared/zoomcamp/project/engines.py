"""The project's two engines, one face (``dialect``, ``name``, ``query``, ``execute``): DuckDB (dbt's local
target, the dashboard's tables when local) and BigQuery (the emulator, or GCP with ``backend = "gcp"``)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pandas as pd

from ..datasets.schemas import RAW_SCHEMA
from ..settings import Settings
from .config import DASHBOARD_SCHEMA, MODELS_SCHEMA, ProjectError, is_local, warehouse_path


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


class DuckDB:
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


class BigQuery:
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


def engine_for(settings: Settings):
    return DuckDB(settings) if is_local(settings) else BigQuery(settings)


def month_text(expr: str, dialect: str, of: str = "TIMESTAMP") -> str:
    """``YYYY-MM`` of a timestamp (or date) column, in the engine's SQL."""
    return f"strftime({expr}, '%Y-%m')" if dialect == "duckdb" else f"FORMAT_{of}('%Y-%m', {expr})"
