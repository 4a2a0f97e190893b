"""Reading TLC CSV files with the schema's names and types: the one way notebooks and loaders read them.

- The kind comes from the file name (``yellow_tripdata_2021-01.csv.gz`` is ``yellow``) unless given.
- Header names are matched to the schema ignoring case (some copies of the zone lookup are lower-case).
- Only an empty field is missing: pandas would otherwise turn the zone lookup's ``NA`` and ``N/A``
  (real zone and service-zone values) into nulls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ..errors import CourseError
from .files import PAYMENT_TYPES_FILE, ZONES_FILE
from .schemas import columns, pandas_dtypes, timestamp_columns

_TRIP_FILE = re.compile(r"^(yellow|green|fhvhv|fhv)_tripdata_\d{4}-\d{2}\.(csv|csv\.gz|parquet)$")


# Kinds whose CSV and parquet files differ by more than a column, and why (see ``schemas.SCHEMAS``).
LAYOUTS = {"fhvhv": "7 columns, as the TLC's CSV files until 2022 and DataTalksClub's CSV.gz backups"}


class BadFile(CourseError, ValueError):
    """A file that is not what its name or the requested kind says."""


def kind_of(path: Path) -> str:
    """The TLC file kind from its name (``yellow_tripdata_2021-01.csv.gz`` is ``yellow``)."""
    if path.name == ZONES_FILE:
        return "zones"
    if path.name == PAYMENT_TYPES_FILE:
        return "payment_types"
    match = _TRIP_FILE.match(path.name)
    if match:
        return match[1]
    by_header = _kinds_by_header(path)
    if len(by_header) == 1:  # the columns tell (a renamed yellow or green file)
        return by_header[0]
    raise BadFile(
        f"{path.name}: cannot tell the taxi type from the file name or its columns; name it like the TLC does "
        "(yellow_tripdata_2021-01.csv.gz) or give it with --kind (yellow, green, fhv, fhvhv, zones)"
    )


def _kinds_by_header(path: Path) -> list[str]:
    """The kinds whose columns (ignoring case) are exactly the file's: CSV header or parquet schema."""
    from .schemas import SCHEMAS

    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
            fmt = "parquet"
        else:
            names = list(pd.read_csv(path, nrows=0).columns)
            fmt = "csv"
    except Exception:  # unreadable: the caller's message covers it
        return []
    found = {str(n).strip().lower() for n in names}
    return [kind for kind in SCHEMAS if {c.name.lower() for c in columns(kind, fmt=fmt)} == found]


def header_names(path: Path, kind: str) -> list[str]:
    """The file's header mapped to the schema's column names (ignoring case); a header that does not
    fit the schema is a :class:`BadFile` naming what is missing and what is unexpected."""
    if not path.is_file():
        raise BadFile(f"{path}: no such file")
    try:
        header = list(pd.read_csv(path, nrows=0).columns)
    except EOFError as exc:  # a .csv.gz cut short (an interrupted copy)
        raise BadFile(f"{path.name}: the file cannot be read to its end ({exc}); download it again") from None
    except (pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise BadFile(f"{path.name}: not a readable CSV file ({exc})") from None
    expected = [c.name for c in columns(kind, fmt="csv")]
    by_lower = {name.lower(): name for name in expected}
    mapped = [by_lower.get(str(name).strip().lower()) for name in header]
    missing = [name for name in expected if name not in mapped]
    unexpected = [str(name) for name, m in zip(header, mapped, strict=True) if m is None]
    if missing or unexpected:
        parquet_layout = [c.name.lower() for c in columns(kind)]
        if kind in LAYOUTS and [str(name).strip().lower() for name in header] == parquet_layout:
            raise BadFile(f"{path.name}: this is the {len(header)}-column layout of the {kind} parquet files, not of "
                          f"its CSV files ({LAYOUTS[kind]}): read the parquet file, or a CSV of the CSV layout "
                          f"({', '.join(expected)})")
        raise BadFile(
            f"{path.name}: the header does not match the {kind} schema"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; unexpected: {', '.join(unexpected)}" if unexpected else "")
        )
    return mapped


def read_csv(path: str | Path, kind: str | None = None, *, chunksize: int | None = None
             ) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """A TLC CSV(.gz) as a DataFrame with the schema's names and types (or chunks of ``chunksize`` rows)."""
    path = Path(path)
    kind = kind or kind_of(path)
    return pd.read_csv(
        path,
        header=0,
        names=header_names(path, kind),
        dtype=pandas_dtypes(kind),
        parse_dates=timestamp_columns(kind),
        keep_default_na=False,
        na_values=[""],
        chunksize=chunksize,
    )
