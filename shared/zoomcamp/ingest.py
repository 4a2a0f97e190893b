"""Load TLC files into PostgreSQL: typed by the TLC schema, streamed in chunks, with COPY.

``replace`` loads into a staging table and swaps it in at the end, in one transaction: a failed
load leaves the previous table as it was. ``append`` adds rows to the existing table (created if
missing). Week 1 builds its ``zoomcamp ingest postgres`` command on this module.
"""

from __future__ import annotations

import io
from pathlib import Path

import psycopg2
from psycopg2 import sql

from .datasets.reading import header_names, kind_of, read_csv
from .datasets.schemas import columns, postgres_ddl
from .errors import CourseError
from .settings import Settings, get_settings
from .stack.postgres import Postgres

MODES = ("replace", "append")


class IngestError(CourseError, ValueError):
    pass


def csv_to_postgres(path: str | Path, table: str, *, kind: str | None = None, mode: str = "replace",
                    chunk_rows: int = 100_000, progress: bool = True,
                    settings: Settings | None = None) -> int:
    """Load a TLC CSV(.gz) into ``table``; returns the number of rows loaded."""
    from tqdm.auto import tqdm

    path = Path(path)
    if mode not in MODES:
        raise IngestError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    kind = kind or kind_of(path)
    names = [c.name for c in columns(kind, fmt="csv")]
    header_names(path, kind)  # a wrong file fails here, before the database is touched
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
                chunks = read_csv(path, kind, chunksize=chunk_rows)
                while True:
                    try:
                        chunk = next(chunks)
                    except StopIteration:
                        break
                    except ValueError as exc:  # a value that does not fit its column's type
                        raise IngestError(
                            f"{path.name}: a value does not fit the {kind} schema after row {loaded:,} ({exc}); "
                            f"nothing was loaded, {table} is as it was"
                        ) from None
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
