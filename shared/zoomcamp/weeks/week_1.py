"""Week 1, basics: the trips loaded into the course's PostgreSQL (tables named by the student)."""

from __future__ import annotations

from datetime import date

from ..homework import NotLoaded, Question
from ..settings import Settings


def reset(settings: Settings) -> list[str]:
    """Every table of the public schema no other week claims: week 1 loads tables under names of the student's
    choosing."""
    from .. import db, weeks

    claimed = weeks.claimed_public_tables()
    return db.clear(tables=[t for t in db.public_tables(settings) if t not in claimed], settings=settings)


# --- homework: the trips loaded into PostgreSQL -----------------------------------------------------------------------

def _pg(sql: str, settings: Settings):
    from sqlalchemy.exc import ProgrammingError

    from .. import db

    try:
        return db.query(sql, settings=settings)
    except ProgrammingError:
        raise NotLoaded("the tables yellow_taxi_trips and zones are not loaded: run week 1's notebook 02 "
                        "(or `zoomcamp ingest postgres`)") from None


def _trips_on_day(s: Settings) -> int:
    return int(_pg("SELECT count(*) AS n FROM yellow_taxi_trips "
                   "WHERE CAST(tpep_pickup_datetime AS DATE) = DATE '2021-01-15'", s).loc[0, "n"])


def _largest_tip_day(s: Settings) -> date:
    return _pg("SELECT CAST(tpep_pickup_datetime AS DATE) AS day FROM yellow_taxi_trips "
               "ORDER BY tip_amount DESC NULLS LAST, tpep_pickup_datetime LIMIT 1", s).loc[0, "day"]


def _top_destination_from_jfk(s: Settings) -> str:
    return _pg('SELECT z."Zone" AS zone, count(*) AS n FROM yellow_taxi_trips t '
               'JOIN zones z ON t."DOLocationID" = z."LocationID" WHERE t."PULocationID" = 132 '
               "GROUP BY 1 ORDER BY n DESC, zone LIMIT 1", s).loc[0, "zone"]


def _zero_passengers(s: Settings) -> int:
    return int(_pg("SELECT count(*) AS n FROM yellow_taxi_trips WHERE passenger_count = 0", s).loc[0, "n"])


def _moving_average(s: Settings) -> float:
    return float(_pg("""
        SELECT avg_7 FROM (
            SELECT day, avg(trips) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS avg_7
            FROM (SELECT CAST(tpep_pickup_datetime AS DATE) AS day, count(*) AS trips FROM yellow_taxi_trips
                  WHERE tpep_pickup_datetime >= '2021-01-01' AND tpep_pickup_datetime < '2021-02-01' GROUP BY 1) d
        ) w WHERE day = DATE '2021-01-20'""", s).loc[0, "avg_7"])


QUESTIONS = [
    Question("q1", "int", _trips_on_day),
    Question("q2", "date", _largest_tip_day),
    Question("q3", "text", _top_destination_from_jfk),
    Question("q4", "int", _zero_passengers),
    Question("q5", "float", _moving_average),
]
