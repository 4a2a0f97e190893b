"""Connections to the course's PostgreSQL: the one place that knows its host, port and password.

>>> from zoomcamp import db
>>> db.query("SELECT count(*) AS trips FROM yellow_taxi_trips")
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
import sqlalchemy as sa

from .settings import Settings, get_settings
from .stack import StackError
from .stack.postgres import Postgres


def url(settings: Settings | None = None, *, driver: str = "postgresql+psycopg2") -> str:
    """The SQLAlchemy URL of the running server (a clear error if the stack is not up)."""
    server = Postgres(settings or get_settings())
    status = server.status()
    if not status.running:
        raise StackError(f"PostgreSQL is not running ({status.message}): start it with `zoomcamp stack up`")
    return server.url().replace("postgresql://", f"{driver}://", 1)


@lru_cache(maxsize=4)
def _engine(dsn: str) -> sa.Engine:
    return sa.create_engine(dsn, pool_pre_ping=True)


def engine(settings: Settings | None = None) -> sa.Engine:
    return _engine(url(settings))


def query(sql: str, params: dict | None = None, settings: Settings | None = None) -> pd.DataFrame:
    """Run a SELECT and return the rows as a DataFrame (``params`` bound as ``:name``)."""
    with engine(settings).connect() as conn:
        return pd.read_sql_query(sa.text(sql), conn, params=params)


def execute(sql: str, params: dict | None = None, settings: Settings | None = None) -> None:
    """Run a statement that changes something (DDL, INSERT, ...) in its own transaction."""
    with engine(settings).begin() as conn:
        conn.execute(sa.text(sql), params or {})
