"""The NYC TLC file schemas: one table of columns and types per taxi type.

Column names and order are those of the published files (the TLC's parquet files, and the CSV.gz
backups in DataTalksClub's ``nyc-tlc-data`` releases). Types follow the parquet files: counts that
can be missing (``passenger_count``, ``RatecodeID``) are doubles there, timestamps are microsecond
timestamps without a time zone. Every other module reads types from here, so the generator, the
ingestion code and the tests cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ..errors import CourseError

# One small type vocabulary, mapped to each tool the course uses.
ARROW_TYPES = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
}
PANDAS_TYPES = {"int64": "Int64", "float64": "float64", "string": "string", "timestamp": "datetime64[us]"}
POSTGRES_TYPES = {"int64": "BIGINT", "float64": "DOUBLE PRECISION", "string": "TEXT", "timestamp": "TIMESTAMP"}
BIGQUERY_TYPES = {"int64": "INT64", "float64": "FLOAT64", "string": "STRING", "timestamp": "TIMESTAMP"}
DUCKDB_TYPES = {"int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR", "timestamp": "TIMESTAMP"}
# Names in pyspark.sql.types (imported where Spark runs). Timestamps without a zone: the TLC's local New York times.
SPARK_TYPES = {"int64": "LongType", "float64": "DoubleType", "string": "StringType", "timestamp": "TimestampNTZType"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a key of ARROW_TYPES
    in_csv: bool = True  # False: only in the parquet files (yellow's airport_fee)
    in_parquet: bool = True  # False: only in the CSV files (fhvhv's SR_Flag)


def _cols(spec: str, *, parquet_only: tuple[str, ...] = (), csv_only: tuple[str, ...] = ()) -> tuple[Column, ...]:
    """Parse ``"name:type name:type ..."`` (kept as text so the table reads like the data dictionary)."""
    columns = []
    for item in spec.split():
        name, kind = item.split(":")
        assert kind in ARROW_TYPES, kind
        columns.append(Column(name, kind, in_csv=name not in parquet_only, in_parquet=name not in csv_only))
    return tuple(columns)


SCHEMAS: dict[str, tuple[Column, ...]] = {
    # 18 columns in the CSV files; the parquet files add airport_fee.
    "yellow": _cols(
        """
        VendorID:int64 tpep_pickup_datetime:timestamp tpep_dropoff_datetime:timestamp
        passenger_count:float64 trip_distance:float64 RatecodeID:float64 store_and_fwd_flag:string
        PULocationID:int64 DOLocationID:int64 payment_type:int64 fare_amount:float64 extra:float64
        mta_tax:float64 tip_amount:float64 tolls_amount:float64 improvement_surcharge:float64
        total_amount:float64 congestion_surcharge:float64 airport_fee:float64
        """,
        parquet_only=("airport_fee",),
    ),
    # 20 columns, with ehail_fee (always empty in practice) and trip_type (1 street-hail, 2 dispatch).
    "green": _cols(
        """
        VendorID:int64 lpep_pickup_datetime:timestamp lpep_dropoff_datetime:timestamp
        store_and_fwd_flag:string RatecodeID:float64 PULocationID:int64 DOLocationID:int64
        passenger_count:float64 trip_distance:float64 fare_amount:float64 extra:float64 mta_tax:float64
        tip_amount:float64 tolls_amount:float64 ehail_fee:float64 improvement_surcharge:float64
        total_amount:float64 payment_type:float64 trip_type:float64 congestion_surcharge:float64
        """
    ),
    # For-hire vehicles (the 2019-2021 layout): note the mixed-case dropOff_datetime / PUlocationID.
    "fhv": _cols(
        """
        dispatching_base_num:string pickup_datetime:timestamp dropOff_datetime:timestamp
        PUlocationID:float64 DOlocationID:float64 SR_Flag:float64 Affiliated_base_number:string
        """
    ),
    # High-volume for-hire vehicles (Uber, Lyft, ...), from 2019-02 on. Two layouts, by format:
    # - CSV, 7 columns: the TLC's CSV files (until it switched to parquet in 2022) and DataTalksClub's CSV.gz backups
    #   of them (fhvhv_tripdata_2021-01.csv.gz, the file DEZ's week 5 reads): hvfhs_license_num, dispatching_base_num,
    #   pickup_datetime, dropoff_datetime, PULocationID, DOLocationID, SR_Flag (1 for a shared-ride request, else
    #   empty);
    # - parquet, 24 columns: the TLC's parquet files, every month since 2019-02 republished so in 2022: the 6 columns
    #   the CSV layout has besides SR_Flag, then request and on-scene times, miles, fares, pay and flags, with
    #   shared_request_flag (Y/N) where the CSV had SR_Flag.
    "fhvhv": _cols(
        """
        hvfhs_license_num:string dispatching_base_num:string originating_base_num:string
        request_datetime:timestamp on_scene_datetime:timestamp pickup_datetime:timestamp
        dropoff_datetime:timestamp PULocationID:int64 DOLocationID:int64 trip_miles:float64
        trip_time:int64 base_passenger_fare:float64 tolls:float64 bcf:float64 sales_tax:float64
        congestion_surcharge:float64 airport_fee:float64 tips:float64 driver_pay:float64
        shared_request_flag:string shared_match_flag:string access_a_ride_flag:string
        wav_request_flag:string wav_match_flag:string SR_Flag:float64
        """,
        parquet_only=("originating_base_num", "request_datetime", "on_scene_datetime", "trip_miles", "trip_time",
                      "base_passenger_fare", "tolls", "bcf", "sales_tax", "congestion_surcharge", "airport_fee",
                      "tips", "driver_pay", "shared_request_flag", "shared_match_flag", "access_a_ride_flag",
                      "wav_request_flag", "wav_match_flag"),
        csv_only=("SR_Flag",),
    ),
    # Lookups.
    "zones": _cols("LocationID:int64 Borough:string Zone:string service_zone:string"),
    "payment_types": _cols("payment_type:int64 description:string"),
}

TRIP_TYPES = ("yellow", "green", "fhv", "fhvhv")
# Each trip type's pickup/dropoff timestamp columns (they are named differently per type).
PICKUP_COLUMN = {
    "yellow": "tpep_pickup_datetime",
    "green": "lpep_pickup_datetime",
    "fhv": "pickup_datetime",
    "fhvhv": "pickup_datetime",
}
DROPOFF_COLUMN = {
    "yellow": "tpep_dropoff_datetime",
    "green": "lpep_dropoff_datetime",
    "fhv": "dropOff_datetime",
    "fhvhv": "dropoff_datetime",
}
# The service_type dbt's int_trips_unioned gives each metered trip type (the revenue report's and dashboard's too).
SERVICE_TYPES = {"green": "Green", "yellow": "Yellow"}

# Where every warehouse (PostgreSQL, DuckDB, BigQuery) keeps the raw trip tables: DEZ's name, kept so its SQL runs.
RAW_SCHEMA = "trips_data_all"


def raw_table(kind: str, schema: str | None = None) -> str:
    """A trip type's raw table: ``green_tripdata``, or qualified when ``schema`` is given
    (``raw_table("green", RAW_SCHEMA)`` is ``trips_data_all.green_tripdata``)."""
    return f"{schema}.{kind}_tripdata" if schema else f"{kind}_tripdata"


class UnknownTaxiType(CourseError, ValueError):
    pass


def columns(kind: str, *, fmt: str = "parquet") -> tuple[Column, ...]:
    """The columns of a file kind (``yellow``, ``green``, ``fhv``, ``fhvhv``, ``zones``, ``payment_types``)
    as they appear in its ``parquet`` or ``csv`` files."""
    if kind not in SCHEMAS:
        raise UnknownTaxiType(f"unknown taxi type {kind!r}; choose one of: {', '.join(SCHEMAS)}")
    cols = SCHEMAS[kind]
    if fmt == "parquet":
        return tuple(c for c in cols if c.in_parquet)
    return tuple(c for c in cols if c.in_csv)


def arrow_schema(kind: str, *, fmt: str = "parquet") -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in columns(kind, fmt=fmt)])


def pandas_dtypes(kind: str, *, fmt: str = "csv") -> dict[str, str]:
    """dtypes for ``pandas.read_csv`` (timestamps excluded: pass them as ``parse_dates``)."""
    return {c.name: PANDAS_TYPES[c.type] for c in columns(kind, fmt=fmt) if c.type != "timestamp"}


def timestamp_columns(kind: str, *, fmt: str = "csv") -> list[str]:
    return [c.name for c in columns(kind, fmt=fmt) if c.type == "timestamp"]


def postgres_ddl(kind: str, table: str, *, fmt: str = "csv") -> str:
    """``CREATE TABLE`` for a file kind, with identifiers quoted (the TLC's names are mixed-case)."""
    body = ",\n    ".join(f'"{c.name}" {POSTGRES_TYPES[c.type]}' for c in columns(kind, fmt=fmt))
    return f'CREATE TABLE "{table}" (\n    {body}\n)'
