"""The revenue report as a Spark job: green and yellow trips in, revenue per pickup zone, month and service out.

    spark-submit --master local[*] revenue_report.py \\
        --green LAKE/green --yellow LAKE/yellow --zones taxi_zone_lookup.csv --month 2021-01 --output OUT

``--green``/``--yellow`` are lake folders (``year=YYYY/month=MM/*.parquet``; ``--month`` reads only that month's
folder) or CSV files; ``--output`` is a folder of parquet files, replaced by each run (a re-run of a month gives the
same files: the job is idempotent). The master comes from spark-submit's ``--master``: the script runs unchanged on
``local[*]``, on a standalone cluster (``spark://127.0.0.1:7077``) and on Dataproc (``yarn``, with ``gs://`` paths).

The logic lives in the course library (``zoomcamp.spark.revenue_report``), shared with the notebooks and the DAG.
"""

from __future__ import annotations

import argparse
import json


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--green", required=True, help="green trips: a lake folder or CSV file(s)", nargs="+")
    parser.add_argument("--yellow", required=True, help="yellow trips: a lake folder or CSV file(s)", nargs="+")
    parser.add_argument("--zones", required=True, help="the taxi zone lookup CSV")
    parser.add_argument("--month", help="YYYY-MM: read and report only this month (default: everything)")
    parser.add_argument("--output", required=True, help="folder for the report's parquet files (replaced)")
    parser.add_argument("--partitions", type=int, default=1, help="output files (default 1: the report is small)")
    args = parser.parse_args(argv)
    missing_input(parser, args)

    from zoomcamp import spark as zspark

    session = zspark.session("revenue_report")
    green = zspark.read_trips(session, "green", args.green, months=args.month)
    yellow = zspark.read_trips(session, "yellow", args.yellow, months=args.month)
    zones = zspark.read_zones(session, args.zones)
    report = zspark.revenue_report(green, yellow, zones, month=args.month)
    report.coalesce(args.partitions).write.mode("overwrite").parquet(args.output)
    written = session.read.parquet(args.output)
    summary = {"rows": written.count(), "trips": written.agg({"total_monthly_trips": "sum"}).first()[0] or 0,
               "master": session.sparkContext.master, "output": args.output}
    print("REVENUE-REPORT " + json.dumps(summary), flush=True)  # one line the caller can find in the log
    session.stop()


def missing_input(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """One line (exit 2) for a local input that is not there, before Spark starts (it died with a traceback)."""
    from pathlib import Path

    for option in ("green", "yellow", "zones"):
        values = getattr(args, option)
        for value in values if isinstance(values, list) else [values]:
            if "://" in value or Path(value).exists():
                continue
            hint = ("; fill the local lake first, e.g. `ZOOMCAMP_LAKE_URL=<home>/lake-local zoomcamp lake ingest "
                    f"{option} 2021-01` (or run week 5's notebook 01)") if option != "zones" else ""
            parser.exit(2, f"revenue_report: error: --{option} {value}: no such file or folder "
                           f"(relative to {Path.cwd()}){hint}\n")


if __name__ == "__main__":
    main()
