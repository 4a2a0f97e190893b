"""Loading TLC CSV files into the session's PostgreSQL: counts, types, idempotence, and files that don't fit."""

from __future__ import annotations

import gzip

import pytest

from zoomcamp import datasets, db
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


def test_a_load_refused_by_postgres_leaves_the_table_as_it_was(yellow, tmp_path):
    to_postgres(yellow, "t_atomic", progress=False)
    before = count("t_atomic")
    # An integer too big for BIGINT passes the text check and is refused by PostgreSQL, late in the file.
    lines = gzip.decompress(yellow.read_bytes()).decode().splitlines()
    fields = lines[-1].split(",")
    fields[0] = "99999999999999999999999"
    lines[-1] = ",".join(fields)
    broken = tmp_path / "yellow_tripdata_2021-01.csv"
    broken.write_text("\n".join(lines))
    with pytest.raises(IngestError, match="PostgreSQL refused the load.*t_atomic is as it was"):
        to_postgres(broken, "t_atomic", progress=False)
    assert count("t_atomic") == before
    assert db.query("SELECT to_regclass('t_atomic__loading') IS NULL AS gone").loc[0, "gone"]


def test_unknown_file_names_and_missing_files(tmp_path):
    (tmp_path / "trips.csv").write_text("a,b\n1,2\n")
    with pytest.raises(datasets.BadFile, match="cannot tell the taxi type"):
        to_postgres(tmp_path / "trips.csv", "t_x", progress=False)
    with pytest.raises(datasets.BadFile, match="no such file"):
        to_postgres(tmp_path / "yellow_tripdata_2021-01.csv", "t_x", progress=False)
