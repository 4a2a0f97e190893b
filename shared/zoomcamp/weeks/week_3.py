"""Week 3, the warehouse: the BigQuery emulator's dataset (or BigQuery), and the notebooks' local layout files."""

from __future__ import annotations

from ..homework import NotLoaded, Question
from ..settings import Settings

# Notebook 01's columnar copies and notebook 03's table layouts, under the course home.
SCRATCH = {"columnar": "tmp/week3_columnar", "layouts": "tmp/week3_layouts"}


def reset(settings: Settings) -> list[str]:
    """The tables, views and models of the warehouse dataset (``bq_dataset``; the dataset itself stays). The
    reference project's raw tables share that dataset on the emulator: week 7 loads them again on its next run.
    Google Cloud's BigQuery (``backend = "gcp"``) is never touched."""
    from .. import warehouse

    if settings.backend == "gcp":
        return []
    return warehouse.Warehouse(settings).clear()


# --- homework: the warehouse (the BigQuery emulator, or BigQuery) -----------------------------------------------------

def _bq(sql: str, s: Settings, needs: str):
    """Rows of ``sql`` on the week's dataset; ``{t}`` is the dataset's qualified name."""
    from google.api_core.exceptions import BadRequest, NotFound

    from .. import warehouse

    wh = warehouse.Warehouse(s)
    try:
        return warehouse.to_frame(wh.execute(sql.format(t=f"`{wh.project}.{wh.dataset}`")))
    except (NotFound, BadRequest) as exc:  # the emulator says 400 where BigQuery says 404 for a missing table
        if isinstance(exc, BadRequest) and "not found" not in str(exc).lower():
            raise
        raise NotLoaded(f"the warehouse has no such table yet: run week 3's {needs}") from None


def _external_green_rows(s: Settings) -> int:
    return int(_bq("SELECT count(*) AS n FROM {t}.external_green_tripdata", s, "notebook 02").loc[0, "n"])


def _distinct_pickup_zones(s: Settings) -> int:
    return int(_bq("SELECT count(DISTINCT PULocationID) AS n FROM {t}.yellow_tripdata", s, "notebook 02").loc[0, "n"])


def _zero_fares(s: Settings) -> int:
    return int(_bq("SELECT count(*) AS n FROM {t}.yellow_tripdata WHERE fare_amount = 0", s, "notebook 02").loc[0, "n"])


def _quietest_partition(s: Settings) -> str:
    rows = _bq("SELECT FORMAT_DATE('%Y%m%d', DATE(tpep_pickup_datetime)) AS partition_id, count(*) AS n "
               "FROM {t}.yellow_tripdata_partitioned GROUP BY 1 ORDER BY n, partition_id LIMIT 1", s, "notebook 03")
    return str(rows.loc[0, "partition_id"])


QUESTIONS = [
    Question("q1", "int", _external_green_rows),
    Question("q2", "int", _distinct_pickup_zones),
    Question("q3", "int", _zero_fares),
    Question("q4", "text", _quietest_partition),
]
