"""Week 2's rides API (zoomcamp.api) and its dlt pipeline (zoomcamp.api_pipeline): pages, failures, every ride
exactly once into DuckDB, PostgreSQL and the lake, incremental runs, a merged update, a killed run re-run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import requests

from zoomcamp import api_pipeline, datasets
from zoomcamp.api import ApiError, Faults, RidesAPI
from zoomcamp.stack import free_port

ZOOMCAMP = str(Path(sys.executable).parent / "zoomcamp")
CUTOFF = "2021-01-20T00:00:00Z"


@pytest.fixture(scope="module")
def trips(settings):
    """The API's rides computed independently: api_rides rows of the yellow 2021-01 file, every k-th."""
    month = datasets.read_csv(datasets.trip_file("yellow", "2021-01"))
    return month.iloc[::max(1, len(month) // settings.api_rides)].head(settings.api_rides).reset_index(drop=True)


@pytest.fixture(scope="module")
def api(settings):
    with RidesAPI(settings, faults="") as running:
        yield running


def every_page(url: str, **params) -> list[dict]:
    rides, page = [], 1
    while True:
        response = requests.get(url + "/rides", params={"page": page, **params}, timeout=30)
        response.raise_for_status()
        if not response.json():
            return rides
        rides += response.json()
        page += 1


def test_an_outside_client_paging_gets_every_ride_exactly_once(api, trips):
    rides = every_page(api.url)
    assert [r["ride_id"] for r in rides] == list(range(1, len(trips) + 1))
    assert sum(r["payment"]["total"] for r in rides) == pytest.approx(trips["total_amount"].sum(), abs=0.01)
    assert api.requests["200"] == -(-len(trips) // 1000) + 1  # full pages, then the empty one
    first, row = rides[0], trips.iloc[0]
    assert first["pickup"] == {"time": row["tpep_pickup_datetime"].isoformat(), "zone_id": row["PULocationID"]}
    surcharges = sum(s["amount"] for s in first["payment"]["surcharges"])
    assert surcharges == pytest.approx(row[["extra", "mta_tax", "improvement_surcharge", "congestion_surcharge",
                                            "tolls_amount"]].sum())


def test_page_size_and_bad_parameters(api):
    assert len(requests.get(api.url + "/rides", params={"page": 2, "page_size": 7}).json()) == 7
    assert requests.get(api.url + "/rides", params={"page": 2, "page_size": 7}).json()[0]["ride_id"] == 8
    for bad in ({"page": 0}, {"page_size": 1001}, {"since": "yesterday"}, {"fail": "404"}):
        assert requests.get(api.url + "/rides", params=bad).status_code == 422, bad


def test_since_reads_changes_in_updated_order(settings, trips):
    with RidesAPI(settings, faults="", until=CUTOFF) as api:
        dropoff = trips["tpep_dropoff_datetime"]
        assert len(every_page(api.url)) == int((dropoff <= pd.Timestamp("2021-01-20")).sum())
        latest = max(r["updated_at"] for r in every_page(api.url))
        assert api.advance() == int((dropoff > pd.Timestamp("2021-01-20")).sum())
        changed = api.amend(3, tip=5.0)
        assert changed["updated_at"] > latest and changed["payment"]["tip"] == 5.0
        since = every_page(api.url, since=latest)
        stamps = [(r["updated_at"], r["ride_id"]) for r in since]
        assert stamps == sorted(stamps) and since[-1]["ride_id"] == 3
        assert {r["ride_id"] for r in since} >= set(trips.index[dropoff > pd.Timestamp("2021-01-20")] + 1)
        with pytest.raises(ApiError, match="does not go back"):
            api.advance("2021-01-10T00:00:00Z")


def test_failures_by_query_and_by_schedule(settings):
    with RidesAPI(settings, faults="429:2,500:3", slow_seconds=0.3) as api:
        statuses = [requests.get(api.url + "/rides", params={"page_size": 1}).status_code for _ in range(6)]
        assert statuses == [200, 429, 500, 429, 200, 429]  # a 429 wins when both fall on one request
        limited = requests.get(api.url + "/rides", params={"fail": "429"})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        assert requests.get(api.url + "/rides", params={"fail": "500"}).status_code == 500
        started = time.perf_counter()
        slow = requests.get(api.url + "/rides", params={"fail": "slow", "page_size": 1})
        assert slow.status_code == 200 and time.perf_counter() - started >= 0.3
    assert Faults.parse("slow:11,429:5") == Faults(rate_limit_every=5, slow_every=11)
    with pytest.raises(ApiError, match="KIND:N"):
        Faults.parse("418:3")


@pytest.mark.stack  # a server process
def test_zoomcamp_api_serve(settings):
    port = free_port()
    # A terminal's Ctrl-C: SIGINT as the default action (an xdist worker ignores SIGINT, and its children inherit that).
    server = subprocess.Popen([ZOOMCAMP, "api", "serve", "--port", str(port), "--faults", "500:2"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for _ in range(300):
            try:
                health = requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert health.json()["rides"] == settings.api_rides
        statuses = [requests.get(f"http://127.0.0.1:{port}/rides").status_code for _ in range(2)]
        assert statuses == [200, 500]  # every 2nd request to /rides
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=30)[0]
    assert f"rides API: http://127.0.0.1:{port}/rides" in output and server.returncode == 0


# --- dlt ------------------------------------------------------------------------------------------------------------

def fresh() -> dict:
    """A pipeline and dataset of its own, so tests never see each other's state."""
    tag = uuid.uuid4().hex[:8]
    return {"name": f"test_{tag}", "dataset": f"test_{tag}"}


def loaded(kind: str, names: dict, table: str = "rides") -> pd.DataFrame:
    return api_pipeline.rides_table(api_pipeline.pipeline(kind, **names), table)


@pytest.mark.stack  # the API's server and three dlt runs (~15 s of CPU)
def test_dlt_loads_every_ride_once_then_only_changes_and_merges_an_update(settings, trips):
    names = fresh()
    with RidesAPI(settings, faults="429:3,500:4", until=CUTOFF) as api:
        early = trips[trips["tpep_dropoff_datetime"] <= pd.Timestamp("2021-01-20")]
        first = api_pipeline.load(api.url, "duckdb", **names)
        assert api_pipeline.loaded_rows(first)["rides"] == len(early)
        assert api.requests["429"] >= 1 and api.requests["500"] >= 1  # retried through both
        rides = loaded("duckdb", names)
        assert len(rides) == rides["ride_id"].nunique() == len(early)
        assert rides["payment__total"].sum() == pytest.approx(early["total_amount"].sum(), abs=0.01)

        new = api.advance()
        assert api_pipeline.loaded_rows(api_pipeline.load(api.url, "duckdb", **names))["rides"] == new
        amended = api.amend(3, tip=5.0)
        assert api_pipeline.loaded_rows(api_pipeline.load(api.url, "duckdb", **names)) == \
            {"rides": 1, "rides__payment__surcharges": len(amended["payment"]["surcharges"])}
        assert api_pipeline.loaded_rows(api_pipeline.load(api.url, "duckdb", **names)) == {}  # nothing new

    rides = loaded("duckdb", names)
    assert len(rides) == rides["ride_id"].nunique() == len(trips)  # merged on ride_id, never duplicated
    assert rides.loc[rides["ride_id"] == 3, "payment__tip"].item() == 5.0
    expected_total = trips["total_amount"].sum() + 5.0 - trips.loc[2, "tip_amount"]
    assert rides["payment__total"].sum() == pytest.approx(expected_total, abs=0.01)
    surcharges = loaded("duckdb", names, "rides__payment__surcharges")
    assert surcharges["_dlt_parent_id"].isin(rides["_dlt_id"]).all()  # the child table, joined on dlt's ids
    assert len(surcharges) == sum((trips[c].fillna(0) != 0).sum() for c in
                                  ("extra", "mta_tax", "improvement_surcharge", "congestion_surcharge", "tolls_amount"))


@pytest.mark.stack
def test_dlt_loads_the_same_rides_into_postgres_and_the_lake(settings, trips, api):
    from zoomcamp import db
    from zoomcamp.lake import API, Lake

    names = fresh()
    api_pipeline.load(api.url, "postgres", **names)
    rides = db.query(f'SELECT count(*) AS n, count(DISTINCT ride_id) AS ids, sum(payment__total) AS total '
                     f'FROM {names["dataset"]}.rides')
    assert rides.loc[0, "n"] == rides.loc[0, "ids"] == len(trips)
    assert rides.loc[0, "total"] == pytest.approx(trips["total_amount"].sum(), abs=0.01)
    state = db.query(f'SELECT pipeline_name FROM {names["dataset"]}._dlt_pipeline_state')
    assert names["name"] in set(state["pipeline_name"])  # the cursor lives with the data

    api_pipeline.load(api.url, "lake", **names)
    lake = Lake(settings)
    files = lake.fs.glob(lake.path(API, names["dataset"], "rides", "*.parquet"))
    con = lake.duckdb()
    n, total = con.sql(f"SELECT count(*), sum(payment__total) FROM read_parquet({[lake.protocol + f for f in files]})"
                       ).fetchone()
    assert n == len(trips) and total == pytest.approx(trips["total_amount"].sum(), abs=0.01)
    assert "rides_api" not in lake.datasets() and API not in lake.datasets()  # not a TLC dataset


@pytest.mark.stack
def test_week2_homework_reads_the_tables_dlt_loaded(settings, trips, api, write_answers):
    from zoomcamp import homework
    from zoomcamp.weeks import week_2

    # Week 2's notebooks may have loaded these tables on this worker already: start from what reset 2 leaves.
    week_2.clear_dlt(settings)
    workshop = [q for q in homework.questions(2) if q.id in ("q5", "q6", "q7")]
    with pytest.raises(homework.NotLoaded, match="notebook 06"):
        workshop[0].answer(settings)
    api_pipeline.load(api.url, "postgres")  # the course's pipeline rides_postgres, into rides_api
    expected = {q.id: q.answer(settings) for q in workshop}
    assert expected == {"q5": len(trips), "q6": int((trips["tolls_amount"].fillna(0) != 0).sum()),
                        "q7": trips["tpep_dropoff_datetime"].max().strftime("%Y-%m-%dT%H:%M:%SZ")}
    grades = homework.grade(2, write_answers(dict(expected, q6=expected["q6"] + 1)))
    assert [(g.question, g.correct) for g in grades[4:]] == [("q5", True), ("q6", False), ("q7", True)]


@pytest.mark.stack  # the API's server and `zoomcamp api load` processes, one killed
def test_a_killed_pipeline_rerun_loses_and_duplicates_nothing(settings, trips):
    names = fresh()
    with RidesAPI(settings, faults="slow:2", slow_seconds=1.0) as api:
        run = subprocess.Popen([ZOOMCAMP, "api", "load", api.url, "--to", "duckdb", "--name", names["name"],
                                "--dataset", names["dataset"]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        deadline = time.monotonic() + 120
        while api.requests["200"] < 3 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)  # mid-extract: some pages fetched, nothing loaded
        run.wait(timeout=30)
        assert run.returncode == -signal.SIGKILL, run.stdout.read()
        api_pipeline.load(api.url, "duckdb", **names)
    rides = loaded("duckdb", names)
    assert len(rides) == rides["ride_id"].nunique() == len(trips)
    assert rides["payment__total"].sum() == pytest.approx(trips["total_amount"].sum(), abs=0.01)


def test_a_failing_run_is_one_course_error(settings, monkeypatch):
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "1")
    with pytest.raises(api_pipeline.PipelineError, match=r"failed at its extract step: Connection\w*Error") as failed:
        api_pipeline.load(f"http://127.0.0.1:{free_port()}", "duckdb", **fresh())  # nothing listens there
    assert "\n" not in str(failed.value)
