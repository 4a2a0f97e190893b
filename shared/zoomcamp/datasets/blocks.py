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
_TIMESTAMP_SHAPE = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"


@dataclass
class Block:
    table: pa.Table  # the good rows, as text (CSV) or typed (parquet)
    bad: list[tuple[int, str, str]]  # (line, reason, raw line)
    position: int  # bytes of the file read so far


class _Fallback(pa.ArrowInvalid):
    """A value the fast path read but the line-by-line check would set aside: start over with the check, so a
    value's fate never depends on the other rows of the file."""


def typed_csv_blocks(path: Path, kind: str, names: list[str]) -> Iterator[Block]:
    """The fast path for a clean file: Arrow's own multithreaded CSV parser with the schema's types. The
    first row that does not fit raises ``pyarrow.ArrowInvalid``, and the caller starts over with
    :func:`checked_csv_blocks`, which checks line by line.

    Every value the fast path accepts, the check accepts too: timestamps are read as text and checked the same way
    (``YYYY-MM-DD HH:MM:SS``, a real date, no fractions of a second), and a NUL character, ``NaN``, ``inf`` or a
    number too large for a double (``1e999``) sends the file to the check, which sets that row aside."""
    schema_types = {c.name: c.type for c in columns(kind, fmt="csv")}
    types = {name: pa.string() if t == "timestamp" else ARROW_TYPES[t] for name, t in schema_types.items()}
    raw = pa.OSFile(str(path))
    stream = pa.CompressedInputStream(raw, "gzip") if path.suffix == ".gz" else raw
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "error"),
            # Only an empty field is missing: the zone lookup's "NA" and "N/A" are values.
            convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True),
        )
        batches = iter(reader)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            table = pa.Table.from_batches([batch])
            for i, name in enumerate(table.column_names):
                column, expected = table.column(i), schema_types[name]
                if expected == "string" and pc.any(pc.match_substring(column, "\x00")).as_py():
                    raise _Fallback(f"{name}: a NUL character")
                if expected == "float64" and pc.any(pc.invert(pc.fill_null(pc.is_finite(column), True))).as_py():
                    raise _Fallback(f"{name}: NaN or infinite")
                if expected == "timestamp":
                    # The exact shape, then Arrow's ISO-8601 cast, which refuses impossible dates (2021-02-30): the
                    # same verdict as _wrong_timestamps, ten times faster.
                    shaped = pc.match_substring_regex(column, _TIMESTAMP_SHAPE)
                    if not pc.all(shaped).as_py():
                        raise _Fallback(f"{name}: not a timestamp")
                    table = table.set_column(i, name, pc.cast(column, pa.timestamp("us")))  # ArrowInvalid if not
            yield Block(table, [], raw.tell())
    except OSError as exc:  # gzip data that stops half-way, or is not gzip at all
        raise BadFile(f"{path.name}: the file cannot be read to its end ({exc}); download it again") from None


def _wrong_timestamps(value: pa.ChunkedArray | pa.Array) -> pa.Array:
    """True where a (non-missing) text is not a timestamp the course loads: exactly ``YYYY-MM-DD HH:MM:SS`` and a
    real date (Arrow's strptime rolls 2021-02-30 over to March: a date that does not print back the same is
    impossible). Fractions of a second are refused: the TLC's files have none."""
    parsed = pc.strptime(value, format=TIMESTAMP_FORMAT, unit="us", error_is_null=True)
    printed = pc.strftime(pc.cast(parsed, pa.timestamp("s")), format=TIMESTAMP_FORMAT)
    same = pc.equal(printed, value)
    return pc.fill_null(pc.and_(pc.is_valid(value), pc.invert(pc.fill_null(same, False))), False)


_INT64_MAX = str(2**63 - 1)
_INT64_MIN = str(2**63)  # without its sign


def _int64_overflow(value: pa.Array) -> pa.Array:
    """True where an integer's text (already checked against the pattern) does not fit a 64-bit integer (BIGINT)."""
    digits = pc.replace_substring_regex(value, r"^[-+]?0*", "")
    negative = pc.starts_with(value, "-")
    lengths = pc.utf8_length(digits)
    limit = pc.if_else(negative, pa.scalar(_INT64_MIN), pa.scalar(_INT64_MAX))
    too_long = pc.greater(lengths, 19)
    too_big = pc.and_(pc.equal(lengths, 19), pc.greater(digits, limit))
    return pc.fill_null(pc.or_(too_long, too_big), False)


def _read_lines(path: Path) -> Iterator[tuple[list[tuple[int, bytes]], int]]:
    """The file after its header, in blocks of about BLOCK_BYTES: (line number, the line's bytes) and the bytes
    of the file read so far. Lines end at ``\n`` (a ``\r`` before it is dropped): a bare ``\r`` inside a line does
    not shift the numbers of the lines after it (Arrow's reader counted it as a line end)."""
    import gzip
    import zlib

    raw = open(path, "rb")
    try:
        stream = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
        try:
            stream.readline()  # the header
            number, rest = 2, b""
            while True:
                chunk = stream.read(BLOCK_BYTES)
                data = rest + chunk
                if chunk:
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        if len(data) > 4 * BLOCK_BYTES:
                            raise BadFile(f"{path.name}: line {number} is longer than {4 * BLOCK_BYTES >> 20} MB; "
                                          "this is not a TLC CSV file")
                        rest = data
                        continue
                    body, rest = data[:cut], data[cut + 1:]
                else:
                    body, rest = data, b""
                    if not body:
                        return
                lines = body.split(b"\n")
                numbered = []
                for line in lines:
                    if line.endswith(b"\r"):
                        line = line[:-1]
                    numbered.append((number, line))
                    number += 1
                yield numbered, raw.tell()
                if not chunk:
                    return
        except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise BadFile(f"{path.name}: the file cannot be read to its end ({exc}); download it again") from None
    finally:
        raw.close()


def _text_lines(numbered: list[tuple[int, bytes]]) -> tuple[list[int], list[str], list[tuple[int, str, str]]]:
    """The lines as text, with their numbers; a line that is not UTF-8 or holds a NUL character is set aside with
    its reason (its raw text with the bad bytes escaped). A bare ``\r`` inside a line separates two rows, as in
    Arrow's reader; both carry the line's number."""
    numbers, texts, bad = [], [], []
    for number, line in numbered:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append((number, f"not UTF-8 text (byte 0x{line[exc.start]:02x} at position {exc.start + 1})",
                        line.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")))
            continue
        if "\x00" in text:
            bad.append((number, "holds a NUL character", text.replace("\x00", "\\x00")))
            continue
        for row in text.split("\r") if "\r" in text else (text,):
            numbers.append(number)
            texts.append(row)
    return numbers, texts, bad


def checked_csv_blocks(path: Path, kind: str, names: list[str]) -> Iterator[Block]:
    """Each block of lines split into the schema's columns, with the malformed lines picked out."""
    types = {c.name: c.type for c in columns(kind, fmt="csv")}
    for numbered, position in _read_lines(path):
        line_numbers, texts, bad = _text_lines(numbered)
        lines = pa.array(texts, pa.string())
        numbers = pa.array(line_numbers, pa.int64())
        blank = pc.equal(lines, "")  # skipped, but counted: line numbers stay right
        fields = pc.split_pattern(lines, ",")
        counts = pc.list_value_length(fields)
        fits = pc.and_(pc.equal(counts, len(names)), pc.invert(blank))
        bad += [(numbers[i].as_py(), f"expected {len(names)} fields, found {counts[i].as_py()}", lines[i].as_py())
                for i in pc.indices_nonzero(pc.invert(pc.or_(fits, blank))).to_pylist()]
        fields, numbers, lines = fields.filter(fits), numbers.filter(fits), lines.filter(fits)

        cols, invalid = {}, pa.array([False] * len(fields))
        reasons: list[tuple[str, pa.Array, str]] = []  # (column, where, why)
        for i, name in enumerate(names):
            value = pc.list_element(fields, i)
            if pc.any(pc.starts_with(value, '"')).as_py():
                value = pc.replace_substring_regex(value, r'^"(.*)"$', r"\1")
            value = pc.if_else(pc.equal(value, ""), pa.scalar(None, pa.string()), value)
            kind_of_value = types[name]
            checks = []
            if kind_of_value in _PATTERNS:
                malformed = pc.fill_null(pc.invert(pc.match_substring_regex(value, _PATTERNS[kind_of_value])), False)
                checks.append((malformed, f"not a {kind_of_value}"))
                well_formed = pc.if_else(malformed, pa.scalar(None, pa.string()), value)
                if kind_of_value == "int64":
                    checks.append((_int64_overflow(well_formed), "out of the range of a 64-bit integer"))
                else:  # 1e999: a double's infinity, which PostgreSQL refuses and no fare is
                    infinite = pc.fill_null(pc.is_inf(pc.cast(well_formed, pa.float64())), False)
                    checks.append((infinite, "too large for a double (infinite)"))
            elif kind_of_value == "timestamp":
                checks.append((_wrong_timestamps(value), "not a timestamp (YYYY-MM-DD HH:MM:SS)"))
            for wrong, why in checks:
                if pc.any(wrong).as_py():
                    reasons.append((name, wrong, why))
                    invalid = pc.or_(invalid, wrong)
            cols[name] = value
        if reasons:
            for index in pc.indices_nonzero(invalid).to_pylist():
                why = "; ".join(f"{name}: {reason}: {cols[name][index].as_py()!r}"
                                for name, wrong, reason in reasons if wrong[index].as_py())
                bad.append((numbers[index].as_py(), why, lines[index].as_py()))
            keep = pc.invert(invalid)
            cols = {name: value.filter(keep) for name, value in cols.items()}
        bad.sort()
        yield Block(pa.table(cols), bad, position)


def parquet_blocks(path: Path, kind: str) -> Iterator[Block]:
    """Record batches cast to the schema (the TLC's types vary a little from year to year)."""
    target = arrow_schema(kind)
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadFile(f"{path.name}: not a readable parquet file ({exc}); download it again") from None
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
    Taught in week_2_ingestion/02_data_lake.ipynb (the student's own CSV -> parquet first).

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
