"""Week 2, ingestion: the data lake, Airflow's runs, and the rides API loaded by dlt."""

from __future__ import annotations

from ..homework import NotLoaded, Question, loaded_lake
from ..settings import Settings

# The PostgreSQL schemas the dlt lessons load (notebooks 06 and 07), with dlt's staging schemas for merges.
DLT_SCHEMAS = ("rides_api", "rides_incremental")


def reset(settings: Settings) -> list[str]:
    """The lake's datasets and bookkeeping (the bucket stays; one on Google Cloud is left alone), Airflow's run
    history, and what dlt made: its schemas and its folder."""
    from .. import orchestration
    from ..lake import Lake

    removed = []
    on_gcs = (settings.lake_url or "gs://").startswith(("gs://", "gcs://"))
    if not (settings.backend == "gcp" and on_gcs):
        removed += Lake(settings).clear()
    return removed + orchestration.clear(settings) + clear_dlt(settings)


def clear_dlt(settings: Settings) -> list[str]:
    """What dlt made: its schemas in PostgreSQL, and its folder (pipelines' state, the DuckDB file)."""
    from .. import api_pipeline, db

    return (db.clear(schemas=[n for s in DLT_SCHEMAS for n in (s, f"{s}_staging")], settings=settings)
            + api_pipeline.clear(settings))


# --- homework: the data lake ------------------------------------------------------------------------------------------

def _rows_yellow_march(s: Settings) -> int:
    import pyarrow.dataset as ds

    dataset = loaded_lake(s, "yellow", "2021-03").dataset("yellow")
    return dataset.count_rows(filter=(ds.field("year") == 2021) & (ds.field("month") == 3))


def _green_january_mb(s: Settings) -> float:
    lake = loaded_lake(s, "green", "2021-01")
    return round(sum(lake.fs.size(p) for p in lake.fs.find(lake.partition("green", "2021-01"))) / 1e6, 2)


def _yellow_files(s: Settings) -> int:
    lake = loaded_lake(s, "yellow")
    return sum(1 for p in lake.fs.find(lake.path("yellow")) if p.endswith(".parquet"))


def _busiest_green_month(s: Settings) -> str:
    lake = loaded_lake(s, "green")
    counts = {str(m): lake.check(["green"], [m])[0].rows or 0 for m in lake.months("green")}
    return max(sorted(counts), key=lambda m: counts[m])


# the API workshop: the rides API loaded into PostgreSQL by dlt (pipeline rides_postgres, dataset rides_api)

def _api_pg(sql: str, s: Settings):
    from pandas.errors import DatabaseError
    from sqlalchemy.exc import ProgrammingError

    from .. import db

    try:
        return db.query(sql, settings=s)
    except (ProgrammingError, DatabaseError):  # pandas 3 wraps the driver's "relation does not exist"
        raise NotLoaded("the rides API's tables are not in PostgreSQL (schema rides_api): run week 2's notebook 06 "
                        "(or `zoomcamp api serve`, then `zoomcamp api load http://127.0.0.1:8090 --to postgres`)"
                        ) from None


def _api_rides(s: Settings) -> int:
    return int(_api_pg("SELECT count(*) AS n FROM rides_api.rides", s).loc[0, "n"])


def _api_tolls(s: Settings) -> int:
    return int(_api_pg("SELECT count(*) AS n FROM rides_api.rides__payment__surcharges WHERE name = 'tolls'",
                       s).loc[0, "n"])


def _api_cursor(s: Settings) -> str:
    """The incremental cursor as dlt stored it in the destination (the newest state row, compressed JSON)."""
    from dlt.common.versioned_state import decompress_state

    rows = _api_pg("SELECT state FROM rides_api._dlt_pipeline_state WHERE pipeline_name = 'rides_postgres' "
                   "ORDER BY version DESC LIMIT 1", s)
    if rows.empty:
        raise NotLoaded("PostgreSQL has no state of the pipeline rides_postgres: run week 2's notebook 06")
    state = decompress_state(rows.loc[0, "state"])
    return state["sources"]["rest_api"]["resources"]["rides"]["incremental"]["updated_at"]["last_value"]


QUESTIONS = [
    Question("q1", "int", _rows_yellow_march),
    Question("q2", "float", _green_january_mb),
    Question("q3", "int", _yellow_files),
    Question("q4", "text", _busiest_green_month),
    Question("q5", "int", _api_rides),
    Question("q6", "int", _api_tolls),
    Question("q7", "text", _api_cursor),
]
