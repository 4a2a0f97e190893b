"""A TLC file as a stream of Arrow blocks with the schema's names and types: memory stays bounded whatever
the file size. Shared by every loader (PostgreSQL, the data lake).

- :func:`typed_csv_blocks` is the fast path for a clean CSV: Arrow's multithreaded parser with the schema's types;
  the first malformed row raises ``pyarrow.ArrowInvalid``.
- :func:`checked_csv_blocks` checks line by line: malformed lines (wrong number of fields, a value not of its
  column's type, an impossible date) are picked out with their line number and reason; the good rows come as text.
- :func:`parquet_blocks` casts record batches to the schema (the TLC's types vary a little from year to year).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .reading import BadFile
from .schemas import ARROW_TYPES, arrow_schema, columns

BLOCK_BYTES = 8 << 20  # CSV text per block; with Arrow's overhead a block stays well under 100 MB
PARQUET_BATCH_ROWS = 200_000

# What a valid CSV value of each type looks like (empty means missing, and is always valid).
_PATTERNS = {
    "int64": r"^[-+]?\d+$",
    "float64": r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$",
}
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass
class Block:
    table: pa.Table  # the good rows, as text (CSV) or typed (parquet)
    bad: list[tuple[int, str, str]]  # (line, reason, raw line)
    position: int  # bytes of the file read so far


def typed_csv_blocks(path: Path, kind: str, names: list[str]) -> Iterator[Block]:
    """The fast path for a clean file: Arrow's own multithreaded CSV parser with the schema's types. The
    first row that does not fit raises ``pyarrow.ArrowInvalid``, and the caller starts over with
    :func:`checked_csv_blocks`, which checks line by line."""
    types = {c.name: ARROW_TYPES[c.type] for c in columns(kind, fmt="csv")}
    raw = pa.OSFile(str(path))
    stream = pa.CompressedInputStream(raw, "gzip") if path.suffix == ".gz" else raw
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "error"),
        # Only an empty field is missing: the zone lookup's "NA" and "N/A" are values.
        convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True),
    )
    for batch in reader:
        yield Block(pa.Table.from_batches([batch]), [], raw.tell())


def checked_csv_blocks(path: Path, kind: str, names: list[str]) -> Iterator[Block]:
    """Each block of lines split into the schema's columns, with the malformed lines picked out."""
    types = {c.name: c.type for c in columns(kind, fmt="csv")}
    raw = pa.OSFile(str(path))
    stream = pa.CompressedInputStream(raw, "gzip") if path.suffix == ".gz" else raw
    # One text column per line (a delimiter that never occurs, no quoting): the lines' numbers stay exact.
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(column_names=["line"], skip_rows=1, block_size=BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(delimiter="\x01", quote_char=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types={"line": pa.string()}, strings_can_be_null=False,
                                             quoted_strings_can_be_null=False),
    )
    next_line = 2  # line 1 is the header
    for batch in reader:
        lines = batch.column(0)
        numbers = pa.array(range(next_line, next_line + len(lines)), pa.int64())
        next_line += len(lines)
        blank = pc.equal(lines, "")  # skipped, but counted: line numbers stay right
        fields = pc.split_pattern(lines, ",")
        counts = pc.list_value_length(fields)
        fits = pc.and_(pc.equal(counts, len(names)), pc.invert(blank))
        bad = [(numbers[i].as_py(), f"expected {len(names)} fields, found {counts[i].as_py()}", lines[i].as_py())
               for i in pc.indices_nonzero(pc.invert(pc.or_(fits, blank))).to_pylist()]
        fields, numbers, lines = fields.filter(fits), numbers.filter(fits), lines.filter(fits)

        cols, invalid = {}, pa.array([False] * len(fields))
        reasons: dict[str, pa.Array] = {}
        for i, name in enumerate(names):
            value = pc.list_element(fields, i)
            if pc.any(pc.starts_with(value, '"')).as_py():
                value = pc.replace_substring_regex(value, r'^"(.*)"$', r"\1")
            value = pc.if_else(pc.equal(value, ""), pa.scalar(None, pa.string()), value)
            kind_of_value = types[name]
            if kind_of_value in _PATTERNS:
                wrong = pc.invert(pc.match_substring_regex(value, _PATTERNS[kind_of_value]))
            elif kind_of_value == "timestamp":
                parsed = pc.strptime(value, format=TIMESTAMP_FORMAT, unit="us", error_is_null=True)
                # Arrow rolls 2021-02-30 over to March: a date that does not print back the same is impossible.
                printed = pc.strftime(pc.cast(parsed, pa.timestamp("s")), format=TIMESTAMP_FORMAT)
                same = pc.equal(printed, value)
                wrong = pc.and_(pc.is_valid(value), pc.invert(pc.fill_null(same, False)))
            else:
                wrong = None
            if wrong is not None:
                wrong = pc.fill_null(wrong, False)
                if pc.any(wrong).as_py():
                    reasons[name] = wrong
                    invalid = pc.or_(invalid, wrong)
            cols[name] = value
        if reasons:
            for index in pc.indices_nonzero(invalid).to_pylist():
                why = "; ".join(f"{name}: not a {types[name]}: {cols[name][index].as_py()!r}"
                                for name, wrong in reasons.items() if wrong[index].as_py())
                bad.append((numbers[index].as_py(), why, lines[index].as_py()))
            keep = pc.invert(invalid)
            cols = {name: value.filter(keep) for name, value in cols.items()}
        bad.sort()
        yield Block(pa.table(cols), bad, raw.tell())


def parquet_blocks(path: Path, kind: str) -> Iterator[Block]:
    """Record batches cast to the schema (the TLC's types vary a little from year to year)."""
    target = arrow_schema(kind)
    file = pq.ParquetFile(path)
    by_lower = {name.lower(): name for name in file.schema_arrow.names}
    missing = [f.name for f in target if f.name.lower() not in by_lower]
    if missing:
        raise BadFile(f"{path.name}: the columns do not match the {kind} schema; missing: {', '.join(missing)}")
    wanted = [by_lower[f.name.lower()] for f in target]
    done = 0
    for batch in file.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
        table = pa.Table.from_batches([batch]).rename_columns(target.names).cast(target, safe=False)
        done += table.nbytes
        yield Block(table, [], done)


# --- CSV(.gz) or parquet -> one parquet file with the full schema ------------------------------------------

ROW_GROUP_ROWS = 250_000  # rows per parquet row group: big enough for fast scans, small enough for bounded memory


@dataclass
class Converted:
    rows: int
    bad_rows: int  # malformed CSV lines set aside (see ``to_parquet``'s ``bad_rows_to``)
    source_bytes: int


def typed_table(table: pa.Table, kind: str) -> pa.Table:
    """A block (typed, or text from :func:`checked_csv_blocks`) as the schema's full table: every column in the
    schema's order and type, the parquet-only ones (yellow's ``airport_fee`` in a CSV) as nulls."""
    columns_ = []
    for field in arrow_schema(kind):
        if field.name not in table.column_names:
            columns_.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        if column.type != field.type:
            if pa.types.is_timestamp(field.type) and pa.types.is_string(column.type):
                column = pc.strptime(column, format=TIMESTAMP_FORMAT, unit="us")
            column = column.cast(field.type)
        columns_.append(column)
    return pa.Table.from_arrays(columns_, schema=arrow_schema(kind))


def to_parquet(source: Path, target: Path, kind: str, *, names: list[str] | None = None,
               bad_rows_to: Path | None = None, progress: bool = False) -> Converted:
    """Stream ``source`` (a TLC CSV, CSV.gz or parquet) into the parquet file ``target`` with the schema's types.

    Memory stays bounded: blocks are read, typed and written one row group at a time. A clean CSV takes Arrow's
    fast path; on the first malformed row the file is read again line by line and the malformed lines are written
    to ``bad_rows_to`` (CSV: line, reason, raw) — or, without it, refused with :class:`BadFile`. ``target`` is
    written in place: callers that publish it write to a temporary name first."""
    from tqdm.auto import tqdm

    from .reading import header_names

    is_parquet = source.suffix == ".parquet"
    if not is_parquet and names is None:
        names = header_names(source, kind)  # a wrong header fails here, before anything is written

    def attempt(blocks: Iterator[Block]) -> Converted:
        rows, bad, pending = 0, [], []
        total = source.stat().st_size if not is_parquet else None
        with pq.ParquetWriter(target, arrow_schema(kind)) as writer, tqdm(
                total=total, desc=f"{source.name} -> parquet", unit="B", unit_scale=True, disable=not progress,
                leave=False) as bar:
            seen = 0
            for block in blocks:
                if block.bad and bad_rows_to is None:
                    line, reason, _ = block.bad[0]
                    raise BadFile(f"{source.name}: line {line}: {reason} ({len(block.bad)} malformed lines in "
                                  "this block); nothing was written")
                bad.extend(block.bad)
                pending.append(typed_table(block.table, kind))
                rows += block.table.num_rows
                if sum(t.num_rows for t in pending) >= ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
                    pending = []
                if total:
                    bar.update(block.position - seen)
                    seen = block.position
            if pending:
                writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
        if bad_rows_to is not None and bad:
            bad_table = pa.table({"line": [b[0] for b in bad], "reason": [b[1] for b in bad],
                                  "raw": [b[2] for b in bad]})
            pacsv.write_csv(bad_table, bad_rows_to)
        return Converted(rows, len(bad), source.stat().st_size)

    try:
        if is_parquet:
            return attempt(parquet_blocks(source, kind))
        try:
            return attempt(typed_csv_blocks(source, kind, names))
        except pa.ArrowInvalid:  # a malformed row somewhere: start over, checking line by line
            return attempt(checked_csv_blocks(source, kind, names))
    except BaseException:
        target.unlink(missing_ok=True)  # no half-written file left behind
        raise
