"""Benchmark: week 5's revenue report (green + yellow, per zone, month and service) with Spark, DuckDB and pandas.

    python bench/spark_report.py [--rows 20000 200000 2000000]

For each size: one month of green and one of yellow trips with ``--rows`` rows each (the course's sample generator,
as parquet, kept under ``<home>/bench/``), then the same report three ways, each checked to give the same rows:

- Spark (``zoomcamp.spark.revenue_report``, ``local[*]``), in a child process per JVM setting: the course's quick-start
  JVM options (C1 JIT, serial GC) and the JVM's defaults. Reported apart: the session's start, the first run of the
  query (JIT warm-up included) and a second run.
- DuckDB: the same rules in one SQL query, in this process.
- pandas: sort, drop duplicates, merge, groupby, in this process.

Spark's start-up (a JVM, a few seconds) is paid once per application: it dominates small inputs. The output says at
which size Spark's query time (without the start-up) catches up with DuckDB's and pandas'. The last line is
``name=value`` pairs for the largest size: ``rows=<n> spark_s=<quick-start session: start + first run> spark_start_s=
spark_query_s=<second run> spark_full_jit_s=<default JVM: start + first run> duckdb_s= pandas_s=`` and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

KINDS = {"green": ("lpep", "Green"), "yellow": ("tpep", "Yellow")}


def files(rows: int) -> dict[str, str]:
    from zoomcamp import datasets
    from zoomcamp.settings import get_settings

    settings = get_settings()
    settings = settings.replace(data_dir=settings.home / "bench" / f"spark_report-{rows}")
    paths = {kind: str(datasets.write_sample_trips([kind], [datasets.Month(2021, 1)], rows=rows, formats=["parquet"],
                                                   settings=settings)[0]) for kind in KINDS}
    paths["zones"] = str(datasets.zones_file(settings=settings))
    return paths


def run_spark(paths: dict[str, str], quick_start: bool) -> dict:
    """In a child process: a fresh JVM per setting (JVM options are fixed when it starts)."""
    from zoomcamp import spark as zspark

    started = time.perf_counter()
    session = zspark.session("bench_spark_report", driver_memory="3g", ui=False, quick_start=quick_start)
    start_s = time.perf_counter() - started
    runs, rows = [], 0
    for _ in range(2):
        started = time.perf_counter()
        green = zspark.read_trips(session, "green", paths["green"])
        yellow = zspark.read_trips(session, "yellow", paths["yellow"])
        report = zspark.revenue_report(green, yellow, zspark.read_zones(session, paths["zones"])).toPandas()
        runs.append(time.perf_counter() - started)
        rows = int(report["total_monthly_trips"].sum())
    session.stop()
    return {"start_s": start_s, "first_s": runs[0], "second_s": runs[1], "report_rows": len(report), "trips": rows}


def run_duckdb(paths: dict[str, str]) -> tuple[float, int, int]:
    import duckdb

    staged = " UNION ALL ".join(f"""
        SELECT '{service}' AS service_type, PULocationID, DOLocationID, {p}_pickup_datetime AS pickup, total_amount
        FROM read_parquet('{paths[kind]}')
        WHERE VendorID IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY VendorID, {p}_pickup_datetime
                                   ORDER BY {p}_dropoff_datetime, total_amount, trip_distance) = 1"""
                                for kind, (p, service) in KINDS.items())
    started = time.perf_counter()
    con = duckdb.connect()
    report = con.execute(f"""
        WITH trips AS ({staged}),
        zones AS (SELECT * FROM read_csv('{paths["zones"]}', header = true) WHERE Borough != 'Unknown')
        SELECT PULocationID, pz.Zone, CAST(date_trunc('month', pickup) AS DATE) AS month, service_type,
               count(*) AS trips, sum(total_amount) AS revenue
        FROM trips JOIN zones pz ON PULocationID = pz.LocationID JOIN zones dz ON DOLocationID = dz.LocationID
        GROUP BY ALL
    """).df()
    return time.perf_counter() - started, len(report), int(report["trips"].sum())


def run_pandas(paths: dict[str, str]) -> tuple[float, int, int]:
    import pandas as pd

    started = time.perf_counter()
    zones = pd.read_csv(paths["zones"])
    known = zones.loc[zones["Borough"] != "Unknown", ["LocationID", "Zone"]]
    frames = []
    for kind, (p, service) in KINDS.items():
        trips = pd.read_parquet(paths[kind], columns=["VendorID", f"{p}_pickup_datetime", f"{p}_dropoff_datetime",
                                                      "PULocationID", "DOLocationID", "trip_distance", "total_amount"])
        trips = (trips[trips["VendorID"].notna()]
                 .sort_values(["VendorID", f"{p}_pickup_datetime", f"{p}_dropoff_datetime", "total_amount",
                               "trip_distance"])
                 .drop_duplicates(["VendorID", f"{p}_pickup_datetime"]))
        frames.append(pd.DataFrame({"service_type": service, "PULocationID": trips["PULocationID"],
                                    "DOLocationID": trips["DOLocationID"], "pickup": trips[f"{p}_pickup_datetime"],
                                    "total_amount": trips["total_amount"]}))
    trips = pd.concat(frames, ignore_index=True)
    trips = trips.merge(known, left_on="PULocationID", right_on="LocationID")
    trips = trips[trips["DOLocationID"].isin(known["LocationID"])]
    report = (trips.groupby(["PULocationID", "Zone", trips["pickup"].dt.to_period("M"), "service_type"])
              .agg(trips=("total_amount", "size"), revenue=("total_amount", "sum")).reset_index())
    return time.perf_counter() - started, len(report), int(report["trips"].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000, 2_000_000],
                        help="rows per month and service, one run per size (default: 20,000 200,000 2,000,000)")
    parser.add_argument("--spark", choices=["quick", "full"], help=argparse.SUPPRESS)  # a child process's job
    parser.add_argument("--paths", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.spark:
        print(json.dumps(run_spark(json.loads(args.paths), args.spark == "quick")))
        return

    figures = {}
    for rows in args.rows:
        print(f"{rows:,} rows per service: generating ...", flush=True)
        paths = files(rows)
        spark = {}
        for jvm in ("quick", "full"):
            out = subprocess.run([sys.executable, __file__, "--spark", jvm, "--paths", json.dumps(paths)],
                                 capture_output=True, text=True, env=os.environ)
            if out.returncode != 0:
                raise SystemExit(f"spark ({jvm}) failed:\n{out.stderr[-3000:]}")
            spark[jvm] = json.loads(out.stdout.strip().splitlines()[-1])
        duck_s, duck_rows, duck_trips = run_duckdb(paths)
        pandas_s, pandas_rows, pandas_trips = run_pandas(paths)
        quick, full = spark["quick"], spark["full"]
        if not (quick["report_rows"] == full["report_rows"] == duck_rows == pandas_rows
                and quick["trips"] == duck_trips == pandas_trips):
            raise SystemExit(f"the engines disagree: spark {quick}, duckdb {duck_rows} rows/{duck_trips} trips, "
                             f"pandas {pandas_rows}/{pandas_trips}")
        figures = {"rows": rows, "spark_s": quick["start_s"] + quick["first_s"], "spark_start_s": quick["start_s"],
                   "spark_query_s": quick["second_s"], "spark_full_jit_s": full["start_s"] + full["first_s"],
                   "spark_full_jit_query_s": full["second_s"], "duckdb_s": duck_s, "pandas_s": pandas_s}
        print(f"  report: {duck_rows} rows, {duck_trips:,} trips (the same in the three engines)")
        for jvm, r in spark.items():
            print(f"  spark ({jvm:>5} JVM): start {r['start_s']:5.1f} s, first run {r['first_s']:6.2f} s, "
                  f"second run {r['second_s']:6.2f} s")
        print(f"  duckdb: {duck_s:6.2f} s   pandas: {pandas_s:6.2f} s")
        total = figures["spark_s"]
        print(f"  spark (start + first run) / duckdb = {total / duck_s:.1f}x, / pandas = {total / pandas_s:.1f}x; "
              f"start-up is {quick['start_s'] / total:.0%} of Spark's time; "
              f"spark's second run / duckdb = {quick['second_s'] / duck_s:.1f}x, / pandas = "
              f"{quick['second_s'] / pandas_s:.1f}x", flush=True)
    figures["spark_vs_duckdb"] = figures["spark_s"] / figures["duckdb_s"]
    figures["spark_vs_pandas"] = figures["spark_s"] / figures["pandas_s"]
    print(" ".join(f"{k}={v}" if k == "rows" else f"{k}={v:.2f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
