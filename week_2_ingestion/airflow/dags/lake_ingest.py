"""Week 2's pipeline as an Airflow DAG: each month's taxi trips, from the TLC (or the offline sample) to the lake.

    download_{type} -> to_parquet_{type} -> upload_{type} -> register_{type}      for type in yellow, green

- Monthly schedule from January 2021; ``{{ ds }}`` (the run's logical date, e.g. 2021-03-01) names the month, so
  a backfill of three months is three runs of the same code with three dates.
- Every task is idempotent: the download is cached, the parquet file is rebuilt, the upload replaces exactly the
  month's partition (atomically) and the catalog entry is rewritten. A retry or a re-run never duplicates data.
- The tasks only call the course library (``zoomcamp.lake``): the DAG is the orchestration, not the logic, so the
  same steps run from the CLI (``zoomcamp lake ingest``), a notebook, or here.

Run it: ``zoomcamp airflow test lake_ingest --date 2021-01-01`` (or the UI: ``zoomcamp airflow standalone``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

TYPES = ("yellow", "green")
MONTH = "{{ ds[:7] }}"  # rendered per run: 2021-03-01 -> 2021-03


@dag(
    dag_id="lake_ingest",
    description="TLC trips -> parquet -> data lake (hive partitions), one month per run",
    schedule="@monthly",
    start_date=datetime(2021, 1, 1),
    catchup=False,  # backfill explicitly (dates given), not on first start
    max_active_runs=2,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["week_2", "lake"],
)
def lake_ingest():
    @task
    def download(kind: str, month: str) -> str:
        from zoomcamp.lake import Lake

        return str(Lake().fetch(kind, month))

    @task
    def to_parquet(kind: str, month: str, source: str) -> dict:
        from pathlib import Path

        from zoomcamp.lake import Lake

        parquet, bad = Lake().convert(Path(source), kind, month)
        return {"parquet": str(parquet), "bad_rows": str(bad), "source": Path(source).name}

    @task
    def upload(kind: str, month: str, files: dict) -> dict:
        from pathlib import Path

        from zoomcamp.lake import Lake

        parquet, bad = Path(files["parquet"]), Path(files["bad_rows"])
        try:
            published = Lake().publish(parquet, kind, month, source=files["source"], bad_rows=bad)
        finally:  # the local copies are only a hand-over between tasks
            parquet.unlink(missing_ok=True)
            bad.unlink(missing_ok=True)
        return {"path": published.path, "rows": published.rows, "bad_rows": published.bad_rows}

    @task
    def register(kind: str, published: dict) -> int:
        from zoomcamp.lake import Lake

        return Lake().register(kind)["rows"]

    for kind in TYPES:
        source = download.override(task_id=f"download_{kind}")(kind, MONTH)
        files = to_parquet.override(task_id=f"to_parquet_{kind}")(kind, MONTH, source)
        published = upload.override(task_id=f"upload_{kind}")(kind, MONTH, files)
        register.override(task_id=f"register_{kind}")(kind, published)


lake_ingest()
