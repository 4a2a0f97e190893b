"""Your pipeline as an Airflow DAG: one run per period, every task safe to re-run.

    extract -> to_lake -> to_warehouse -> transform

Test it locally with ``airflow dags test pipeline 2021-01-01`` (or, inside the course, ``zoomcamp airflow test``
with this folder). Keep imports of heavy libraries inside the tasks: the scheduler parses this file often.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

PERIOD = "{{ ds[:7] }}"  # the run's month, e.g. 2021-03: a backfill is one run per month


@dag(
    dag_id="pipeline",
    description="TODO: what this pipeline moves, from where to where",
    schedule="@monthly",
    start_date=datetime(2021, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["project"],
)
def pipeline():
    @task
    def extract(period: str) -> str:
        """Download the period's source file; return its local path. Skip the download if it is already there."""
        raise NotImplementedError("TODO: download the data for " + period)

    @task
    def to_lake(path: str, period: str) -> str:
        """Convert to parquet and upload to the lake, replacing the period's file; return its URL."""
        raise NotImplementedError("TODO: parquet + upload for " + period)

    @task
    def to_warehouse(url: str, period: str) -> int:
        """Load the period into the partitioned warehouse table, replacing that period only; return the rows."""
        raise NotImplementedError("TODO: load job for " + period)

    @task
    def transform(rows: int) -> None:
        """Run the dbt project (dbt build) so the dashboard's tables are up to date."""
        raise NotImplementedError("TODO: dbt build")

    transform(to_warehouse(to_lake(extract(PERIOD), PERIOD), PERIOD))


pipeline()
