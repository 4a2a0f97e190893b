"""Load TLC files (CSV, CSV.gz, parquet) into PostgreSQL: streamed, typed, quarantined, idempotent.

- Streaming: the file is read in blocks with Arrow (memory stays bounded whatever the file size) and
  each block goes to PostgreSQL with ``COPY`` — no row-by-row INSERTs, no pandas ``to_sql``.
- Types come from the TLC schema table: the target table is created from it, and every CSV value is
  checked against its column's type before it is sent.
- Malformed rows (wrong number of fields, a value that is not of its column's type, an impossible
  date) go to ``<table>_quarantine`` with their line number, the reason and the raw line; the load goes
  on and reports how many. A header that does not fit the schema is refused before anything is written.
- One transaction per load: ``replace`` fills a staging table and swaps it in at the end, so a failed
  load leaves the table as it was. ``append`` adds rows, and skips a file this table already holds
  (each load is recorded in ``zoomcamp_loads`` with the file's SHA-256). Loads of one table take turns (a
  PostgreSQL advisory lock on its name, held to the commit): two ``--append`` of one file at once load it once.

CSV lines are split on commas; the TLC's files never quote a comma, so a quoted comma counts as a wrong
number of fields (and is quarantined, not silently misread).
"""

from __future__ import annotations

import io
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg2 import sql
from psycopg2.extras import execute_values

from . import db
from .datasets.blocks import Block, checked_csv_blocks, parquet_blocks, typed_csv_blocks
from .datasets.files import sha256
from .datasets.reading import BadFile, header_names, kind_of
from .datasets.schemas import postgres_ddl
from .errors import CourseError
from .settings import Settings

MODES = ("replace", "append")
LOADS_TABLE = "zoomcamp_loads"
# A table name that needs no quoting in SQL and leaves room for "_quarantine" within PostgreSQL's 63 characters.
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,49}")


class IngestError(CourseError, ValueError):
    pass


@dataclass
class LoadResult:
    table: str
    rows: int
    quarantined: int = 0
    skipped: bool = False  # append of a file this table already holds
    seconds: float = 0.0
    megabytes: float = 0.0

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.table} already holds this file: nothing loaded (use --replace to load it again)"
        text = f"{self.rows:,} rows loaded into {self.table}"
        if self.quarantined:
            text += f"; {self.quarantined:,} malformed rows set aside in {self.table}_quarantine"
        return text + f" ({self.seconds:.1f} s)"


def _csv_bytes(table: pa.Table) -> bytes:
    """The block as CSV for COPY: text quoted, missing values as bare empty fields (COPY reads NULL)."""
    # Whole seconds print as "2021-01-01 00:15:56", not "...:56.000000": less text for the server to parse.
    # (A column with fractions of a second keeps them: the safe cast refuses to drop them.)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            try:
                table = table.set_column(i, field.name, pc.cast(table.column(i), pa.timestamp("s")))
            except pa.ArrowInvalid:
                pass
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
    return buffer.getvalue()


def _copy(cur, target: str, columns_: list[str], data: bytes) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(target), sql.SQL(", ").join(map(sql.Identifier, columns_)))
    cur.copy_expert(statement.as_string(cur), io.BytesIO(data))


def _ahead(blocks: Iterator[Block], depth: int = 2) -> Iterator[tuple[Block, bytes]]:
    """Read, check and print the next blocks in a thread while PostgreSQL parses the current one: the
    two run on two cores. At most ``depth`` blocks wait, so memory stays bounded."""
    done, stop = object(), threading.Event()
    waiting: queue.Queue = queue.Queue(depth)

    def put(item) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for block in blocks:
                if not put((block, _csv_bytes(block.table) if block.table.num_rows else b"")):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)

    worker = threading.Thread(target=work, daemon=True, name="ingest-reader")
    worker.start()
    try:
        while (item := waiting.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # the consumer stopped (finished or failed): let the worker go
        worker.join()


def _ensure_bookkeeping(cur) -> None:
    cur.execute(f"""CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (
        table_name TEXT, file_name TEXT, sha256 TEXT, rows BIGINT, quarantined BIGINT, mode TEXT,
        loaded_at TIMESTAMPTZ DEFAULT now())""")


def _ensure_quarantine(cur, table: str) -> None:
    cur.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {} (
        file_name TEXT, line BIGINT, reason TEXT, raw TEXT, loaded_at TIMESTAMPTZ DEFAULT now())""").format(
        sql.Identifier(f"{table}_quarantine")))


def _load_blocks(cur, blocks: Iterator[Block], target: str, path: Path, result: LoadResult, progress: bool) -> None:
    """COPY each block into ``target`` and its malformed rows into the quarantine, with a progress bar."""
    from tqdm.auto import tqdm

    quarantine = sql.Identifier(f"{result.table}_quarantine")
    total = path.stat().st_size if path.suffix != ".parquet" else None
    with tqdm(total=total, desc=f"{path.name} -> {result.table}", unit="B", unit_scale=True, disable=not progress,
              leave=False) as bar:
        seen = 0
        for block, data in _ahead(blocks):
            if data:
                _copy(cur, target, block.table.column_names, data)
            if block.bad:
                insert = sql.SQL("INSERT INTO {} (file_name, line, reason, raw) VALUES %s").format(quarantine)
                execute_values(cur, insert.as_string(cur), [(path.name, n, why, raw) for n, why, raw in block.bad])
            result.rows += block.table.num_rows
            result.quarantined += len(block.bad)
            bar.update(block.position - seen)
            seen = block.position
            bar.set_postfix(rows=f"{result.rows:,}")


def to_postgres(path: str | Path, table: str, *, kind: str | None = None, mode: str = "replace",
                progress: bool = True, dsn: str | None = None, settings: Settings | None = None) -> LoadResult:
    """Load a TLC CSV, CSV.gz or parquet file into ``table`` (see the module's description).

    ``dsn`` (``postgresql://user:password@host:port/db``) targets another server, e.g. the compose
    file's ``pgdatabase``; by default the course's local stack.

    Taught in week_1_basics/02_postgres_ingest.ipynb (the student's own loader first, then this one)."""
    path = Path(path)
    if mode not in MODES:
        raise IngestError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not TABLE_NAME.fullmatch(table):
        raise IngestError(f"--table {table!r}: use letters, digits and _ (at most 50, not starting with a digit), "
                          "e.g. yellow_taxi_trips")
    if path.is_dir():
        raise BadFile(f"{path}: a folder, not a file; give one TLC file, e.g. {path}/yellow_tripdata_2021-01.csv.gz")
    if not path.is_file():
        raise BadFile(f"{path}: no such file")
    is_parquet = path.suffix == ".parquet"
    kind = kind or kind_of(path)
    fmt = "parquet" if is_parquet else "csv"
    names = None if is_parquet else header_names(path, kind)  # a wrong header fails here, before any write
    digest = sha256(path)
    started = time.perf_counter()
    result = LoadResult(table, 0, megabytes=path.stat().st_size / 1e6)

    # No dsn: the stack's server, or one line saying to start it (not psycopg2's "port None").
    conn = psycopg2.connect(dsn or db.url(settings, driver="postgresql"))
    try:
        with conn, conn.cursor() as cur:  # the shared bookkeeping table, made once even by loads running at once
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (LOADS_TABLE,))
            _ensure_bookkeeping(cur)
        with conn, conn.cursor() as cur:  # one transaction: every row, the swap and the record, or nothing
            # One load of a table at a time (until this one commits): a second load of the same file waits and
            # then finds it recorded, and two first loads never both create the table (PostgreSQL's
            # pg_type_typname_nsp_index error). Loads into other tables go on side by side.
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{LOADS_TABLE}:{table}",))
            _ensure_quarantine(cur, table)
            if mode == "append":
                cur.execute(f"SELECT 1 FROM {LOADS_TABLE} WHERE table_name = %s AND sha256 = %s", (table, digest))
                already = cur.fetchone() is not None
                cur.execute("SELECT to_regclass(%s)", (f'"{table}"',))
                if already and cur.fetchone()[0] is not None:
                    result.skipped = True
                    return result
            target = table if mode == "append" else f"{table}__loading"
            if mode == "replace":
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(target)))
                cur.execute(postgres_ddl(kind, target, fmt=fmt))
            else:
                cur.execute("SELECT to_regclass(%s)", (f'"{table}"',))
                if cur.fetchone()[0] is None:
                    cur.execute(postgres_ddl(kind, table, fmt=fmt))
            quarantine = sql.Identifier(f"{table}_quarantine")
            if mode == "replace":
                cur.execute(sql.SQL("DELETE FROM {}").format(quarantine))
                cur.execute(f"DELETE FROM {LOADS_TABLE} WHERE table_name = %s", (table,))
            if is_parquet:
                _load_blocks(cur, parquet_blocks(path, kind), target, path, result, progress)
            else:
                cur.execute("SAVEPOINT clean_read")
                try:
                    _load_blocks(cur, typed_csv_blocks(path, kind, names), target, path, result, progress)
                except pa.ArrowInvalid:  # a malformed row somewhere: start over, checking line by line
                    cur.execute("ROLLBACK TO SAVEPOINT clean_read")
                    result.rows = result.quarantined = 0
                    _load_blocks(cur, checked_csv_blocks(path, kind, names), target, path, result, progress)
            if mode == "replace":
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
                rename = sql.SQL("ALTER TABLE {} RENAME TO {}")
                cur.execute(rename.format(sql.Identifier(target), sql.Identifier(table)))
            cur.execute(f"INSERT INTO {LOADS_TABLE} (table_name, file_name, sha256, rows, quarantined, mode) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        (table, path.name, digest, result.rows, result.quarantined, mode))
    except psycopg2.Error as exc:
        raise IngestError(f"{path.name}: PostgreSQL refused the load ({str(exc).strip().splitlines()[0]}); "
                          f"nothing was loaded, {table} is as it was") from None
    finally:
        conn.close()
    result.seconds = time.perf_counter() - started
    return result
