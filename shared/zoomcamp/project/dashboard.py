"""Step 4 and what it is for: the dashboard's two tables, the queries the Streamlit app shows, and serving the app."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..settings import Settings, get_settings, project_root
from .config import DASHBOARD_SCHEMA, MODELS_SCHEMA, SERVICES, ProjectError
from .engines import engine_for, month_text
from .loading import warehouse_months

APP = project_root() / "week_7_project" / "dashboard" / "app.py"


def _dashboard_tables(engine, months: list[str]) -> dict[str, str]:
    keep = ", ".join(f"'{m}'" for m in months)
    double = "DOUBLE" if engine.dialect == "duckdb" else "FLOAT64"
    pickup_month = month_text("pickup_datetime", engine.dialect)
    mart_month = month_text("mart.revenue_month", engine.dialect, of="DATE")
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
    the rows per table. Taught in week_7_project/02_reference_project.ipynb."""
    settings = settings or get_settings()
    engine = engine or engine_for(settings)
    months = warehouse_months(settings, engine)
    if not months:
        raise ProjectError("the warehouse is empty: run the lake and warehouse steps first (`zoomcamp project run`)")
    statements = [f"CREATE SCHEMA IF NOT EXISTS {DASHBOARD_SCHEMA}"] if engine.dialect == "duckdb" else []
    for name, sql in _dashboard_tables(engine, months).items():
        statements.append(f"CREATE OR REPLACE TABLE {engine.name(DASHBOARD_SCHEMA, name)} AS {sql}")
    engine.execute(statements)
    return {name: int(engine.query(f"SELECT count(*) AS n FROM {engine.name(DASHBOARD_SCHEMA, name)}")["n"][0])
            for name in ("daily_trips", "zone_revenue")}



# --- the dashboard's data -------------------------------------------------------------------------------------------

MONTH = re.compile(r"^\d{4}-\d{2}$")


class DashboardData:
    """The dashboard's queries, in one place: the Streamlit app shows what these return, and its tests compare them
    with an independent computation. Reads the tables of :func:`build_dashboard_data` (read-only): DuckDB locally,
    BigQuery with ``backend = "gcp"``; the SQL is the same on both.
    Taught in week_7_project/02_reference_project.ipynb."""

    def __init__(self, settings: Settings | None = None, engine=None):
        self.settings = settings or get_settings()
        self.engine = engine or engine_for(self.settings)

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

    @staticmethod
    def selection_note(months: Iterable[str], services: Iterable[str]) -> str | None:
        """What to say instead of charts when the selection is empty (charts of nothing are drawn with axes
        labelled 0.000000 and totals of $0.00); None when there is something to show."""
        if not list(months):
            return "Select a month (or several) in the sidebar to see its trips and revenue."
        if not list(services):
            return "Select a service type (Green, Yellow or both) in the sidebar to see its trips and revenue."
        return None

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
