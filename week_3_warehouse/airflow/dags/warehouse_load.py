"""Week 3 on Airflow: load the lake's yellow trips into BigQuery, then run a query job that builds a report table.

    load_yellow -> monthly_revenue

- Monthly, after week 2's ``lake_ingest`` has landed the month's files.
- ``load_yellow`` is a BigQuery load job of every file under ``<lake>/yellow/`` into ``airflow_yellow_tripdata``
  with ``WRITE_TRUNCATE``: a re-run or a retry replaces the table, it never appends twice.
- ``monthly_revenue`` is a query job (``sql/04_dag_monthly_revenue.sql``): ``CREATE OR REPLACE TABLE`` of revenue
  per pickup month, so it is idempotent too.
- The tasks call ``zoomcamp.warehouse`` (Google's own BigQuery client): the same code runs against the local
  emulator and real BigQuery (``backend = "gcp"``). On Google Cloud the Google provider's
  ``GCSToBigQueryOperator`` and ``BigQueryInsertJobOperator`` do the same two jobs.

Run it: ``zoomcamp airflow test warehouse_load --date 2021-03-01``. Taught in week 3's notebook 04.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task


@dag(
    dag_id="warehouse_load",
    description="lake (parquet) -> BigQuery load job -> query job (monthly revenue table)",
    schedule="@monthly",
    start_date=datetime(2021, 1, 1),
    catchup=False,
    max_active_runs=1,  # each run replaces the same tables
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["week_3", "bigquery"],
)
def warehouse_load():
    @task
    def load_yellow() -> int:
        from zoomcamp.warehouse import Warehouse

        wh = Warehouse()
        wh.create_dataset()
        return wh.load_parquet(f"{wh.lake}/yellow/*", "airflow_yellow_tripdata", "yellow").output_rows

    @task
    def monthly_revenue(loaded: int) -> int:
        from zoomcamp.warehouse import Warehouse

        return int(Warehouse().query("04_dag_monthly_revenue")["months"].item())

    monthly_revenue(load_yellow())


warehouse_load()
