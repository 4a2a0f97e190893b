"""Benchmark: `dbt build` of week 4's project on each local target, from a clean database, twice.

    python bench/dbt_build.py [--rows 5000] [--targets dev duckdb]

For each target: drop the models' and raw schemas, load the raw tables (one month of green, yellow and FHV
trips, ``--rows`` each), then ``dbt build`` twice (the second run finds nothing new for the incremental
``fact_trips``). dbt runs in this process (``dbtRunner``), so importing dbt (~3 s) is paid once and reported apart.
Uses the course's settings (``ZOOMCAMP_HOME`` etc.) and starts the stack if needed. The last line is ``name=value``
pairs: ``<target>_first=<s> <target>_second=<s>`` and the raw load time.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000, help="sample rows per trip file (default 5,000)")
    parser.add_argument("--targets", nargs="+", default=["dev", "duckdb"], choices=["dev", "duckdb"])
    args = parser.parse_args()
    os.environ["ZOOMCAMP_SAMPLE_ROWS"] = str(args.rows)

    from zoomcamp import dbt, stack
    from zoomcamp.settings import reload_settings

    reload_settings()
    stack.up(["postgres"])
    started = time.perf_counter()
    importlib.import_module("dbt.cli.main")  # the one-off import, timed apart

    figures = {"import_dbt": time.perf_counter() - started}
    for target in args.targets:
        dbt.reset(target)
        started = time.perf_counter()
        rows = dbt.load_raw(target)
        figures[f"{target}_load_raw"] = time.perf_counter() - started
        for label in ("first", "second"):
            started = time.perf_counter()
            result = dbt.run("build", target=target)
            figures[f"{target}_{label}"] = time.perf_counter() - started
            if not result.success:
                raise SystemExit(f"dbt build failed on {target}: {result.failed()}")
            print(f"{target} {label} build: {result} ({sum(rows.values()):,} raw rows)", flush=True)
    print(" ".join(f"{name}={seconds:.2f}" for name, seconds in figures.items()))


if __name__ == "__main__":
    main()
