"""NYC TLC data: schemas, the sample generator, the downloader, and the one function notebooks call.

>>> from zoomcamp import datasets
>>> path = datasets.trip_file("yellow", "2021-01")   # sample or real, by settings.data_source
>>> zones = datasets.zones_file()
"""

from __future__ import annotations

from pathlib import Path

from ..settings import Settings, get_settings
from .downloader import DownloadError, download
from .files import (
    PAYMENT_TYPES_FILE,
    TRIP_FORMATS,
    ZONES_FILE,
    Manifest,
    sample_dir,
    trip_file_name,
    write_sample_lookups,
    write_sample_trips,
)
from .months import BadMonth, Month, parse_months
from .reading import BadFile, kind_of, read_csv
from .schemas import SCHEMAS, TRIP_TYPES, UnknownTaxiType, arrow_schema, columns

__all__ = [
    "PAYMENT_TYPES_FILE", "SCHEMAS", "TRIP_FORMATS", "TRIP_TYPES", "ZONES_FILE",
    "BadFile", "BadMonth", "DownloadError", "Manifest", "Month", "UnknownTaxiType",
    "arrow_schema", "columns", "download", "kind_of", "parse_months", "read_csv", "payment_types_file", "sample_dir",
    "trip_file", "trip_file_name", "write_sample_lookups", "write_sample_trips", "zones_file",
]


def trip_file(kind: str, month: Month | str, fmt: str = "csv.gz", *, settings: Settings | None = None) -> Path:
    """The local path of one month's trip file, made (sample) or fetched (download) if needed.

    Taught in week_1_basics/01_data_and_stack.ipynb."""
    settings = settings or get_settings()
    month = Month.of(month)
    if settings.data_source == "download":
        return download(kind, month, fmt, settings=settings)
    return write_sample_trips([kind], [month], formats=[fmt], settings=settings)[0]


def zones_file(*, settings: Settings | None = None) -> Path:
    """The taxi zone lookup CSV (LocationID, Borough, Zone, service_zone)."""
    settings = settings or get_settings()
    if settings.data_source == "download":
        return download("zones", settings=settings)
    return write_sample_lookups(settings)[0]


def payment_types_file(*, settings: Settings | None = None) -> Path:
    """Payment type codes and descriptions (from the TLC data dictionary; always generated)."""
    return write_sample_lookups(settings)[1]
