"""Load TLC files into PostgreSQL: typed by the TLC schema, streamed in chunks, with COPY.

``replace`` loads into a staging table and swaps it in at the end, in one transaction: a failed
load leaves the previous table as it was. ``append`` adds rows to the existing table (created if
missing). Week 1 builds its ``zoomcamp ingest postgres`` command on this module.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import psycopg2
from psycopg2 import sql

from .datasets.files import PAYMENT_TYPES_FILE, ZONES_FILE
from .datasets.schemas import columns, pandas_dtypes, postgres_ddl, timestamp_columns
from .errors import CourseError
from .settings import Settings, get_settings
from .stack.postgres import Postgres

MODES = ("replace", "append")
_TRIP_FILE = re.compile(r"^(yellow|green|fhvhv|fhv)_tripdata_\d{4}-\d{2}\.csv(\.gz)?$")


class IngestError(CourseError, ValueError):
    pass


def kind_of(path: Path) -> str:
    """The TLC file kind from its name (``yellow_tripdata_2021-01.csv.gz`` is ``yellow``)."""
    if path.name == ZONES_FILE:
        return "zones"
    if path.name == PAYMENT_TYPES_FILE:
        return "payment_types"
    match = _TRIP_FILE.match(path.name)
    if not match:
        raise IngestError(
            f"{path.name}: cannot tell the taxi type from the file name; name it like the TLC does "
            "(yellow_tripdata_2021-01.csv.gz) or pass kind='yellow'"
        )
    return match[1]


def read_chunks(path: Path, kind: str, chunk_rows: int):
    """The CSV in DataFrames of ``chunk_rows`` rows, with the schema's types (memory stays bounded)."""
    return pd.read_csv(
        path,
        dtype=pandas_dtypes(kind),
        parse_dates=timestamp_columns(kind),
        chunksize=chunk_rows,
    )


def csv_to_postgres(path: str | Path, table: str, *, kind: str | None = None, mode: str = "replace",
                    chunk_rows: int = 100_000, progress: bool = True,
                    settings: Settings | None = None) -> int:
    """Load a TLC CSV(.gz) into ``table``; returns the number of rows loaded."""
    from tqdm.auto import tqdm

    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    if mode not in MODES:
        raise IngestError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    kind = kind or kind_of(path)
    names = [c.name for c in columns(kind, fmt="csv")]
    target = table if mode == "append" else f"{table}__loading"

    conn = psycopg2.connect(Postgres(settings or get_settings()).url())
    loaded = 0
    try:
        with conn, conn.cursor() as cur:  # one transaction: all rows and the swap, or nothing
            if mode == "replace":
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(target)))
                cur.execute(postgres_ddl(kind, target))
            else:
                cur.execute("SELECT to_regclass(%s)", (f'"{table}"',))
                if cur.fetchone()[0] is None:
                    cur.execute(postgres_ddl(kind, table))
            copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
                sql.Identifier(target), sql.SQL(", ").join(map(sql.Identifier, names))
            ).as_string(cur)
            with tqdm(desc=f"{path.name} -> {table}", unit=" rows", disable=not progress, leave=False) as bar:
                for chunk in read_chunks(path, kind, chunk_rows):
                    buffer = io.StringIO()
                    chunk[names].to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S")
                    buffer.seek(0)
                    cur.copy_expert(copy, buffer)
                    loaded += len(chunk)
                    bar.update(len(chunk))
            if mode == "replace":
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
                rename = sql.SQL("ALTER TABLE {} RENAME TO {}")
                cur.execute(rename.format(sql.Identifier(target), sql.Identifier(table)))
    finally:
        conn.close()
    return loaded
