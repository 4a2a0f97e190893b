"""The sample generator writes files with exactly the TLC schemas, deterministically, with real-looking dirt."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from zoomcamp import datasets
from zoomcamp.datasets import Month, sample
from zoomcamp.datasets.schemas import PICKUP_COLUMN, SCHEMAS, columns, pandas_dtypes, timestamp_columns

MONTH = Month(2021, 1)

# The column counts of the published files: a second, independent statement of the schema table.
CSV_COLUMN_COUNTS = {"yellow": 18, "green": 20, "fhv": 7, "fhvhv": 7}
PARQUET_COLUMN_COUNTS = {"yellow": 19, "green": 20, "fhv": 7, "fhvhv": 24}
# The header of DataTalksClub's fhvhv_tripdata_2021-01.csv.gz (a copy of the TLC's CSV of that month), as DEZ's
# week 5 notebook shows it: the CSV files of every month since 2019-02 have these 7 columns; the parquet files, 24.
FHVHV_CSV_HEADER = ["hvfhs_license_num", "dispatching_base_num", "pickup_datetime", "dropoff_datetime",
                    "PULocationID", "DOLocationID", "SR_Flag"]


@pytest.fixture(scope="module")
def files(tmp_path_factory, settings):
    home = tmp_path_factory.mktemp("sample-home")
    s = settings.replace(home=home)
    paths = datasets.write_sample_trips(datasets.TRIP_TYPES, [MONTH], rows=3000, seed=7, settings=s)
    lookups = datasets.write_sample_lookups(s)
    return s, {p.name: p for p in paths + lookups}


@pytest.mark.parametrize("kind", datasets.TRIP_TYPES)
def test_parquet_schema_matches_the_schema_table(files, kind):
    _, paths = files
    schema = pq.read_schema(paths[f"{kind}_tripdata_2021-01.parquet"])
    assert [(f.name, str(f.type)) for f in schema] == [
        (c.name, str(datasets.arrow_schema(kind).field(c.name).type)) for c in columns(kind)
    ]


@pytest.mark.parametrize("kind", datasets.TRIP_TYPES)
def test_csv_header_and_types_match_the_schema_table(files, kind):
    _, paths = files
    path = paths[f"{kind}_tripdata_2021-01.csv.gz"]
    with gzip.open(path, "rt") as f:
        header = f.readline().strip().split(",")
    assert header == [c.name for c in columns(kind, fmt="csv")]
    assert len(header) == CSV_COLUMN_COUNTS[kind]
    # Reading with the schema's types works for every row (no value out of its type).
    frame = pd.read_csv(path, dtype=pandas_dtypes(kind), parse_dates=timestamp_columns(kind))
    assert len(frame) == 3000
    for name in timestamp_columns(kind):
        assert pd.api.types.is_datetime64_any_dtype(frame[name])


def test_fhvhv_csv_has_the_csv_eras_7_columns_and_parquet_the_24_of_2022(files):
    _, paths = files
    with gzip.open(paths["fhvhv_tripdata_2021-01.csv.gz"], "rt") as f:
        assert f.readline().strip().split(",") == FHVHV_CSV_HEADER
    assert len(pq.read_schema(paths["fhvhv_tripdata_2021-01.parquet"]).names) == PARQUET_COLUMN_COUNTS["fhvhv"]
    assert "SR_Flag" not in pq.read_schema(paths["fhvhv_tripdata_2021-01.parquet"]).names
    # The same trips in both: SR_Flag is 1 where the parquet's shared_request_flag is Y.
    csv = datasets.read_csv(paths["fhvhv_tripdata_2021-01.csv.gz"])
    parquet = pd.read_parquet(paths["fhvhv_tripdata_2021-01.parquet"])
    assert len(csv) == len(parquet) == 3000
    assert (csv["pickup_datetime"] == parquet["pickup_datetime"]).all()
    assert (csv["PULocationID"] == parquet["PULocationID"]).all() and csv["PULocationID"].notna().all()
    assert ((csv["SR_Flag"] == 1) == (parquet["shared_request_flag"] == "Y")).all() and (csv["SR_Flag"] == 1).any()


def test_a_csv_of_the_other_fhvhv_layout_is_refused_in_one_line(files, tmp_path):
    _, paths = files
    wrong = tmp_path / "fhvhv_tripdata_2021-01.csv"
    pd.read_parquet(paths["fhvhv_tripdata_2021-01.parquet"]).to_csv(wrong, index=False)  # parquet written as CSV
    with pytest.raises(datasets.BadFile, match="24-column layout of the fhvhv parquet files") as raised:
        datasets.read_csv(wrong)
    assert "\n" not in str(raised.value) and "SR_Flag" in str(raised.value)


@pytest.mark.parametrize("kind", datasets.TRIP_TYPES)
def test_parquet_column_counts(kind):
    assert len(columns(kind)) == PARQUET_COLUMN_COUNTS[kind]


def test_yellow_csv_has_no_airport_fee_but_parquet_does(files):
    assert [c.name for c in SCHEMAS["yellow"] if not c.in_csv] == ["airport_fee"]
    _, paths = files
    assert "airport_fee" in pq.read_schema(paths["yellow_tripdata_2021-01.parquet"]).names
    with gzip.open(paths["yellow_tripdata_2021-01.csv.gz"], "rt") as f:
        assert "airport_fee" not in f.readline()


def test_green_has_ehail_fee_and_trip_type(files):
    _, paths = files
    names = pq.read_schema(paths["green_tripdata_2021-01.parquet"]).names
    assert {"ehail_fee", "trip_type"} <= set(names) and len(names) == 20


def test_zone_lookup_has_265_zones_with_the_tlc_header(files):
    _, paths = files
    text = paths["taxi_zone_lookup.csv"].read_text().splitlines()
    assert text[0] == '"LocationID","Borough","Zone","service_zone"'
    zones = pd.read_csv(paths["taxi_zone_lookup.csv"])
    assert zones["LocationID"].tolist() == list(range(1, 266))
    assert set(zones["Borough"]) == {"EWR", "Queens", "Bronx", "Manhattan", "Staten Island", "Brooklyn", "Unknown"}
    assert zones.set_index("LocationID").loc[[132, 138], "service_zone"].tolist() == ["Airports", "Airports"]
    assert zones["Zone"].is_unique


def test_payment_types(files):
    _, paths = files
    types = pd.read_csv(paths["payment_type_lookup.csv"])
    assert types.columns.tolist() == ["payment_type", "description"]
    assert types.set_index("payment_type").loc[[1, 2], "description"].tolist() == ["Credit card", "Cash"]


def test_same_seed_same_bytes_other_seed_other_rows(tmp_path, settings):
    def make(folder, seed):
        home = settings.replace(home=tmp_path / folder)
        return datasets.write_sample_trips(["yellow"], [MONTH], rows=500, seed=seed, settings=home)

    a, b, c = make("a", 1), make("b", 1), make("c", 2)
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes()
    assert a[0].read_bytes() != c[0].read_bytes()


def test_regenerates_only_when_rows_or_seed_change(tmp_path, settings):
    s = settings.replace(home=tmp_path)
    (path,) = datasets.write_sample_trips(["green"], [MONTH], rows=200, seed=3, formats=["parquet"], settings=s)
    first = path.stat().st_mtime_ns
    datasets.write_sample_trips(["green"], [MONTH], rows=200, seed=3, formats=["parquet"], settings=s)
    assert path.stat().st_mtime_ns == first  # cached
    datasets.write_sample_trips(["green"], [MONTH], rows=300, seed=3, formats=["parquet"], settings=s)
    assert pq.read_metadata(path).num_rows == 300


def test_a_students_own_rows_are_kept_by_the_next_implicit_use(tmp_path, settings):
    """`zoomcamp data sample --rows N`, then `lake ingest`: the CSV was written again at the default size (and the
    parquet left at N)."""
    s = settings.replace(home=tmp_path, sample_rows=100)
    csv, parquet = datasets.write_sample_trips(["green"], [MONTH], rows=300, settings=s)  # the student's choice
    stamps = (csv.stat().st_mtime_ns, parquet.stat().st_mtime_ns)
    assert datasets.trip_file("green", MONTH, settings=s) == csv  # what lake ingest and the notebooks call
    datasets.trip_file("green", MONTH, fmt="parquet", settings=s)
    assert (csv.stat().st_mtime_ns, parquet.stat().st_mtime_ns) == stamps
    assert pq.read_metadata(parquet).num_rows == 300 and len(datasets.read_csv(csv)) == 300
    # A month nobody chose follows the setting, and a new explicit choice replaces the old one.
    (other,) = datasets.write_sample_trips(["green"], ["2021-02"], formats=["parquet"], settings=s)
    assert pq.read_metadata(other).num_rows == 100
    datasets.write_sample_trips(["green"], [MONTH], rows=200, formats=["parquet"], settings=s)
    assert pq.read_metadata(parquet).num_rows == 200


@pytest.fixture(scope="module")
def yellow():
    return sample.trips_frame("yellow", MONTH, 50_000, seed=11)


def test_total_is_the_sum_of_its_parts(yellow):
    parts = ["fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge",
             "congestion_surcharge", "airport_fee"]
    assert np.allclose(yellow[parts].sum(axis=1), yellow["total_amount"], atol=0.005)


def test_pickups_are_in_the_month_except_the_dirty_few(yellow):
    pickup = yellow[PICKUP_COLUMN["yellow"]]
    inside = (pickup >= MONTH.start) & (pickup < MONTH.end)
    assert 0.995 < inside.mean() < 1.0  # a few outside, as in the real files


def test_the_dirt_of_the_real_files_is_there(yellow):
    n = len(yellow)
    assert 0.01 < (yellow["passenger_count"] == 0).sum() / n < 0.03
    assert 0.002 < (yellow["fare_amount"] < 0).sum() / n < 0.01
    assert 0.02 < yellow["RatecodeID"].isna().mean() < 0.04
    assert 0 < (yellow["tpep_dropoff_datetime"] < yellow["tpep_pickup_datetime"]).sum() / n < 0.005


def test_zone_popularity_is_skewed(yellow):
    share = yellow["PULocationID"].value_counts(normalize=True)
    assert share.iloc[:10].sum() > 0.4  # ten zones of 265 get a large share of pickups
    assert yellow["PULocationID"].between(1, 265).all()


def test_tips_only_on_card_payments(yellow):
    assert (yellow.loc[yellow["payment_type"] == 2, "tip_amount"] == 0).all()
    assert (yellow.loc[yellow["payment_type"] == 1, "tip_amount"] > 0).mean() > 0.8


def test_unknown_type_and_bad_month_are_refused(tmp_path, settings):
    s = settings.replace(home=tmp_path)
    with pytest.raises(datasets.UnknownTaxiType, match="purple"):
        datasets.write_sample_trips(["purple"], [MONTH], settings=s)
    with pytest.raises(datasets.BadMonth, match="YYYY-MM"):
        datasets.parse_months(["2021-13"])
    with pytest.raises(datasets.BadMonth):
        datasets.parse_months(["2021-03..2021-01"])
    assert not (tmp_path / "data").exists()  # nothing written


def test_month_ranges():
    months = datasets.parse_months(["2020-11..2021-02", "2021-01"])
    assert [str(m) for m in months] == ["2020-11", "2020-12", "2021-01", "2021-02"]


def test_months_given_any_way_become_one_list():
    january = datasets.Month(2021, 1)
    assert datasets.parse_months("2021-01") == datasets.parse_months(january) == [january]
    assert datasets.parse_months([january, "2021-01..2021-02"]) == [january, datasets.Month(2021, 2)]
    assert datasets.parse_months(None) == [] and datasets.Month.of("2021-01") is not january
    assert datasets.Month.of(january) is january
    with pytest.raises(datasets.BadMonth, match="YYYY-MM"):
        datasets.parse_months(["2021-01", "2021-13"])


def test_weekly_rhythm_sundays_are_quiet(yellow):
    weekday = yellow["tpep_pickup_datetime"].dt.day_of_week.value_counts(normalize=True)
    # January 2021 has five Fridays and five Sundays: per day, Sundays get clearly fewer pickups.
    assert weekday[6] < 0.8 * weekday[4]
