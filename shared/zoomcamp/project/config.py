"""What the project's steps share: its names (types, services, schemas, dbt's selector), where its local warehouse
is, and the months and types it accepts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..datasets import Month, parse_months
from ..datasets.schemas import SERVICE_TYPES
from ..errors import CourseError
from ..settings import Settings, get_settings

KINDS = ("green", "yellow")
SERVICES = SERVICE_TYPES  # trip type -> dbt's service_type
MODELS_SCHEMA = "dbt_dev"
DASHBOARD_SCHEMA = "dashboard"
CLUSTER_COLUMNS = ("PULocationID",)  # the dashboard groups by pickup zone
DBT_SELECTOR = "revenue"  # week 4's selector: the monthly mart and everything upstream of it


class ProjectError(CourseError, RuntimeError):
    pass


def dbt_settings(settings: Settings | None = None) -> Settings:
    """The settings the project runs dbt with: the same data, but a home of its own (``<home>/project``), so dbt's
    DuckDB file — the project's local warehouse — is not week 4's (whose notebooks rebuild theirs at will)."""
    settings = settings or get_settings()
    return settings.replace(home=settings.home / "project", data_dir=settings.data_path)


def warehouse_path(settings: Settings | None = None) -> Path:
    """The local warehouse: the DuckDB file of dbt's ``duckdb`` target, under the project's home."""
    from .. import dbt

    return dbt.duckdb_path(dbt_settings(settings))


def check_months(months) -> list[Month]:
    """The months a step was given (any form :func:`~zoomcamp.datasets.parse_months` takes); at least one."""
    months = parse_months(months)
    if not months:
        raise ProjectError("give at least one month, e.g. 2021-01")
    return months


def check_kinds(kinds: Iterable[str]) -> list[str]:
    kinds = list(kinds)
    for kind in kinds:
        if kind not in SERVICES:
            raise ProjectError(f"the project reads green and yellow trips, not {kind!r}")
    return kinds


def is_local(settings: Settings) -> bool:
    return settings.backend == "local"
