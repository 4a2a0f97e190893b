"""dbt in production, with Airflow as the scheduler: every night, check the sources, build, and publish the docs.

    source_freshness -> build -> docs_generate -> publish_docs

- ``source_freshness`` runs ``dbt source freshness``: stale raw data stops the run (no dashboard silently showing
  last month). A catch-up run of an interval long past skips the check: its data is old by definition.
- ``build`` runs ``dbt build --selector nightly`` (seeds, models, snapshots, tests, in order; a failing test fails
  the task). ``docs_generate`` runs ``dbt docs generate --static``, and ``publish_docs`` puts the resulting single
  page at ``<home>/dbt/docs/index.html``: the data catalog, servable by any web server or bucket.
- Any failed task calls ``orchestration.alert_on_failure`` (``<home>/airflow/alerts.jsonl`` and the log; a team
  would post to Slack or e-mail there).
- The target is a parameter: ``dev`` (the course's PostgreSQL) by default, ``prod`` (BigQuery) in the cloud.

Run it: ``zoomcamp airflow test dbt_production --date 2021-01-02``. Taught in week 4's notebook 06.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

TARGET = "{{ params.target }}"


def _alert(context):
    from zoomcamp import orchestration

    orchestration.alert_on_failure(context)


@dag(
    dag_id="dbt_production",
    description="dbt source freshness -> dbt build -> dbt docs generate -> the published data catalog, nightly",
    schedule="0 4 * * *",  # 04:00 UTC, after the night's loads
    start_date=datetime(2021, 1, 1),
    catchup=False,
    max_active_runs=1,  # one dbt at a time on the project's target/ folder
    params={"target": "dev"},
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5), "on_failure_callback": _alert},
    tags=["week_4", "dbt"],
)
def dbt_production():
    @task
    def source_freshness(target: str, logical_date=None) -> str:
        from datetime import UTC, datetime, timedelta

        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from zoomcamp import dbt

        if logical_date and logical_date < datetime.now(UTC) - timedelta(days=2):
            raise AirflowSkipException(f"catch-up run for {logical_date:%Y-%m-%d}: freshness not checked")
        checked = dbt.run("source", "freshness", target=target)
        if not checked.success:  # stale data does not get fresher on a retry: fail now
            raise AirflowFailException(f"stale sources: {', '.join(checked.failed())}")
        return str(checked)

    @task(trigger_rule="none_failed")  # runs after a skipped check, not after a failed one
    def build(target: str) -> str:
        from zoomcamp import dbt

        built = dbt.run("build", "--selector", "nightly", target=target)
        if not built.success:
            raise RuntimeError(f"dbt build failed: {', '.join(built.failed())}")
        return str(built)

    @task
    def docs_generate(target: str, built: str) -> str:
        from zoomcamp import dbt

        return str(dbt.run("docs", "generate", "--static", target=target))

    @task
    def publish_docs(generated: str) -> str:
        from zoomcamp import dbt

        return str(dbt.publish_docs())

    checked, built = source_freshness(TARGET), build(TARGET)
    checked >> built  # an order, not data: a skipped check passes nothing on
    publish_docs(docs_generate(TARGET, built))


dbt_production()
