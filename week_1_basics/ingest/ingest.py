"""Week 1's ingestion job: load TLC files into PostgreSQL. What the Docker image runs.

    python ingest.py --table yellow_taxi_trips --file /data/yellow_tripdata_2021-01.csv.gz
    python ingest.py --table zones --file /data/taxi_zone_lookup.csv --db-url postgresql://root:root@pgdatabase:5432/ny_taxi

It is a thin wrapper: the work is ``zoomcamp.ingest.to_postgres`` (streamed COPY, TLC types, malformed
rows quarantined, safe to re-run), the same function as ``zoomcamp ingest postgres``. Without
``--db-url`` (or ``DATABASE_URL``) it loads into the course's local PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys

from zoomcamp.errors import CourseError
from zoomcamp.ingest import to_postgres


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load a TLC file (CSV, CSV.gz, parquet) into PostgreSQL.")
    parser.add_argument("--file", required=True, help="the TLC file, e.g. yellow_tripdata_2021-01.csv.gz")
    parser.add_argument("--table", required=True, help="the target table")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--replace", dest="mode", action="store_const", const="replace",
                      help="replace the table (default)")
    mode.add_argument("--append", dest="mode", action="store_const", const="append", help="add the rows")
    parser.add_argument("--kind", help="file kind when the name does not tell (yellow, green, fhv, fhvhv, zones)")
    parser.add_argument("--db-url", default=os.environ.get("DATABASE_URL"),
                        help="postgresql://user:password@host:port/db (default: $DATABASE_URL, else the local stack)")
    args = parser.parse_args(argv)
    try:
        result = to_postgres(args.file, args.table, kind=args.kind, mode=args.mode or "replace", dsn=args.db_url)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
