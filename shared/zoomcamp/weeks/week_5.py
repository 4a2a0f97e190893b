"""Week 5, batch: Spark on the lake folder, its standalone cluster, and the report table in PostgreSQL."""

from __future__ import annotations

from datetime import date

from ..homework import NotLoaded, Question, loaded_lake, once
from ..settings import Settings

# Where the notebooks write (each replaces its folder on every run), under the course home's spark/.
SCRATCH = {"dataframes": "spark/02_dataframes", "dbt_target": "spark/03_dbt_target", "report": "spark/03_report",
           "cluster": "spark/07_cluster"}
# Where homework.md's q2 asks the student to write, under the course home.
HOMEWORK_OUTPUT = "spark/homework/yellow_2021-01"


def reset(settings: Settings) -> list[str]:
    """The standalone Spark cluster (stopped), the lake folder Spark reads (when it is the course's own, not
    ``lake_url``), Spark's outputs and logs (``<home>/spark``, the scratch folders included), and the report table."""
    from .. import course, db
    from .. import spark as zspark

    removed = []
    if zspark.Cluster(settings).stop().message.startswith("stopped"):
        removed.append("the standalone Spark cluster (stopped)")
    own_lake = settings.home / "lake-local"
    removed += course.remove_folders(settings.home / "spark",
                                     *([own_lake] if zspark.local_lake_url(settings) == str(own_lake) else []))
    schema = zspark.WAREHOUSE_TABLE.split(".")[0]
    return removed + [f"{line} ({zspark.WAREHOUSE_TABLE})" for line in db.clear(schemas=[schema], settings=settings)]


# --- homework: Spark on the lake folder -------------------------------------------------------------------------------
# The expected answers are computed without Spark (pyarrow and pandas over the same files): the student answers with
# Spark, the checker needs no JVM.

@once
def _yellow_january(s: Settings):
    import pyarrow.dataset as ds

    from .. import spark

    lake = loaded_lake(s, "yellow", "2021-01", spark.local_lake(s), needs="week 5's notebook 03")
    trips = lake.dataset("yellow").to_table(filter=(ds.field("year") == 2021) & (ds.field("month") == 1))
    return trips.to_pandas()


def _spark_version(s: Settings) -> str:
    from importlib.metadata import version

    return version("pyspark")


def _average_file_mb(s: Settings) -> float:
    files = sorted((s.home / HOMEWORK_OUTPUT).glob("*.parquet"))
    if not files:
        raise NotLoaded(f"no parquet files in {s.home / HOMEWORK_OUTPUT}: write them as homework.md's q2 says")
    return round(sum(f.stat().st_size for f in files) / len(files) / 1e6, 2)


def _trips_on_day(s: Settings) -> int:
    trips = _yellow_january(s)
    return int((trips["tpep_pickup_datetime"].dt.date == date(2021, 1, 15)).sum())


def _longest_trip_hours(s: Settings) -> float:
    trips = _yellow_january(s)
    return round((trips["tpep_dropoff_datetime"] - trips["tpep_pickup_datetime"]).max().total_seconds() / 3600, 2)


def _least_frequent_pickup_zone(s: Settings) -> str:
    from .. import datasets

    trips = _yellow_january(s)
    zones = datasets.read_csv(datasets.zones_file(settings=s))
    counts = trips.merge(zones, left_on="PULocationID", right_on="LocationID").groupby("Zone").size()
    return sorted(counts[counts == counts.min()].index)[0]


QUESTIONS = [
    Question("q1", "text", _spark_version),
    Question("q2", "float", _average_file_mb),
    Question("q3", "int", _trips_on_day),
    Question("q4", "float", _longest_trip_hours),
    Question("q5", "text", _least_frequent_pickup_zone),
]
