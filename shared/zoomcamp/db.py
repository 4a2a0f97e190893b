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


def public_tables(settings: Settings | None = None) -> list[str]:
    """The tables in the ``public`` schema, sorted (where students load theirs: weeks 1 and 6)."""
    return query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                 settings=settings)["tablename"].tolist()


def clear(tables: list[str] | tuple[str, ...] = (), schemas: list[str] | tuple[str, ...] = (),
          settings: Settings | None = None) -> list[str]:
    """Drop those of ``tables`` (in ``public``) and ``schemas`` that exist, with what depends on them; says what
    went (``table x``, ``schema y``). A week's reset names what its notebooks made."""
    present_tables = set(public_tables(settings))
    present_schemas = set(query("SELECT nspname FROM pg_namespace", settings=settings)["nspname"])
    removed = []
    for table in (t for t in tables if t in present_tables):
        execute(f'DROP TABLE IF EXISTS "{table}" CASCADE', settings=settings)
        removed.append(f"table {table}")
    for schema in (s for s in schemas if s in present_schemas):
        execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', settings=settings)
        removed.append(f"schema {schema}")
    return removed
