"""Loading TLC CSV files into the session's PostgreSQL: counts, types, idempotence, and files that don't fit."""

from __future__ import annotations

import gzip

import pytest

from zoomcamp import datasets, db
from zoomcamp.datasets.schemas import POSTGRES_TYPES, columns
from zoomcamp.ingest import IngestError, csv_to_postgres


@pytest.fixture(scope="module")
def yellow():
    return datasets.trip_file("yellow", "2021-01")


def count(table: str) -> int:
    return int(db.query(f'SELECT count(*) AS n FROM "{table}"').loc[0, "n"])


def test_load_matches_the_file_and_the_schema(yellow):
    frame = datasets.read_csv(yellow)
    assert csv_to_postgres(yellow, "t_yellow", progress=False) == len(frame) == count("t_yellow")
    types = db.query("SELECT column_name, data_type FROM information_schema.columns "
                     "WHERE table_name = 't_yellow' ORDER BY ordinal_position")
    expected = {"BIGINT": "bigint", "DOUBLE PRECISION": "double precision", "TEXT": "text",
                "TIMESTAMP": "timestamp without time zone"}
    assert types.values.tolist() == [[c.name, expected[POSTGRES_TYPES[c.type]]] for c in columns("yellow", fmt="csv")]
    sums = db.query('SELECT sum(total_amount) AS total, count("RatecodeID") AS rated FROM t_yellow').iloc[0]
    assert sums["total"] == pytest.approx(frame["total_amount"].sum())
    assert sums["rated"] == frame["RatecodeID"].notna().sum()  # empty fields arrived as NULL


def test_replace_is_idempotent_and_append_adds(yellow):
    n = csv_to_postgres(yellow, "t_twice", progress=False, chunk_rows=1000)
    csv_to_postgres(yellow, "t_twice", progress=False)
    assert count("t_twice") == n
    csv_to_postgres(yellow, "t_twice", mode="append", progress=False)
    assert count("t_twice") == 2 * n


def test_lower_case_zone_header_and_real_na_values(tmp_path):
    zones = datasets.zones_file()
    lines = zones.read_text().splitlines()
    copy = tmp_path / "zones_lower.csv"
    copy.write_text("\n".join(['"locationid","borough","zone","service_zone"', *lines[1:]]))
    assert csv_to_postgres(copy, "t_zones", kind="zones", progress=False) == 265
    row = db.query('SELECT "Zone", service_zone FROM t_zones WHERE "LocationID" = 265').iloc[0]
    assert (row["Zone"], row["service_zone"]) == ("NA", "N/A")  # text, not NULL


def test_a_file_that_does_not_fit_changes_nothing(yellow, tmp_path):
    csv_to_postgres(yellow, "t_keep", progress=False)
    before = count("t_keep")
    zones = datasets.zones_file()
    with pytest.raises(datasets.BadFile, match="does not match the yellow schema; missing: VendorID"):
        csv_to_postgres(zones, "t_keep", kind="yellow", progress=False)
    # A bad value far into the file: the load fails, and the old table is still there, whole.
    broken = tmp_path / "yellow_tripdata_2021-01.csv.gz"
    lines = gzip.decompress(yellow.read_bytes()).decode().splitlines()
    fields = lines[3000].split(",")
    fields[0] = "not-a-vendor"
    lines[3000] = ",".join(fields)
    broken.write_bytes(gzip.compress("\n".join(lines).encode()))
    with pytest.raises(IngestError, match="after row 2,000.*t_keep is as it was"):
        csv_to_postgres(broken, "t_keep", chunk_rows=1000, progress=False)
    assert count("t_keep") == before
    assert db.query("SELECT to_regclass('t_keep__loading') IS NULL AS gone").loc[0, "gone"]


def test_unknown_file_names_and_missing_files(tmp_path):
    with pytest.raises(datasets.BadFile, match="cannot tell the taxi type"):
        csv_to_postgres(tmp_path / "trips.csv", "t_x", progress=False)
    with pytest.raises(datasets.BadFile, match="no such file"):
        csv_to_postgres(tmp_path / "yellow_tripdata_2021-01.csv", "t_x", progress=False)
