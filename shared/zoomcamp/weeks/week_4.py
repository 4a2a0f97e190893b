"""Week 4, analytics engineering: the dbt project's models on its dev (PostgreSQL) and duckdb targets."""

from __future__ import annotations

from ..homework import NotLoaded, Question
from ..settings import Settings


def reset(settings: Settings) -> list[str]:
    """Both targets' schemas and raw tables, and dbt's files in the project folder."""
    from .. import dbt

    removed = []
    for target in ("dev", "duckdb"):
        dbt.reset(target, settings=settings)
        removed.append(f"dbt target {target}: schemas and raw tables")
    dbt.clean()
    removed.append("dbt target/, logs/, dbt_packages/")
    # The dbt_production DAG's published docs and its alerts (notebook 06).
    from ..course import remove_folders
    from ..orchestration import alerts_file

    removed += remove_folders(dbt.docs_site(settings).parent)
    if alerts_file(settings).exists():
        alerts_file(settings).unlink()
        removed.append(str(alerts_file(settings)))
    return removed


# --- homework: the dbt models on the dev target -----------------------------------------------------------------------

def _dbt(sql: str, s: Settings):
    from sqlalchemy.exc import ProgrammingError

    from .. import dbt

    try:
        return dbt.query(sql.format(schema=dbt.SCHEMA), "dev", settings=s)
    except ProgrammingError:
        raise NotLoaded("the dbt models are not built on the dev target: run week 4's notebooks (or "
                        "`zoomcamp dbt load-raw --target dev`, then `zoomcamp dbt run --target dev build`)") from None


def _fact_trips(s: Settings) -> int:
    return int(_dbt("SELECT count(*) AS n FROM {schema}.fact_trips", s).loc[0, "n"])


def _top_service_revenue(s: Settings) -> str:
    return _dbt("SELECT service_type, sum(revenue_monthly_total_amount) AS r FROM {schema}.dm_monthly_zone_revenue "
                "GROUP BY 1 ORDER BY r DESC LIMIT 1", s).loc[0, "service_type"]


def _manhattan_zones(s: Settings) -> int:
    return int(_dbt("SELECT count(*) AS n FROM {schema}.dim_zones WHERE borough = 'Manhattan'", s).loc[0, "n"])


QUESTIONS = [
    Question("q1", "int", _fact_trips),
    Question("q2", "text", _top_service_revenue),
    Question("q3", "int", _manhattan_zones),
]
