"""Benchmark: loading one yellow month into the local PostgreSQL, three ways, in one run.

    python bench/ingest.py [--rows 1300000]

(a) the course's ingest (``zoomcamp.ingest.to_postgres``: Arrow blocks, type checks, quarantine, COPY)
(b) the classic method other courses teach: pandas ``read_csv`` in 100,000-row chunks + ``to_sql(append)``
(c) the limit: ``COPY`` of the same CSV straight from the file, no type handling at all

Each method runs in its own process, so its peak memory (max RSS) is its own. Uses the course's
settings (``ZOOMCAMP_HOME`` etc.) and starts the stack if needed. The last line is ``name=value`` pairs
to compare runs: ``vs_to_sql=<a/b> vs_copy=<a/c> peak_mb=<a's peak>``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

METHODS = ("course", "to_sql", "copy")


def peak_rss_mb() -> float:
    """This process's peak resident memory. (``ru_maxrss`` would do, but Linux carries it across exec from
    the parent's fork, so a child would report the parent's peak; VmHWM belongs to the process image.)"""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(method: str, path: str) -> dict:
    import gzip

    import pandas as pd
    import psycopg2
    import sqlalchemy as sa

    from zoomcamp import db, ingest
    from zoomcamp.stack.postgres import Postgres

    table = f"bench_{method}"
    db.execute(f"DROP TABLE IF EXISTS {table}")
    started = time.perf_counter()
    if method == "course":
        rows = ingest.to_postgres(path, table, progress=False).rows
    elif method == "to_sql":
        engine = sa.create_engine(db.url())
        rows = 0
        dates = ["tpep_pickup_datetime", "tpep_dropoff_datetime"]
        for chunk in pd.read_csv(path, chunksize=100_000, parse_dates=dates):
            chunk.to_sql(table, engine, if_exists="append", index=False)
            rows += len(chunk)
    else:
        from zoomcamp.datasets.schemas import postgres_ddl

        conn = psycopg2.connect(Postgres().url())
        with conn, conn.cursor() as cur, gzip.open(path, "rb") as f:
            cur.execute(postgres_ddl("yellow", table))
            cur.copy_expert(f'COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)', f)
            rows = cur.rowcount
        conn.close()
    seconds = time.perf_counter() - started
    peak_mb = peak_rss_mb()
    db.execute(f"DROP TABLE IF EXISTS {table}")
    return {"method": method, "rows": rows, "seconds": seconds, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_300_000,
                        help="rows in the generated month (January 2021 had about 1.37M)")
    parser.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)  # a child process's job
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        print(json.dumps(run_one(args.method, args.path)))
        return

    from zoomcamp import datasets, stack

    stack.up()
    print(f"generating {args.rows:,} yellow rows ...", flush=True)
    (path,) = datasets.write_sample_trips(["yellow"], [datasets.Month(2021, 1)], rows=args.rows, formats=["csv.gz"])
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB compressed", flush=True)
    results = {}
    for method in METHODS:
        out = subprocess.run([sys.executable, __file__, "--method", method, "--path", str(path)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results[method] = r
        print(f"{method:>7}: {r['rows']:>10,} rows in {r['seconds']:6.1f} s = "
              f"{r['rows'] / r['seconds']:>10,.0f} rows/s, peak {r['peak_mb']:,.0f} MB", flush=True)
    rate = {m: r["rows"] / r["seconds"] for m, r in results.items()}
    print(f"vs_to_sql={rate['course'] / rate['to_sql']:.1f} vs_copy={rate['course'] / rate['copy']:.2f} "
          f"peak_mb={results['course']['peak_mb']:.0f}")


if __name__ == "__main__":
    main()
