"""Benchmark: one yellow month, CSV.gz -> parquet, two ways, in one run.

    python bench/parquet.py [--rows 1300000]

(a) the course's converter (``zoomcamp.datasets.blocks.to_parquet``: Arrow's streaming CSV reader with the TLC types,
    written row group by row group — what ``zoomcamp lake ingest`` runs)
(b) the classic way: ``pandas.read_csv(...)`` of the whole file, then ``DataFrame.to_parquet(...)``

Each method runs in its own process, so its peak memory is its own. Both outputs are checked to hold the same rows.
The last line is ``name=value`` pairs to compare runs: ``vs_pandas=<b time / a time> peak_mb=<a's peak>
pandas_peak_mb=<b's peak>``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METHODS = ("course", "pandas")


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: ru_maxrss would carry the parent's peak across exec)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no /proc/self/status: this benchmark measures memory on Linux only")


def run_one(method: str, source: str, target: str) -> dict:
    import pandas as pd  # imports before the clock starts: the benchmark times the work, not the imports
    import pyarrow.parquet as pq

    from zoomcamp.datasets.blocks import to_parquet

    started = time.perf_counter()
    if method == "course":
        to_parquet(Path(source), Path(target), "yellow")
    else:
        dates = ["tpep_pickup_datetime", "tpep_dropoff_datetime"]
        pd.read_csv(source, parse_dates=dates).to_parquet(target, index=False)
    seconds = time.perf_counter() - started
    return {"method": method, "rows": pq.ParquetFile(target).metadata.num_rows, "seconds": seconds,
            "peak_mb": peak_rss_mb(), "mb": Path(target).stat().st_size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_300_000,
                        help="rows in the generated month (January 2021 had about 1.37M)")
    parser.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)  # a child process's job
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        print(json.dumps(run_one(args.method, args.source, args.target)))
        return

    from zoomcamp import datasets

    print(f"generating {args.rows:,} yellow rows ...", flush=True)
    (path,) = datasets.write_sample_trips(["yellow"], [datasets.Month(2021, 1)], rows=args.rows, formats=["csv.gz"])
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB compressed", flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for method in METHODS:
            target = str(Path(work) / f"{method}.parquet")
            out = subprocess.run([sys.executable, __file__, "--method", method, "--source", str(path),
                                  "--target", target], capture_output=True, text=True, check=True)
            r = results[method] = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{method:>7}: {r['rows']:>10,} rows in {r['seconds']:6.1f} s, peak {r['peak_mb']:,.0f} MB, "
                  f"parquet {r['mb']:,.1f} MB", flush=True)
    assert results["course"]["rows"] == results["pandas"]["rows"], "the two outputs differ"
    print(f"vs_pandas={results['pandas']['seconds'] / results['course']['seconds']:.1f} "
          f"peak_mb={results['course']['peak_mb']:.0f} pandas_peak_mb={results['pandas']['peak_mb']:.0f}")


if __name__ == "__main__":
    main()
