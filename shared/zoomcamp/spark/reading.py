"""Reading the course's data in Spark: the TLC schemas as Spark types, trips from files or the lake, the zones, and
the lake as a folder Spark can read (see the package's description for why a folder)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..datasets import Month, parse_months
from ..datasets.schemas import PICKUP_COLUMN, SPARK_TYPES, columns
from ..settings import Settings, get_settings

if TYPE_CHECKING:  # pyspark is imported when a function needs it: `import zoomcamp.spark` stays cheap
    from pyspark.sql import DataFrame, SparkSession


def struct_type(kind: str, fmt: str = "parquet"):
    """A TLC file's schema as a Spark ``StructType``, from the course's schema table (``datasets.schemas``).
    Timestamps are ``TimestampNTZType``: the TLC's times are local New York times without a zone, as in the files."""
    from pyspark.sql import types

    return types.StructType([types.StructField(c.name, getattr(types, SPARK_TYPES[c.type])(), True)
                             for c in columns(kind, fmt=fmt)])


def read_trips(spark: SparkSession, kind: str, path: str | Path | list, *,
               months: Iterable[Month | str] | Month | str | None = None) -> DataFrame:
    """One taxi type's trips with the course's schema, from CSV/CSV.gz files or from a lake folder of hive-partitioned
    parquet (``{path}/year=YYYY/month=MM/``; the ``year`` and ``month`` columns come from the folder names, and
    ``months`` keeps only those folders: partition pruning, the other folders are never opened)."""
    from pyspark.sql import functions as F

    paths = [str(p) for p in (path if isinstance(path, list | tuple) else [path])]
    if all(p.endswith((".csv", ".csv.gz")) for p in paths):
        from ..datasets.reading import header_names

        for p in paths:  # a local file of another layout is one line here, before Spark starts reading
            if "://" not in p and "*" not in p and Path(p).is_file():
                header_names(Path(p), kind)
        # enforceSchema=False: a header that does not match the schema is an error, not silently renamed columns.
        frame = (spark.read.option("timestampNTZFormat", "yyyy-MM-dd HH:mm:ss")
                 .csv(paths, header=True, schema=struct_type(kind, "csv"), enforceSchema=False))
        wanted = parse_months(months)
        if wanted:  # a CSV file has no partition folders: filter on the pickup month
            pickup = F.col(PICKUP_COLUMN[kind])
            frame = frame.where(F.date_format(pickup, "yyyy-MM").isin([str(m) for m in wanted]))
        return frame
    frame = spark.read.schema(struct_type(kind)).parquet(*paths)
    wanted = parse_months(months)
    if wanted:
        condition = None
        for m in wanted:
            one = (F.col("year") == m.year) & (F.col("month") == m.month)
            condition = one if condition is None else condition | one
        frame = frame.where(condition)
    return frame


def read_zones(spark: SparkSession, path: str | Path | None = None, *, settings: Settings | None = None) -> DataFrame:
    """The taxi zone lookup (``LocationID, Borough, Zone, service_zone``); the course's file unless ``path``."""
    from .. import datasets

    path = path or datasets.zones_file(settings=settings)
    return spark.read.csv(str(path), header=True, schema=struct_type("zones"), enforceSchema=False)


def local_lake_url(settings: Settings | None = None) -> str:
    """Where :func:`local_lake` is: ``settings.lake_url`` if that is a folder, else ``<home>/lake-local``."""
    settings = settings or get_settings()
    url = settings.lake_url
    if url and ("://" not in url or url.startswith("file://")):
        return url
    return str(settings.home / "lake-local")


def local_lake(settings: Settings | None = None):
    """The data lake as a folder Spark can read (:func:`local_lake_url`; the same layout and code as week 2's
    bucket; see the package's description)."""
    from ..lake import Lake

    settings = settings or get_settings()
    return Lake(settings, url=local_lake_url(settings))
