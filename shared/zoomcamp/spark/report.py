"""Week 4's monthly zone revenue in Spark SQL, where the revenue job writes it, and its load into the warehouse."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..datasets import Month
from ..datasets.schemas import DROPOFF_COLUMN, PICKUP_COLUMN, SERVICE_TYPES, raw_table
from ..settings import Settings, get_settings, project_root
from .runtime import SparkError

if TYPE_CHECKING:  # pyspark is imported when a function needs it: `import zoomcamp.spark` stays cheap
    from pyspark.sql import DataFrame

REVENUE_JOB = project_root() / "week_5_batch" / "jobs" / "revenue_report.py"
WAREHOUSE_TABLE = "reports.monthly_zone_revenue"


def _staged(kind: str, service: str) -> str:
    """One service's trips as week 4's staging model makes them: one per (vendor, pickup time), known vendors."""
    pickup, dropoff = PICKUP_COLUMN[kind], DROPOFF_COLUMN[kind]
    ehail = "ehail_fee" if kind == "green" else "CAST(0 AS DOUBLE)"  # yellow has none: 0, as stg_yellow_tripdata
    return f"""
    SELECT '{service}' AS service_type, PULocationID AS pickup_locationid, DOLocationID AS dropoff_locationid,
           {pickup} AS pickup_datetime,
           -- SQL engines round a double cast to an integer; Spark truncates: round first, as dbt's warehouses do
           CAST(round(passenger_count) AS INT) AS passenger_count,
           trip_distance, fare_amount, extra, mta_tax, tip_amount, tolls_amount, {ehail} AS ehail_fee,
           improvement_surcharge, total_amount
    FROM (
        SELECT *, row_number() OVER (
            PARTITION BY VendorID, {pickup}
            ORDER BY {dropoff} NULLS LAST, total_amount NULLS LAST, trip_distance NULLS LAST) AS rn
        FROM {raw_table(kind)}
        WHERE VendorID IS NOT NULL
    ) numbered
    WHERE rn = 1"""


REVENUE_SQL = f"""
WITH trips AS ({_staged("green", SERVICE_TYPES["green"])}
    UNION ALL{_staged("yellow", SERVICE_TYPES["yellow"])}
),
known_zones AS (
    SELECT LocationID, Zone FROM zones WHERE Borough != 'Unknown'
)
SELECT
    trips.pickup_locationid AS revenue_locationid,
    pickup_zone.Zone AS revenue_zone,
    trunc(CAST(trips.pickup_datetime AS DATE), 'MM') AS revenue_month,
    trips.service_type,
    sum(fare_amount) AS revenue_monthly_fare,
    sum(extra) AS revenue_monthly_extra,
    sum(mta_tax) AS revenue_monthly_mta_tax,
    sum(tip_amount) AS revenue_monthly_tip_amount,
    sum(tolls_amount) AS revenue_monthly_tolls_amount,
    sum(ehail_fee) AS revenue_monthly_ehail_fee,
    sum(improvement_surcharge) AS revenue_monthly_improvement_surcharge,
    sum(total_amount) AS revenue_monthly_total_amount,
    count(*) AS total_monthly_trips,
    avg(passenger_count) AS avg_monthly_passenger_count,
    avg(trip_distance) AS avg_monthly_trip_distance
FROM trips
JOIN known_zones AS pickup_zone ON trips.pickup_locationid = pickup_zone.LocationID
JOIN known_zones AS dropoff_zone ON trips.dropoff_locationid = dropoff_zone.LocationID
GROUP BY 1, 2, 3, 4
"""
REPORT_COLUMNS = ["revenue_locationid", "revenue_zone", "revenue_month", "service_type", "revenue_monthly_fare",
                  "revenue_monthly_extra", "revenue_monthly_mta_tax", "revenue_monthly_tip_amount",
                  "revenue_monthly_tolls_amount", "revenue_monthly_ehail_fee", "revenue_monthly_improvement_surcharge",
                  "revenue_monthly_total_amount", "total_monthly_trips", "avg_monthly_passenger_count",
                  "avg_monthly_trip_distance"]


def revenue_report(green: DataFrame, yellow: DataFrame, zones: DataFrame, *,
                   month: Month | str | None = None) -> DataFrame:
    """Week 4's ``dm_monthly_zone_revenue`` in Spark SQL: revenue, trips and averages per pickup zone, month and
    service, from green and yellow trips (deduplicated, both zones known) — the same rows as the dbt model on the
    same data. With ``month``, only that month's rows (trips whose pickup falls in it).

    The frames are registered as the temporary views ``green_tripdata``, ``yellow_tripdata`` and ``zones`` of their
    session, which :data:`REVENUE_SQL` reads."""
    spark = green.sparkSession
    green.createOrReplaceTempView(raw_table("green"))
    yellow.createOrReplaceTempView(raw_table("yellow"))
    zones.createOrReplaceTempView("zones")
    report = spark.sql(REVENUE_SQL)
    if month is not None:
        from pyspark.sql import functions as F

        start = Month.of(month).start
        report = report.where(F.col("revenue_month") == F.lit(start))  # pushed below the aggregation by Catalyst
    return report


def report_path(month: Month | str, settings: Settings | None = None) -> Path:
    """Where the revenue job writes a month's report (parquet files; replaced by each run)."""
    settings = settings or get_settings()
    return settings.home / "spark" / "reports" / "monthly_zone_revenue" / f"month={month}"


# --- the warehouse --------------------------------------------------------------------------------------------------

_WAREHOUSE_TYPES = {"revenue_locationid": "BIGINT", "revenue_zone": "TEXT", "revenue_month": "DATE",
                    "service_type": "TEXT", "total_monthly_trips": "BIGINT"}


def to_warehouse(report: pd.DataFrame | str | Path, month: Month | str, *, table: str = WAREHOUSE_TABLE,
                 settings: Settings | None = None) -> int:
    """Load one month of the revenue report (a DataFrame, or the parquet folder the job wrote) into the course's
    warehouse, replacing that month's rows in one transaction: a re-run or a retry leaves the same rows, a failure
    leaves the old ones. Returns the month's rows.

    The warehouse is the local PostgreSQL for now; this is the one place to change for BigQuery (a load job with
    ``WRITE_TRUNCATE`` on the month's partition does the same)."""
    import psycopg2
    from psycopg2.extras import execute_values

    from ..stack.postgres import Postgres

    settings = settings or get_settings()
    month = Month.of(month)
    frame = report if isinstance(report, pd.DataFrame) else pd.read_parquet(report)
    missing = [c for c in REPORT_COLUMNS if c not in frame.columns]
    if missing:
        raise SparkError(f"the report has no column {', '.join(missing)}: is it the revenue report?")
    frame = frame[REPORT_COLUMNS]
    months = set(pd.to_datetime(frame["revenue_month"]).dt.strftime("%Y-%m"))
    if months - {str(month)}:
        raise SparkError(f"the report for {month} holds rows of {', '.join(sorted(months - {str(month)}))}: "
                         "run the job with --month")
    server = Postgres(settings)
    if not server.status().running:
        raise SparkError("the warehouse (local PostgreSQL) is not running: start it with `zoomcamp stack up`")
    schema, name = table.split(".") if "." in table else ("public", table)
    ddl = ", ".join(f"{c} {_WAREHOUSE_TYPES.get(c, 'DOUBLE PRECISION')}" for c in REPORT_COLUMNS)
    rows = [tuple(None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in record)
            for record in frame.itertuples(index=False)]
    with contextlib.closing(psycopg2.connect(server.url())) as conn, conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {schema}.{name} ({ddl})")
        cur.execute(f"DELETE FROM {schema}.{name} WHERE revenue_month = %s", (month.start,))
        if rows:
            execute_values(cur, f"INSERT INTO {schema}.{name} ({', '.join(REPORT_COLUMNS)}) VALUES %s", rows)
    return len(rows)
