"""Benchmark: week 2's rides API into a database, by hand and with dlt, in one run.

    python bench/api.py [--rides 20000]

(extract) the ceiling: the hand-written page loop of notebook 05 (requests, one page after another), no load
(hand)    the same loop, flattened with ``pandas.json_normalize`` (the surcharges as a child table), into DuckDB
(duckdb)  dlt: the course's REST API source (``zoomcamp.api_pipeline``) into DuckDB (parquet load files)
(postgres) dlt: the same into the course's PostgreSQL (csv load files, COPY)

The API runs in this process (``zoomcamp.api.RidesAPI``, no failures injected); each method runs in its own
process, timed from its first request to its last commit (imports not counted), on a fresh pipeline and dataset.
Uses the course's settings (``ZOOMCAMP_HOME`` etc.) and starts PostgreSQL if needed. The last line is
``name=value`` pairs: rides per second of each method and dlt's rate over the hand-written loop's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid

METHODS = ("extract", "hand", "duckdb", "postgres")


def pages(url: str):
    import requests

    page = 1
    while True:
        response = requests.get(f"{url}/rides", params={"page": page}, timeout=30)
        response.raise_for_status()
        if not response.json():
            return
        yield response.json()
        page += 1


def run_one(method: str, url: str) -> dict:
    import duckdb
    import pandas as pd

    from zoomcamp import api_pipeline
    from zoomcamp.settings import get_settings

    tag = f"bench_{method}_{uuid.uuid4().hex[:6]}"
    if method in ("duckdb", "postgres"):
        api_pipeline.pipeline(method, name=tag, dataset=tag)  # dlt imported and configured before the clock starts
    started = time.perf_counter()
    if method in ("extract", "hand"):
        rides = [ride for page in pages(url) for ride in page]
        if method == "hand":
            flat = pd.json_normalize(rides).drop(columns="payment.surcharges")
            surcharges = pd.json_normalize(rides, record_path=["payment", "surcharges"], meta=["ride_id"])
            con = duckdb.connect(str(get_settings().dlt_path / "bench_hand.duckdb"))
            con.register("flat", flat)
            con.register("surcharges", surcharges)
            con.execute(f"CREATE TABLE {tag} AS SELECT * FROM flat")
            con.execute(f"CREATE TABLE {tag}_surcharges AS SELECT * FROM surcharges")
            con.close()
        count = len(rides)
    else:
        info = api_pipeline.load(url, method, name=tag, dataset=tag)
        count = api_pipeline.loaded_rows(info)["rides"]
    seconds = time.perf_counter() - started
    return {"method": method, "rides": count, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rides", type=int, default=20_000,
                        help="rides the API serves (at most the sample month's rows: settings.sample_rows)")
    parser.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)  # a child process's job
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        print(json.dumps(run_one(args.method, args.url)))
        return

    os.environ["ZOOMCAMP_API_RIDES"] = str(args.rides)
    from zoomcamp import stack
    from zoomcamp.api import RidesAPI
    from zoomcamp.settings import reload_settings

    reload_settings()
    stack.up(["postgres"])
    results = {}
    with RidesAPI(faults="") as api:
        print(f"rides API on {api.url}: {len(api.store):,} rides", flush=True)
        for method in METHODS:
            out = subprocess.run([sys.executable, __file__, "--method", method, "--url", api.url],
                                 capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{method} failed:\n{out.stderr[-2000:]}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results[method] = r
            print(f"{method:>8}: {r['rides']:>7,} rides in {r['seconds']:6.2f} s = "
                  f"{r['rides'] / r['seconds']:>8,.0f} rides/s", flush=True)
    rate = {m: r["rides"] / r["seconds"] for m, r in results.items()}
    print(" ".join(f"{m}_rides_per_s={rate[m]:.0f}" for m in METHODS)
          + f" duckdb_vs_hand={rate['duckdb'] / rate['hand']:.2f}"
          + f" postgres_vs_hand={rate['postgres'] / rate['hand']:.2f}")


if __name__ == "__main__":
    main()
