"""Week 5's batch pipeline as an Airflow DAG: each month's trips to the lake, the Spark revenue job, the warehouse.

    to_lake_green  ─┐
                    ├─> revenue_report (spark-submit) ─> load_warehouse
    to_lake_yellow ─┘

- ``to_lake_*``: the month's green and yellow trips as parquet in the lake folder Spark reads (week 2's ``Lake`` code;
  ``zoomcamp.spark.local_lake`` says why a folder on this machine).
- ``revenue_report``: ``spark-submit`` of ``week_5_batch/jobs/revenue_report.py`` on ``settings.spark_master``
  (``local[*]``, or a standalone cluster), reading only the month's partitions and writing the month's report as
  parquet (replaced by each run). On GCP the same step is ``DataprocSubmitJobOperator`` (see notebook 08).
- ``load_warehouse``: the report into the warehouse (the local PostgreSQL, ``reports.monthly_zone_revenue``),
  replacing that month's rows in one transaction.

Monthly from January 2021; ``{{ ds }}`` (the run's logical date) names the month, so a backfill is runs for past
dates. Every task replaces its own output, so retries and re-runs never duplicate rows.

Run it: ``zoomcamp airflow test spark_revenue_report --months 2021-01..2021-02``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

MONTH = "{{ ds[:7] }}"  # rendered per run: 2021-03-01 -> 2021-03


@dag(
    dag_id="spark_revenue_report",
    description="trips -> lake -> Spark revenue report -> warehouse, one month per run",
    schedule="@monthly",
    start_date=datetime(2021, 1, 1),
    catchup=False,  # backfill explicitly (dates given), not on first start
    max_active_runs=1,  # one Spark job at a time on a laptop
    default_args={"owner": "zoomcamp", "retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["week_5", "spark"],
)
def spark_revenue_report():
    @task
    def to_lake(kind: str, month: str) -> int:
        from zoomcamp.spark import local_lake

        (published,) = local_lake().ingest(kind, month, progress=False)  # replaces exactly the month
        return published.rows

    @task
    def revenue_report(month: str, green_rows: int, yellow_rows: int) -> str:
        from zoomcamp import datasets
        from zoomcamp import spark as zspark

        lake, output = zspark.local_lake(), zspark.report_path(month)
        zspark.submit(zspark.REVENUE_JOB, ["--green", lake.uri("green"), "--yellow", lake.uri("yellow"),
                                           "--zones", str(datasets.zones_file()), "--month", month,
                                           "--output", str(output)], name=f"revenue_report_{month}")
        return str(output)

    @task
    def load_warehouse(month: str, report: str) -> int:
        from zoomcamp import spark as zspark

        return zspark.to_warehouse(report, month)

    green = to_lake.override(task_id="to_lake_green")("green", MONTH)
    yellow = to_lake.override(task_id="to_lake_yellow")("yellow", MONTH)
    load_warehouse(MONTH, revenue_report(MONTH, green, yellow))


spark_revenue_report()
