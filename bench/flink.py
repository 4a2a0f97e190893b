"""Benchmark: rides per second through week 6's window job, Flink vs Spark Structured Streaming, one run each.

    python bench/flink.py [--rides 100000]

The same topic (JSON rides of a generated January, 3 partitions) and the same job: count rides and sum
``total_amount`` per pickup zone and 15-minute tumbling window of event time, results upserted into PostgreSQL.

(a) Flink: ``week_6_streaming/flink/zone_windows.py --bounded`` in Flink's environment (a mini-cluster, Flink SQL,
    the JDBC sink); rate = rides / the job's own run time (Flink's net runtime), and rides / the whole process
    (JVM start, planning, submission included);
(b) Spark: Structured Streaming's ``kafka`` source, ``from_json``, a watermark, ``groupBy(window, zone)``, update
    mode, ``foreachBatch`` upserting into PostgreSQL (psycopg2), ``trigger(availableNow=True)``; rate = rides /
    the query's run time, and rides / the whole (SparkSession start included).

Both tables are then compared with pandas. Uses the course's settings and starts the stack if needed; its topic and
tables are its own (``bench-flink-*``). Last line: ``vs_spark=<a/b> flink_rides_s=<a> spark_rides_s=<b>
flink_total_rides_s=... spark_total_rides_s=...``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

TOPIC, FLINK_TABLE, SPARK_TABLE = "bench-flink-rides", "bench_flink_windows", "bench_spark_windows"


def spark_run(n: int) -> tuple[float, float]:
    """(query seconds, total seconds) of the Spark equivalent."""
    import psycopg2.extras
    from pyspark.sql import functions as F

    from zoomcamp import db
    from zoomcamp.streaming import spark as zspark

    started = time.perf_counter()
    session = zspark.spark_session("bench-flink-vs-spark")
    schema = "PULocationID INT, tpep_pickup_datetime STRING, total_amount DOUBLE"
    rides = (zspark.read_stream(session, TOPIC)
             .select(F.from_json(F.col("value").cast("string"), schema).alias("r")).select("r.*")
             .withColumn("event_time", F.to_timestamp("tpep_pickup_datetime"))
             .withWatermark("event_time", "60 seconds"))
    windows = (rides.groupBy(F.window("event_time", "15 minutes"), F.col("PULocationID").alias("zone"))
               .agg(F.count("*").alias("rides"), F.round(F.sum("total_amount"), 2).alias("revenue")))
    db.execute(f"DROP TABLE IF EXISTS {SPARK_TABLE}")
    db.execute(f"CREATE TABLE {SPARK_TABLE} (window_start TIMESTAMP, zone INTEGER, rides BIGINT, "
               "revenue NUMERIC(14, 2), PRIMARY KEY (window_start, zone))")
    url = db.url(driver="postgresql")

    def upsert(batch, _batch_id):
        rows = [(r.window.start, r.zone, r.rides, r.revenue) for r in batch.collect()]
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            psycopg2.extras.execute_values(cur, f"""INSERT INTO {SPARK_TABLE} VALUES %s ON CONFLICT (window_start, zone)
                DO UPDATE SET rides = EXCLUDED.rides, revenue = EXCLUDED.revenue""", rows)

    checkpoint = tempfile.mkdtemp(prefix="bench-spark-")
    query_started = time.perf_counter()
    try:
        query = (windows.writeStream.outputMode("update").foreachBatch(upsert)
                 .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())
        query.awaitTermination()
    finally:
        shutil.rmtree(checkpoint, ignore_errors=True)
    done = time.perf_counter()
    session.stop()
    return done - query_started, done - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rides", type=int, default=100_000, help="rides generated for January 2021")
    args = parser.parse_args()

    import pandas as pd

    from zoomcamp import db, stack, streaming
    from zoomcamp.datasets.sample import trips_frame
    from zoomcamp.streaming import flink

    stack.up(["postgres", "kafka"])
    rides = streaming.in_pickup_order(trips_frame("yellow", "2021-01", args.rides), "2021-01")
    n = len(rides)
    streaming.recreate_topic(TOPIC, partitions=3)
    streaming.replay(rides, TOPIC)
    expected = flink.expected_windows(rides, 15)
    expected["window_start"] = expected["window_start"].astype("datetime64[us]")  # as read back from PostgreSQL
    print(f"{n:,} rides in {TOPIC}; {len(expected):,} (window, zone) rows expected", flush=True)
    try:
        db.execute(f"DROP TABLE IF EXISTS {FLINK_TABLE}")
        run = flink.run_job(TOPIC, FLINK_TABLE, window_minutes=15, bounded=True, timeout=1800)
        flink_job_s, flink_total_s = float(run.value("job_seconds")), run.seconds
        pd.testing.assert_frame_equal(flink.table_windows(FLINK_TABLE), expected, check_dtype=False)
        print(f"  flink: {n / flink_job_s:>10,.0f} rides/s in the job ({flink_job_s:.1f} s), "
              f"{n / flink_total_s:,.0f} rides/s with the process ({flink_total_s:.1f} s); table = pandas", flush=True)

        spark_query_s, spark_total_s = spark_run(n)
        pd.testing.assert_frame_equal(flink.table_windows(SPARK_TABLE), expected, check_dtype=False)
        print(f"  spark: {n / spark_query_s:>10,.0f} rides/s in the query ({spark_query_s:.1f} s), "
              f"{n / spark_total_s:,.0f} rides/s with the session ({spark_total_s:.1f} s); table = pandas", flush=True)
    finally:
        streaming.delete_topics([TOPIC, f"{TOPIC}-dlt"])
        for table in (FLINK_TABLE, SPARK_TABLE):
            db.execute(f"DROP TABLE IF EXISTS {table}")
    print(f"vs_spark={spark_query_s / flink_job_s:.2f} flink_rides_s={n / flink_job_s:.0f} "
          f"spark_rides_s={n / spark_query_s:.0f} flink_total_rides_s={n / flink_total_s:.0f} "
          f"spark_total_rides_s={n / spark_total_s:.0f} rides={n}")


if __name__ == "__main__":
    main()
