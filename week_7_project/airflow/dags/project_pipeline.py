"""The reference project's pipeline as an Airflow DAG: one month per run, from the source files to the dashboard.

    lake_green ─┐
                ├─> warehouse -> dbt_build -> dashboard_data
    lake_yellow ┘

- Monthly schedule from January 2021; ``{{ ds[:7] }}`` names the month, so a backfill is one run per month.
- Every task is idempotent: the lake and the warehouse replace exactly the run's month, dbt rebuilds the facts and
  the mart from the raw tables (``--full-refresh``), and the dashboard's tables are rebuilt from dbt's models. A
  retry or a re-run never duplicates a trip.
- The tasks only call ``zoomcamp.project``, the same functions as ``zoomcamp project run`` (the DAG is the
  orchestration, not the logic).

Run it: ``zoomcamp airflow test project_pipeline --months 2021-01..2021-02``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

KINDS = ("green", "yellow")
MONTH = "{{ ds[:7] }}"  # rendered per run: 2021-03-01 -> 2021-03


@dag(
    dag_id="project_pipeline",
    description="TLC trips -> lake -> warehouse -> dbt -> dashboard tables, one month per run",
    schedule="@monthly",
    start_date=datetime(2021, 1, 1),
    catchup=False,  # backfill explicitly (dates given), not on first start
    max_active_runs=1,  # the runs share the warehouse file: one at a time
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["week_7", "project"],
)
def project_pipeline():
    @task
    def lake(kind: str, month: str) -> int:
        from zoomcamp import project

        return sum(p.rows for p in project.ingest_lake([month], [kind]))

    @task
    def warehouse(month: str, rows: list[int]) -> int:
        from zoomcamp import project

        return sum(loaded.rows for loaded in project.load_warehouse([month]))

    @task
    def dbt_build(rows: int) -> str:
        from zoomcamp import project

        return str(project.transform())

    @task
    def dashboard_data(built: str) -> dict:
        from zoomcamp import project

        return project.build_dashboard_data()

    landed = [lake.override(task_id=f"lake_{kind}")(kind, MONTH) for kind in KINDS]
    dashboard_data(dbt_build(warehouse(MONTH, landed)))


project_pipeline()
