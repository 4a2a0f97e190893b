"""Week 7, the project: the reference project's home (its warehouse and dbt files; its lake months are week 2's)."""

from __future__ import annotations

from datetime import date

from ..homework import NotLoaded, Question
from ..settings import Settings

# Notebook 02's pipeline built by hand: its own warehouse file and dbt target (inside the project's home).
SCRATCH = {"by_hand": "project/by-hand"}


def reset(settings: Settings) -> list[str]:
    """The reference project's own home (``<home>/project``)."""
    from .. import course, project

    return course.remove_folders(project.dbt_settings(settings).home)


# --- homework: the reference project's dashboard ----------------------------------------------------------------------

def _dashboard(s: Settings):
    from google.api_core.exceptions import NotFound

    from .. import project

    data = project.DashboardData(s)
    try:
        months = data.months()
    except (project.ProjectError, NotFound):  # no warehouse or no dashboard tables yet (DuckDB; BigQuery)
        months = []
    if "2021-01" not in months:
        raise NotLoaded("the dashboard has no 2021-01: run week 7's notebook 02 "
                        "(or `zoomcamp project run --months 2021-01`)")
    return data


def _january_trips(s: Settings) -> int:
    return _dashboard(s).totals(["2021-01"], ["Green", "Yellow"])["trips"]


def _busiest_yellow_day(s: Settings) -> date:
    daily = _dashboard(s).daily(["2021-01"], ["Yellow"])
    return daily.sort_values(["trips", "pickup_date"], ascending=[False, True]).iloc[0]["pickup_date"].date()


def _top_borough(s: Settings) -> str:
    return _dashboard(s).revenue_share(["2021-01"], ["Green", "Yellow"]).iloc[0]["borough"]


QUESTIONS = [
    Question("q1", "int", _january_trips),
    Question("q2", "date", _busiest_yellow_day),
    Question("q3", "text", _top_borough),
]
