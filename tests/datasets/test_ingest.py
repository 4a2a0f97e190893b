"""Loading TLC CSV files into the session's PostgreSQL: counts, types, idempotence, and files that don't fit."""

from __future__ import annotations

import gzip

import pytest

from zoomcamp import datasets, db, ingest
from zoomcamp.datasets.schemas import POSTGRES_TYPES, columns
from zoomcamp.ingest import IngestError, to_postgres

pytestmark = pytest.mark.stack  # starts, or needs, the local services


@pytest.fixture(scope="module")
def yellow():
    return datasets.trip_file("yellow", "2021-01")


def count(table: str) -> int:
    return int(db.query(f'SELECT count(*) AS n FROM "{table}"').loc[0, "n"])


def test_load_matches_the_file_and_the_schema(yellow):
    frame = datasets.read_csv(yellow)
    assert to_postgres(yellow, "t_yellow", progress=False).rows == len(frame) == count("t_yellow")
    types = db.query("SELECT column_name, data_type FROM information_schema.columns "
                     "WHERE table_name = 't_yellow' ORDER BY ordinal_position")
    expected = {"BIGINT": "bigint", "DOUBLE PRECISION": "double precision", "TEXT": "text",
                "TIMESTAMP": "timestamp without time zone"}
    assert types.values.tolist() == [[c.name, expected[POSTGRES_TYPES[c.type]]] for c in columns("yellow", fmt="csv")]
    sums = db.query('SELECT sum(total_amount) AS total, count("RatecodeID") AS rated FROM t_yellow').iloc[0]
    assert sums["total"] == pytest.approx(frame["total_amount"].sum())
    assert sums["rated"] == frame["RatecodeID"].notna().sum()  # empty fields arrived as NULL


def test_replace_is_idempotent_and_append_skips_a_file_already_loaded(yellow, tmp_path):
    n = to_postgres(yellow, "t_twice", progress=False).rows
    to_postgres(yellow, "t_twice", progress=False)
    assert count("t_twice") == n
    again = to_postgres(yellow, "t_twice", mode="append", progress=False)
    assert again.skipped and count("t_twice") == n
    other = datasets.trip_file("yellow", "2021-02")  # another month appends
    assert to_postgres(other, "t_twice", mode="append", progress=False).rows == n
    assert count("t_twice") == 2 * n
    loads = db.query("SELECT file_name, mode FROM zoomcamp_loads WHERE table_name = 't_twice' ORDER BY loaded_at")
    assert loads.values.tolist() == [[yellow.name, "replace"], [other.name, "append"]]


def test_parquet_loads_the_same_rows_as_csv(yellow):
    parquet = datasets.trip_file("yellow", "2021-01", fmt="parquet")
    to_postgres(yellow, "t_from_csv", progress=False)
    assert to_postgres(parquet, "t_from_parquet", progress=False).rows == count("t_from_csv")
    query = ('SELECT count(*) AS n, sum(total_amount) AS total, count("RatecodeID") AS rated, '
             "min(tpep_pickup_datetime) AS first FROM {}")
    assert db.query(query.format("t_from_csv")).equals(db.query(query.format("t_from_parquet")))
    assert "airport_fee" in db.query("SELECT * FROM t_from_parquet LIMIT 0").columns


def test_lower_case_zone_header_and_real_na_values(tmp_path):
    zones = datasets.zones_file()
    lines = zones.read_text().splitlines()
    copy = tmp_path / "zones_lower.csv"
    copy.write_text("\n".join(['"locationid","borough","zone","service_zone"', *lines[1:]]))
    assert to_postgres(copy, "t_zones", kind="zones", progress=False).rows == 265
    row = db.query('SELECT "Zone", service_zone FROM t_zones WHERE "LocationID" = 265').iloc[0]
    assert (row["Zone"], row["service_zone"]) == ("NA", "N/A")  # text, not NULL


def test_a_header_that_does_not_fit_changes_nothing(yellow):
    to_postgres(yellow, "t_keep", progress=False)
    before = count("t_keep")
    with pytest.raises(datasets.BadFile, match="does not match the yellow schema; missing: VendorID.*unexpected: "):
        to_postgres(datasets.zones_file(), "t_keep", kind="yellow", progress=False)
    assert count("t_keep") == before


def test_malformed_rows_are_quarantined_with_line_numbers(yellow, tmp_path):
    lines = gzip.decompress(yellow.read_bytes()).decode().splitlines()
    broken = tmp_path / "yellow_tripdata_2021-01.csv"

    def with_field(line: str, index: int, value: str) -> str:
        fields = line.split(",")
        fields[index] = value
        return ",".join(fields)

    lines[10] = with_field(lines[10], 0, "not-a-vendor")  # line 11 of the file
    lines[20] = ",".join(lines[20].split(",")[:5])  # line 21: too few fields
    lines[30] = with_field(lines[30], 1, "2021-02-30 10:00:00")  # line 31: no such date
    lines[40] = with_field(lines[40], 16, "12,5")  # line 41: a comma in a number
    broken.write_text("\n".join(lines) + "\n\n")  # and a blank line at the end
    result = to_postgres(broken, "t_dirty", progress=False)
    assert (result.rows, result.quarantined) == (len(lines) - 1 - 4, 4)
    assert count("t_dirty") == result.rows
    q = db.query("SELECT line, reason, raw FROM t_dirty_quarantine ORDER BY line")
    assert q["line"].tolist() == [11, 21, 31, 41]
    assert "VendorID: not a int64: 'not-a-vendor'" in q.loc[0, "reason"]
    assert q.loc[1, "reason"] == "expected 18 fields, found 5"
    assert "tpep_pickup_datetime: not a timestamp" in q.loc[2, "reason"]
    assert q.loc[3, "reason"] == "expected 18 fields, found 19"
    assert q.loc[0, "raw"] == lines[10]
    # Replacing the table replaces its quarantine too: nothing counted twice.
    to_postgres(broken, "t_dirty", progress=False)
    assert len(db.query("SELECT * FROM t_dirty_quarantine")) == 4


def test_a_load_refused_by_postgres_leaves_the_table_as_it_was(yellow, monkeypatch):
    to_postgres(yellow, "t_atomic", progress=False)
    before = count("t_atomic")
    real_copy = ingest._copy

    def copy_then_fail(cur, *args):  # PostgreSQL refuses something after the rows went in
        real_copy(cur, *args)
        cur.execute("SELECT 1 / 0")

    monkeypatch.setattr(ingest, "_copy", copy_then_fail)
    with pytest.raises(IngestError, match="PostgreSQL refused the load.*t_atomic is as it was"):
        to_postgres(yellow, "t_atomic", progress=False)
    assert count("t_atomic") == before
    assert db.query("SELECT to_regclass('t_atomic__loading') IS NULL AS gone").loc[0, "gone"]


# --- one bad value sets one row aside, whatever the rest of the file holds ---------------------------------

def _small_yellow(yellow, tmp_path, rows: int = 40) -> tuple[list[bytes], callable]:
    """The first ``rows`` lines of the sample (bytes), and a writer of a copy with some lines changed."""
    lines = gzip.decompress(yellow.read_bytes()).split(b"\n")[:rows + 1]

    def write(changes: dict[int, bytes], name: str = "yellow_tripdata_2021-01.csv"):
        out = list(lines)
        for index, line in changes.items():
            out[index] = line
        path = tmp_path / name
        path.write_bytes(b"\n".join(out) + b"\n")
        return path

    return lines, write


def _field(line: bytes, index: int, value: bytes) -> bytes:
    fields = line.split(b",")
    fields[index] = value
    return b",".join(fields)


BAD_VALUES = {  # (column index, value, what the quarantine says)
    "bigint overflow": (0, b"99999999999999999999", "VendorID: out of the range of a 64-bit integer"),
    "NUL byte": (6, b"N\x00", "holds a NUL character"),
    "invalid UTF-8": (6, b"N\xff", "not UTF-8 text (byte 0xff"),
    "1e999": (10, b"1e999", "fare_amount: too large for a double (infinite)"),
    "NaN": (10, b"NaN", "fare_amount: not a float64"),
    "inf": (10, b"-inf", "fare_amount: not a float64"),
    "fractional seconds": (1, b"2021-01-01 00:15:56.5", "tpep_pickup_datetime: not a timestamp"),
    "date only": (1, b"2021-01-01", "tpep_pickup_datetime: not a timestamp"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
@pytest.mark.parametrize("elsewhere", ["clean", "another bad row"])
def test_one_bad_value_is_quarantined_whatever_the_other_rows(yellow, tmp_path, case, elsewhere):
    lines, write = _small_yellow(yellow, tmp_path)
    index, value, reason = BAD_VALUES[case]
    changes = {5: _field(lines[5], index, value)}  # line 6 of the file
    if elsewhere == "another bad row":
        changes[30] = b"1,2,3"  # line 31: too few fields, which sends the load down the line-by-line path
    path = write(changes)
    result = to_postgres(path, "t_one_bad", progress=False)
    bad = len(changes)
    assert (result.rows, result.quarantined) == (len(lines) - 1 - bad, bad)
    assert count("t_one_bad") == result.rows
    q = db.query("SELECT line, reason, raw FROM t_one_bad_quarantine ORDER BY line")
    assert q["line"].tolist() == sorted(i + 1 for i in changes)
    assert reason in q.loc[0, "reason"], q.loc[0, "reason"]
    assert "\x00" not in q.loc[0, "raw"]


def test_a_bare_cr_does_not_shift_the_line_numbers(yellow, tmp_path):
    lines, write = _small_yellow(yellow, tmp_path)
    # Line 3 holds two rows separated by a bare CR (Arrow's reader and editors split there); line 11 is broken.
    path = write({2: lines[2] + b"\r" + lines[3], 10: b"1,2,3"})
    result = to_postgres(path, "t_cr", progress=False)
    assert (result.rows, result.quarantined) == (len(lines) - 1, 1)  # one row more on line 3, one less on 11
    assert db.query("SELECT line FROM t_cr_quarantine")["line"].tolist() == [11]


def test_a_truncated_gzip_file_is_one_clear_error(yellow, tmp_path):
    cut = tmp_path / yellow.name
    cut.write_bytes(yellow.read_bytes()[: yellow.stat().st_size // 2])
    with pytest.raises(datasets.BadFile, match="cannot be read to its end.*download it again"):
        to_postgres(cut, "t_cut", progress=False)


# --- loads at the same time --------------------------------------------------------------------------------

@pytest.mark.parametrize("table_exists", [False, True])
def test_two_appends_of_one_file_at_once_load_it_once(yellow, table_exists):
    """Two `zoomcamp ingest postgres --append` of the same file at the same moment: before, both loaded (every row
    twice), or, into a new table, one failed with PostgreSQL's pg_type_typname_nsp_index error."""
    import threading

    table = f"t_race_{int(table_exists)}"
    db.execute(f"DROP TABLE IF EXISTS {table}; DROP TABLE IF EXISTS {table}_quarantine")
    if _has_loads():
        db.execute("DELETE FROM zoomcamp_loads WHERE table_name = :t", {"t": table})
    n = len(datasets.read_csv(yellow))
    if table_exists:
        to_postgres(datasets.trip_file("yellow", "2021-02"), table, mode="append", progress=False)
    start, results, errors = threading.Barrier(2), [], []

    def load():
        start.wait()
        try:
            results.append(to_postgres(yellow, table, mode="append", progress=False))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.skipped for r in results) == [False, True]
    assert count(table) == n * (2 if table_exists else 1)


def _has_loads() -> bool:
    return bool(db.query("SELECT to_regclass('zoomcamp_loads') IS NOT NULL AS present").loc[0, "present"])


def test_unknown_file_names_and_missing_files(tmp_path):
    (tmp_path / "trips.csv").write_text("a,b\n1,2\n")
    with pytest.raises(datasets.BadFile, match="cannot tell the taxi type.*give it with --kind"):
        to_postgres(tmp_path / "trips.csv", "t_x", progress=False)
    with pytest.raises(datasets.BadFile, match="no such file"):
        to_postgres(tmp_path / "yellow_tripdata_2021-01.csv", "t_x", progress=False)


def test_a_renamed_trip_file_is_told_by_its_columns(yellow, tmp_path):
    renamed = tmp_path / "my_trips.csv.gz"
    renamed.write_bytes(yellow.read_bytes())
    assert datasets.kind_of(renamed) == "yellow"
    parquet = tmp_path / "trips.parquet"
    parquet.write_bytes(datasets.trip_file("green", "2021-01", fmt="parquet").read_bytes())
    assert datasets.kind_of(parquet) == "green"
