"""Homework with a self-check: each week's questions, answered on whatever data the student loaded.

The expected answers are computed from the student's own loaded data (real or sample), so the same homework works
offline and on the real TLC files. Answers go in ``week_N_.../answers.yaml`` (``q1: 1234``); ``zoomcamp homework
check N`` grades them. The questions' wording lives in each week's ``homework.md``; their answers are computed here.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .answers import same
from .course import week_folder
from .errors import CourseError
from .settings import Settings, get_settings

ANSWERS_FILE = "answers.yaml"


class HomeworkError(CourseError, ValueError):
    pass


class NotLoaded(CourseError, LookupError):
    """The data a question is about is not loaded yet; the message says which notebook or command loads it."""


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # int | float | text | date: how an answer is compared
    answer: Callable[[Settings], Any]  # the right answer on the student's data; NotLoaded says what to run first


@dataclass
class Grade:
    question: str
    given: Any
    expected: Any
    correct: bool
    note: str = ""


_loaded: dict[tuple[str, int], Any] = {}  # what the questions of one grading share (see _once)


def _once(load: Callable[[Settings], Any]) -> Callable[[Settings], Any]:
    """Load data several questions read (a month of trips, a topic) once per grading, not once per question."""

    @functools.wraps(load)
    def cached(s: Settings):
        key = (load.__name__, id(s))
        if key not in _loaded:
            _loaded[key] = load(s)
        return _loaded[key]

    return cached


# --- week 1: the trips loaded into PostgreSQL -----------------------------------------------------------------------

def _pg(sql: str, settings: Settings):
    from sqlalchemy.exc import ProgrammingError

    from . import db

    try:
        return db.query(sql, settings=settings)
    except ProgrammingError:
        raise NotLoaded("the tables yellow_taxi_trips and zones are not loaded: run week 1's notebook 02 "
                        "(or `zoomcamp ingest postgres`)") from None


def _w1_trips_on_day(s: Settings) -> int:
    return int(_pg("SELECT count(*) AS n FROM yellow_taxi_trips "
                   "WHERE CAST(tpep_pickup_datetime AS DATE) = DATE '2021-01-15'", s).loc[0, "n"])


def _w1_largest_tip_day(s: Settings) -> date:
    return _pg("SELECT CAST(tpep_pickup_datetime AS DATE) AS day FROM yellow_taxi_trips "
               "ORDER BY tip_amount DESC NULLS LAST, tpep_pickup_datetime LIMIT 1", s).loc[0, "day"]


def _w1_top_destination_from_jfk(s: Settings) -> str:
    return _pg('SELECT z."Zone" AS zone, count(*) AS n FROM yellow_taxi_trips t '
               'JOIN zones z ON t."DOLocationID" = z."LocationID" WHERE t."PULocationID" = 132 '
               "GROUP BY 1 ORDER BY n DESC, zone LIMIT 1", s).loc[0, "zone"]


def _w1_zero_passengers(s: Settings) -> int:
    return int(_pg("SELECT count(*) AS n FROM yellow_taxi_trips WHERE passenger_count = 0", s).loc[0, "n"])


def _w1_moving_average(s: Settings) -> float:
    return float(_pg("""
        SELECT avg_7 FROM (
            SELECT day, avg(trips) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS avg_7
            FROM (SELECT CAST(tpep_pickup_datetime AS DATE) AS day, count(*) AS trips FROM yellow_taxi_trips
                  WHERE tpep_pickup_datetime >= '2021-01-01' AND tpep_pickup_datetime < '2021-02-01' GROUP BY 1) d
        ) w WHERE day = DATE '2021-01-20'""", s).loc[0, "avg_7"])


# --- week 2: the data lake ------------------------------------------------------------------------------------------

def _lake(s: Settings, kind: str, month: str | None = None, lake=None, needs: str = "week 2's notebook 02"):
    from .lake import Lake

    command = f" (or `zoomcamp lake ingest {kind} {month or '2021-01..2021-03'}`)" if lake is None else ""
    lake = lake or Lake(s)
    months = [str(m) for m in lake.months(kind)]
    if not months or (month and month not in months):
        raise NotLoaded(f"the lake at {lake.url} has no {kind} {month or 'data'}: run {needs}{command}")
    return lake


def _w2_rows_yellow_march(s: Settings) -> int:
    import pyarrow.dataset as ds

    dataset = _lake(s, "yellow", "2021-03").dataset("yellow")
    return dataset.count_rows(filter=(ds.field("year") == 2021) & (ds.field("month") == 3))


def _w2_green_january_mb(s: Settings) -> float:
    lake = _lake(s, "green", "2021-01")
    return round(sum(lake.fs.size(p) for p in lake.fs.find(lake.partition("green", "2021-01"))) / 1e6, 2)


def _w2_yellow_files(s: Settings) -> int:
    lake = _lake(s, "yellow")
    return sum(1 for p in lake.fs.find(lake.path("yellow")) if p.endswith(".parquet"))


def _w2_busiest_green_month(s: Settings) -> str:
    lake = _lake(s, "green")
    counts = {str(m): lake.check(["green"], [m])[0].rows or 0 for m in lake.months("green")}
    return max(sorted(counts), key=lambda m: counts[m])


# week 2's API workshop: the rides API loaded into PostgreSQL by dlt (pipeline rides_postgres, dataset rides_api)

def _api_pg(sql: str, s: Settings):
    from pandas.errors import DatabaseError
    from sqlalchemy.exc import ProgrammingError

    from . import db

    try:
        return db.query(sql, settings=s)
    except (ProgrammingError, DatabaseError):  # pandas 3 wraps the driver's "relation does not exist"
        raise NotLoaded("the rides API's tables are not in PostgreSQL (schema rides_api): run week 2's notebook 06 "
                        "(or `zoomcamp api serve`, then `zoomcamp api load http://127.0.0.1:8090 --to postgres`)"
                        ) from None


def _w2_api_rides(s: Settings) -> int:
    return int(_api_pg("SELECT count(*) AS n FROM rides_api.rides", s).loc[0, "n"])


def _w2_api_tolls(s: Settings) -> int:
    return int(_api_pg("SELECT count(*) AS n FROM rides_api.rides__payment__surcharges WHERE name = 'tolls'",
                       s).loc[0, "n"])


def _w2_api_cursor(s: Settings) -> str:
    """The incremental cursor as dlt stored it in the destination (the newest state row, compressed JSON)."""
    from dlt.common.versioned_state import decompress_state

    rows = _api_pg("SELECT state FROM rides_api._dlt_pipeline_state WHERE pipeline_name = 'rides_postgres' "
                   "ORDER BY version DESC LIMIT 1", s)
    if rows.empty:
        raise NotLoaded("PostgreSQL has no state of the pipeline rides_postgres: run week 2's notebook 06")
    state = decompress_state(rows.loc[0, "state"])
    return state["sources"]["rest_api"]["resources"]["rides"]["incremental"]["updated_at"]["last_value"]


# --- week 4: the dbt models on the dev target -----------------------------------------------------------------------

def _dbt(sql: str, s: Settings):
    from sqlalchemy.exc import ProgrammingError

    from . import dbt

    try:
        return dbt.query(sql.format(schema=dbt.SCHEMA), "dev", settings=s)
    except ProgrammingError:
        raise NotLoaded("the dbt models are not built on the dev target: run week 4's notebooks (or "
                        "`zoomcamp dbt load-raw --target dev`, then `zoomcamp dbt run --target dev build`)") from None


def _w4_fact_trips(s: Settings) -> int:
    return int(_dbt("SELECT count(*) AS n FROM {schema}.fact_trips", s).loc[0, "n"])


def _w4_top_service_revenue(s: Settings) -> str:
    return _dbt("SELECT service_type, sum(revenue_monthly_total_amount) AS r FROM {schema}.dm_monthly_zone_revenue "
                "GROUP BY 1 ORDER BY r DESC LIMIT 1", s).loc[0, "service_type"]


def _w4_manhattan_zones(s: Settings) -> int:
    return int(_dbt("SELECT count(*) AS n FROM {schema}.dim_zones WHERE borough = 'Manhattan'", s).loc[0, "n"])


# --- week 3: the warehouse (the BigQuery emulator, or BigQuery) -----------------------------------------------------

def _bq(sql: str, s: Settings, needs: str):
    """Rows of ``sql`` on the week's dataset; ``{t}`` is the dataset's qualified name."""
    from google.api_core.exceptions import BadRequest, NotFound

    from . import warehouse

    wh = warehouse.Warehouse(s)
    try:
        return warehouse.to_frame(wh.execute(sql.format(t=f"`{wh.project}.{wh.dataset}`")))
    except (NotFound, BadRequest) as exc:  # the emulator says 400 where BigQuery says 404 for a missing table
        if isinstance(exc, BadRequest) and "not found" not in str(exc).lower():
            raise
        raise NotLoaded(f"the warehouse has no such table yet: run week 3's {needs}") from None


def _w3_external_green_rows(s: Settings) -> int:
    return int(_bq("SELECT count(*) AS n FROM {t}.external_green_tripdata", s, "notebook 02").loc[0, "n"])


def _w3_distinct_pickup_zones(s: Settings) -> int:
    return int(_bq("SELECT count(DISTINCT PULocationID) AS n FROM {t}.yellow_tripdata", s, "notebook 02").loc[0, "n"])


def _w3_zero_fares(s: Settings) -> int:
    return int(_bq("SELECT count(*) AS n FROM {t}.yellow_tripdata WHERE fare_amount = 0", s, "notebook 02").loc[0, "n"])


def _w3_quietest_partition(s: Settings) -> str:
    rows = _bq("SELECT FORMAT_DATE('%Y%m%d', DATE(tpep_pickup_datetime)) AS partition_id, count(*) AS n "
               "FROM {t}.yellow_tripdata_partitioned GROUP BY 1 ORDER BY n, partition_id LIMIT 1", s, "notebook 03")
    return str(rows.loc[0, "partition_id"])


# --- week 5: Spark on the lake folder ---------------------------------------------------------------------------------
# The expected answers are computed without Spark (pyarrow and pandas over the same files): the student answers with
# Spark, the checker needs no JVM.

HOMEWORK_OUTPUT = "spark/homework/yellow_2021-01"  # under the course home: where q2 asks the student to write


@_once
def _w5_yellow_january(s: Settings):
    import pyarrow.dataset as ds

    from . import spark

    lake = _lake(s, "yellow", "2021-01", spark.local_lake(s), needs="week 5's notebook 03")
    trips = lake.dataset("yellow").to_table(filter=(ds.field("year") == 2021) & (ds.field("month") == 1))
    return trips.to_pandas()


def _w5_spark_version(s: Settings) -> str:
    from importlib.metadata import version

    return version("pyspark")


def _w5_average_file_mb(s: Settings) -> float:
    files = sorted((s.home / HOMEWORK_OUTPUT).glob("*.parquet"))
    if not files:
        raise NotLoaded(f"no parquet files in {s.home / HOMEWORK_OUTPUT}: write them as homework.md's q2 says")
    return round(sum(f.stat().st_size for f in files) / len(files) / 1e6, 2)


def _w5_trips_on_day(s: Settings) -> int:
    trips = _w5_yellow_january(s)
    return int((trips["tpep_pickup_datetime"].dt.date == date(2021, 1, 15)).sum())


def _w5_longest_trip_hours(s: Settings) -> float:
    trips = _w5_yellow_january(s)
    return round((trips["tpep_dropoff_datetime"] - trips["tpep_pickup_datetime"]).max().total_seconds() / 3600, 2)


def _w5_least_frequent_pickup_zone(s: Settings) -> str:
    from . import datasets

    trips = _w5_yellow_january(s)
    zones = datasets.read_csv(datasets.zones_file(settings=s))
    counts = trips.merge(zones, left_on="PULocationID", right_on="LocationID").groupby("Zone").size()
    return sorted(counts[counts == counts.min()].index)[0]


# --- week 6: the topic the student produced ---------------------------------------------------------------------------

HOMEWORK_TOPIC = "green-trips"


@_once
def _w6_messages(s: Settings):
    from . import streaming

    try:
        frame = streaming.read_topic(HOMEWORK_TOPIC, decode=None, settings=s)
    except streaming.TopicError:
        raise NotLoaded(f"there is no topic {HOMEWORK_TOPIC!r}: produce it as homework.md says") from None
    if frame.empty:
        raise NotLoaded(f"topic {HOMEWORK_TOPIC!r} is empty: produce the rides as homework.md says")
    try:
        frame["value"] = [json.loads(v) for v in frame["value"]]
    except (TypeError, ValueError):
        raise NotLoaded(f"the messages in {HOMEWORK_TOPIC!r} are not JSON: produce them as homework.md says") from None
    return frame


def _w6_message_count(s: Settings) -> int:
    from . import streaming

    _w6_messages(s)
    return streaming.message_count(HOMEWORK_TOPIC, settings=s)


def _w6_partition_zero(s: Settings) -> int:
    from . import streaming

    _w6_messages(s)
    offsets = streaming.topic_offsets(HOMEWORK_TOPIC, settings=s)
    return int(offsets.loc[offsets["partition"] == 0, "messages"].sum())


@_once
def _w6_rides(s: Settings):
    """The rides in the topic, checked to be in the course's format (JSON objects, ISO pickup times, integer zones):
    anything else would be graded against a misread stream."""
    import pandas as pd

    values = _w6_messages(s)["value"]
    fields = ("lpep_pickup_datetime", "PULocationID")
    if not all(isinstance(v, dict) and all(f in v for f in fields) for v in values):
        raise NotLoaded(f"the messages in {HOMEWORK_TOPIC!r} are not rides in the course's format (JSON objects with "
                        f"{' and '.join(fields)}): produce them as homework.md says")
    rides = pd.DataFrame(values.tolist())
    pickups, zones = rides["lpep_pickup_datetime"], rides["PULocationID"]
    if not pickups.map(lambda v: isinstance(v, str)).all() or not zones.map(lambda v: type(v) is int).all():
        raise NotLoaded(f"the messages in {HOMEWORK_TOPIC!r} need lpep_pickup_datetime as ISO text "
                        "(2021-01-01T00:15:56) and PULocationID as an integer: produce them as homework.md says")
    rides["lpep_pickup_datetime"] = pd.to_datetime(pickups, format="ISO8601")
    return rides


def _w6_top_pickup_zone(s: Settings) -> int:
    counts = _w6_rides(s).groupby("PULocationID").size()
    return int(min(counts[counts == counts.max()].index))


def _w6_busiest_window(s: Settings) -> int:
    rides = _w6_rides(s)
    return int(rides.groupby(rides["lpep_pickup_datetime"].dt.floor("5min")).size().max())


# --- week 7: the reference project's dashboard ------------------------------------------------------------------------

def _dashboard(s: Settings):
    from google.api_core.exceptions import NotFound

    from . import project

    data = project.DashboardData(s)
    try:
        months = data.months()
    except (project.ProjectError, NotFound):  # no warehouse or no dashboard tables yet (DuckDB; BigQuery)
        months = []
    if "2021-01" not in months:
        raise NotLoaded("the dashboard has no 2021-01: run week 7's notebook 02 "
                        "(or `zoomcamp project run --months 2021-01`)")
    return data


def _w7_january_trips(s: Settings) -> int:
    return _dashboard(s).totals(["2021-01"], ["Green", "Yellow"])["trips"]


def _w7_busiest_yellow_day(s: Settings) -> date:
    daily = _dashboard(s).daily(["2021-01"], ["Yellow"])
    return daily.sort_values(["trips", "pickup_date"], ascending=[False, True]).iloc[0]["pickup_date"].date()


def _w7_top_borough(s: Settings) -> str:
    return _dashboard(s).revenue_share(["2021-01"], ["Green", "Yellow"]).iloc[0]["borough"]


QUESTIONS: dict[int, list[Question]] = {
    1: [
        Question("q1", "int", _w1_trips_on_day),
        Question("q2", "date", _w1_largest_tip_day),
        Question("q3", "text", _w1_top_destination_from_jfk),
        Question("q4", "int", _w1_zero_passengers),
        Question("q5", "float", _w1_moving_average),
    ],
    2: [
        Question("q1", "int", _w2_rows_yellow_march),
        Question("q2", "float", _w2_green_january_mb),
        Question("q3", "int", _w2_yellow_files),
        Question("q4", "text", _w2_busiest_green_month),
        Question("q5", "int", _w2_api_rides),
        Question("q6", "int", _w2_api_tolls),
        Question("q7", "text", _w2_api_cursor),
    ],
    3: [
        Question("q1", "int", _w3_external_green_rows),
        Question("q2", "int", _w3_distinct_pickup_zones),
        Question("q3", "int", _w3_zero_fares),
        Question("q4", "text", _w3_quietest_partition),
    ],
    4: [
        Question("q1", "int", _w4_fact_trips),
        Question("q2", "text", _w4_top_service_revenue),
        Question("q3", "int", _w4_manhattan_zones),
    ],
    5: [
        Question("q1", "text", _w5_spark_version),
        Question("q2", "float", _w5_average_file_mb),
        Question("q3", "int", _w5_trips_on_day),
        Question("q4", "float", _w5_longest_trip_hours),
        Question("q5", "text", _w5_least_frequent_pickup_zone),
    ],
    6: [
        Question("q1", "int", _w6_message_count),
        Question("q2", "int", _w6_partition_zero),
        Question("q3", "int", _w6_top_pickup_zone),
        Question("q4", "int", _w6_busiest_window),
    ],
    7: [
        Question("q1", "int", _w7_january_trips),
        Question("q2", "date", _w7_busiest_yellow_day),
        Question("q3", "text", _w7_top_borough),
    ],
}


def questions(week: int) -> list[Question]:
    if week not in QUESTIONS:
        raise HomeworkError(f"week {week} has no homework yet; weeks with homework: {', '.join(map(str, QUESTIONS))}")
    return QUESTIONS[week]


def expected_answers(week: int, settings: Settings | None = None) -> dict[str, Any]:
    """The right answers on this student's data (a question whose data is not loaded raises :class:`NotLoaded`)."""
    settings = settings or get_settings()
    try:
        return {q.id: q.answer(settings) for q in questions(week)}
    finally:
        _loaded.clear()


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def read_answers(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise HomeworkError(f"{path}: no answers file; copy the block at the end of homework.md into {path.name}")
    try:
        answers = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise HomeworkError(f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(answers, dict):
        raise HomeworkError(f"{path.name} must map question ids to answers, e.g. `q1: 1234`")
    return {str(k): v for k, v in answers.items()}


def grade(week: int, answers_file: Path | None = None, settings: Settings | None = None) -> list[Grade]:
    """Grade a week's answers file against the answers computed from the student's data."""
    settings = settings or get_settings()
    questions(week)  # a week without homework says so before asking for a file
    answers = read_answers(Path(answers_file or week_folder(week) / ANSWERS_FILE))
    grades = []
    try:
        for q in questions(week):
            try:
                expected = q.answer(settings)
            except NotLoaded as exc:
                grades.append(Grade(q.id, answers.get(q.id), None, False, f"cannot check yet: {exc}"))
                continue
            given = answers.get(q.id)
            note = "not answered" if given is None else ""
            correct = same(given, expected, q.kind)
            if not correct and q.kind == "date" and given is not None and not _ISO_DATE.match(str(given).strip()):
                note = "write dates as YYYY-MM-DD, e.g. 2021-01-15"
            grades.append(Grade(q.id, given, expected, correct, note))
    finally:
        _loaded.clear()
    ids = [q.id for q in questions(week)]
    for key in answers:  # a typo (q6 for q5, Q1) would otherwise be ignored without a word
        if key not in ids:
            grades.append(Grade(key, answers[key], None, False,
                                f"not a question of week {week} (its questions: {', '.join(ids)})"))
    return grades
