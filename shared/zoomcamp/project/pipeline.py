"""The project's chain: step 1 (the lake), step 3 (dbt), and :func:`run`, which runs all four steps in order."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from ..settings import Settings, get_settings
from .config import (
    DASHBOARD_SCHEMA,
    DBT_SELECTOR,
    KINDS,
    ProjectError,
    check_kinds,
    check_months,
    dbt_settings,
    is_local,
    warehouse_path,
)
from .dashboard import build_dashboard_data
from .gcp import check_gcp
from .loading import load_warehouse


def ingest_lake(months, kinds: Iterable[str] = KINDS, *, settings: Settings | None = None,
                progress: bool = False) -> list:
    """Step 1: each month of each type into the lake (re-running a month replaces exactly that month).
    Taught in week_7_project/02_reference_project.ipynb (built by hand first)."""
    from ..lake import Lake

    settings = settings or get_settings()
    lake = Lake(settings)
    return [published for kind in check_kinds(kinds) for published in lake.ingest(kind, check_months(months),
                                                                              progress=progress)]


# --- step 3: dbt ----------------------------------------------------------------------------------------------------

def transform(*, settings: Settings | None = None):
    """Step 3: week 4's dbt project on the warehouse — the ``revenue`` selector (staging, facts, the monthly zone mart
    and their tests), fully refreshed: the facts are rebuilt from the raw tables as they now are, so a month that
    was replaced upstream is replaced here too. Locally on DuckDB; with ``backend = "gcp"`` on BigQuery (target
    ``prod``). Returns the :class:`zoomcamp.dbt.DbtRun`. Taught in week_7_project/02_reference_project.ipynb."""
    from .. import dbt

    settings = settings or get_settings()
    if is_local(settings):
        s = dbt_settings(settings)
        result = dbt.run("build", "--selector", DBT_SELECTOR, "--full-refresh", target="duckdb",
                         target_path=s.home / "dbt-target", settings=s)
        where = str(warehouse_path(settings))
    else:
        check_gcp(settings)
        result = dbt.run("build", "--selector", DBT_SELECTOR, "--full-refresh", target="prod", settings=settings)
        where = f"BigQuery {settings.gcp_project}"
    if not result.success:
        raise ProjectError(f"dbt build failed on the project's warehouse ({where}): "
                           f"{', '.join(result.failed()) or 'no failing node reported'}")
    return result



# --- the whole chain ------------------------------------------------------------------------------------------------

@dataclass
class Step:
    name: str
    seconds: float
    detail: str
    result: object = field(default=None, repr=False)  # what the step's function returned


@dataclass
class RunReport:
    months: list[str]
    steps: list[Step] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([(s.name, round(s.seconds, 1), s.detail) for s in self.steps],
                            columns=["step", "seconds", "detail"])

    def __str__(self) -> str:
        lines = [f"{s.name:<10} {s.seconds:6.1f} s  {s.detail}" for s in self.steps]
        return "\n".join([*lines, f"{'total':<10} {self.seconds:6.1f} s  months {', '.join(self.months)}"])


def run(months=("2021-01",), kinds: Iterable[str] = KINDS, *, settings: Settings | None = None,
        progress: bool = False, announce=None) -> RunReport:
    """The whole chain for ``months``: lake -> warehouse -> dbt -> dashboard data. ``announce`` (e.g. ``print``)
    is called with each step's line as it finishes.
    Taught in week_7_project/02_reference_project.ipynb (the chain wired by hand first)."""
    settings = settings or get_settings()
    months, kinds = check_months(months), check_kinds(kinds)
    if not is_local(settings):
        check_gcp(settings)  # one clear error before anything is written
    report = RunReport([str(m) for m in months])

    def step(name: str, work, describe) -> None:
        started = time.perf_counter()
        result = work()
        report.steps.append(Step(name, time.perf_counter() - started, describe(result), result))
        if announce:
            announce(f"{name:<10} {report.steps[-1].seconds:6.1f} s  {report.steps[-1].detail}")

    step("lake", lambda: ingest_lake(months, kinds, settings=settings, progress=progress),
         lambda published: f"{sum(p.rows for p in published):,} rows in {len(published)} partitions")
    step("warehouse", lambda: load_warehouse(months, kinds, settings=settings),
         lambda loaded: ", ".join(sorted({x.table for x in loaded})) + f": {sum(x.rows for x in loaded):,} rows")
    step("dbt", lambda: transform(settings=settings), str)
    step("dashboard", lambda: build_dashboard_data(settings=settings),
         lambda rows: ", ".join(f"{DASHBOARD_SCHEMA}.{n} {r:,} rows" for n, r in rows.items()))
    return report
