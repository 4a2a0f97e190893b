"""Rides and revenue per pickup zone in tumbling event-time windows: Kafka -> Flink SQL -> PostgreSQL (upsert).

Run it in Flink's environment (``make setup`` creates ``.venv-flink``), on a local mini-cluster:

    .venv-flink/bin/python week_6_streaming/flink/zone_windows.py --topic rides --table zone_windows --bounded

or submitted to the course's standalone cluster (``zoomcamp stack up flink`` prints its port):

    .venv-flink/bin/python week_6_streaming/flink/zone_windows.py --topic rides --table zone_windows \
        --bounded --jobmanager 127.0.0.1:8081

It reads the JSON ride messages of week 6's producer (notebook 02), counts the rides and sums ``total_amount``
per ``PULocationID`` and window of ``--window-minutes`` on the pickup time (event time, with a watermark), and
upserts ``(window_start, zone, rides, revenue)`` into ``--table`` (primary key ``(window_start, zone)``): a re-run
over the same topic rewrites the same rows, and so does a restart from a checkpoint. A message that is not a
ride (not JSON, a field missing or of the wrong type) goes to the dead-letter topic with the reason; the job
carries on. ``--bounded`` reads up to the topic's end offsets as of the start, then finishes; without it the job
runs until it is cancelled (watch it in the web UI).

The last line printed is ``zone-windows: table=... rows=... seconds=...``; an error is one line
(``zone_windows: ...``, exit code 2).
"""

from __future__ import annotations

import argparse
import sys
import time

from zoomcamp.errors import CourseError
from zoomcamp.settings import get_settings
from zoomcamp.streaming import flink

PICKUP = "tpep_pickup_datetime"
ISO = "yyyy-MM-dd''T''HH:mm:ss"  # the producer writes timestamps as pandas' ISO strings, to the second


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="zone_windows", description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic", required=True, help="the Kafka topic of JSON ride messages")
    parser.add_argument("--table", required=True, help="the PostgreSQL table to upsert into (created if missing)")
    parser.add_argument("--window-minutes", type=int, default=15)
    parser.add_argument("--bounded", action="store_true", help="stop at the topic's end offsets as of the start")
    parser.add_argument("--dead-letter-topic", default="", help="default: <topic>-dlt")
    parser.add_argument("--watermark-seconds", type=int, default=60,
                        help="how far out of pickup order a ride may arrive and still count (default 60)")
    parser.add_argument("--jobmanager", default="", help="host:port of a standalone cluster's REST API "
                        "(default: run on a mini-cluster inside this process)")
    parser.add_argument("--detach", action="store_true", help="with --jobmanager: submit, print the job id, exit "
                        "(the job runs on in the cluster; cancel it in the web UI)")
    parser.add_argument("--parallelism", type=int, default=1)
    parser.add_argument("--checkpoint-seconds", type=float, default=2.0)
    parser.add_argument("--group", default="", help="Kafka consumer group (default: flink-<table>)")
    args = parser.parse_args(argv)
    if args.window_minutes < 1:
        parser.error("--window-minutes must be 1 or more")
    if args.detach and not args.jobmanager:
        parser.error("--detach needs --jobmanager (a mini-cluster ends with this process)")
    if not args.table.replace("_", "").isalnum():
        parser.error("--table must be a plain name (letters, digits, _)")
    args.dead_letter_topic = args.dead_letter_topic or f"{args.topic}-dlt"
    args.group = args.group or f"flink-{args.table}"
    return args


def prepare(args) -> dict:
    """Everything outside Flink, checked before the JVM starts: one clear line when something is missing."""
    import psycopg2

    from zoomcamp.stack.postgres import HOST, Postgres
    from zoomcamp.streaming import broker

    settings = get_settings()
    jars = flink.connector_jars(settings)  # "run make setup" when the bundle is missing
    bootstrap = broker.bootstrap_servers(settings)
    broker.describe_topic(args.topic, settings)  # "topic 'x' does not exist" before a JVM starts
    broker.ensure_topic(args.dead_letter_topic, partitions=1, settings=settings)
    jdbc = flink.jdbc_url(settings)
    pg = Postgres(settings)
    try:
        conn = psycopg2.connect(host=HOST, port=pg.read_state()["port"], user=settings.postgres_user,
                                password=pg.password, dbname=settings.postgres_db, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise CourseError(f"PostgreSQL does not answer ({str(exc).strip().splitlines()[0]}): "
                          "start it with `zoomcamp stack up`") from None
    with conn, conn.cursor() as cur:
        # The JDBC connector writes rows, it does not create tables; the primary key makes its writes upserts.
        cur.execute(f"""CREATE TABLE IF NOT EXISTS {args.table} (
            window_start TIMESTAMP NOT NULL, zone INTEGER NOT NULL, rides BIGINT NOT NULL,
            revenue NUMERIC(14, 2) NOT NULL, PRIMARY KEY (window_start, zone))""")
    conn.close()
    # The password is this home's own (zoomcamp.stack.postgres), not a setting: the JDBC sink needs it in its options.
    return {"jars": jars, "bootstrap": bootstrap, "jdbc": jdbc, "settings": settings, "password": pg.password}


def build(args, ctx: dict):
    """The job as Flink SQL: a Kafka source with a watermark, a windowed aggregate into JDBC, dead letters to
    Kafka; both inserts in one statement set, so one job with one source read."""
    from pyflink.common import Configuration
    from pyflink.table import EnvironmentSettings, TableEnvironment

    settings = ctx["settings"]
    flink.quick_start_jvm()  # before PyFlink starts its JVM (the next lines)
    config = Configuration()
    config.set_string("pipeline.name", f"zone-windows {args.topic} -> {args.table}")
    config.set_string("pipeline.jars", ";".join(p.resolve().as_uri() for p in ctx["jars"]))
    config.set_string("parallelism.default", str(args.parallelism))
    # Checkpoints: the Kafka offsets and the windows' state every few seconds, so a failed task restarts from
    # the last one instead of the topic's start; the JDBC sink flushes at each checkpoint.
    config.set_string("execution.checkpointing.interval", f"{int(args.checkpoint_seconds * 1000)} ms")
    checkpoints = settings.home / "flink" / "checkpoints" / args.table
    config.set_string("execution.checkpointing.dir", checkpoints.resolve().as_uri())
    if args.jobmanager:
        # On a cluster a TaskManager can die: each restart without free slots counts as one attempt, so keep
        # trying (up to 10 s apart) for as long as it takes to bring one back.
        config.set_string("restart-strategy.type", "exponential-delay")
        config.set_string("restart-strategy.exponential-delay.initial-backoff", "1 s")
        config.set_string("restart-strategy.exponential-delay.max-backoff", "10 s")
        config.set_string("restart-strategy.exponential-delay.attempts-before-reset-backoff", "60")
    else:  # in this process nothing comes back: fail soon with the error instead of retrying it
        config.set_string("restart-strategy.type", "fixed-delay")
        config.set_string("restart-strategy.fixed-delay.attempts", "2")
        config.set_string("restart-strategy.fixed-delay.delay", "1 s")
    if not args.bounded:
        # Live: a partition without new rides must not hold every window back. Not when bounded: a partition the
        # reader has not reached yet (busy with another) would count as idle, and its rides as late (dropped).
        config.set_string("table.exec.source.idle-timeout", "30 s")
    if args.jobmanager:
        host, _, port = args.jobmanager.rpartition(":")
        config.set_string("execution.target", "remote")
        config.set_string("rest.address", host or "127.0.0.1")
        config.set_string("rest.port", port)
    env = TableEnvironment.create(EnvironmentSettings.new_instance().in_streaming_mode()
                                  .with_configuration(config).build())
    bounded = "'scan.bounded.mode' = 'latest-offset'," if args.bounded else ""
    pg = settings
    env.execute_sql(f"""
        CREATE TABLE rides (
            body STRING,
            kafka_partition INT METADATA FROM 'partition' VIRTUAL,
            kafka_offset BIGINT METADATA FROM 'offset' VIRTUAL,
            -- A body without a readable pickup time gets the epoch: it never moves the watermark, and the
            -- dead-letter branch takes it.
            event_time AS COALESCE(TO_TIMESTAMP(JSON_VALUE(body, '$.{PICKUP}'), '{ISO}'),
                                   TIMESTAMP '1970-01-01 00:00:00'),
            WATERMARK FOR event_time AS event_time - INTERVAL '{args.watermark_seconds}' SECOND
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{args.topic}',
            'properties.bootstrap.servers' = '{ctx["bootstrap"]}',
            'properties.group.id' = '{args.group}',
            'scan.startup.mode' = 'earliest-offset',
            {bounded}
            'format' = 'raw'
        )""")
    env.execute_sql(f"""
        CREATE TEMPORARY VIEW checked AS
        SELECT body, kafka_partition, kafka_offset, event_time,
               TRY_CAST(JSON_VALUE(body, '$.PULocationID') AS INT) AS zone,
               TRY_CAST(JSON_VALUE(body, '$.total_amount') AS DECIMAL(12, 2)) AS amount,
               CASE WHEN body IS NULL OR NOT (body IS JSON OBJECT) THEN 'not a JSON object'
                    WHEN TRY_CAST(JSON_VALUE(body, '$.PULocationID') AS INT) IS NULL
                        THEN 'PULocationID: missing or not an integer'
                    WHEN TO_TIMESTAMP(JSON_VALUE(body, '$.{PICKUP}'), '{ISO}') IS NULL
                        THEN '{PICKUP}: missing or not an ISO timestamp'
                    WHEN TRY_CAST(JSON_VALUE(body, '$.total_amount') AS DECIMAL(12, 2)) IS NULL
                        THEN 'total_amount: missing or not a number'
               END AS error
        FROM rides""")
    env.execute_sql(f"""
        CREATE TABLE windows_sink (
            window_start TIMESTAMP(3), zone INT, rides BIGINT, revenue DECIMAL(14, 2),
            PRIMARY KEY (window_start, zone) NOT ENFORCED
        ) WITH (
            'connector' = 'jdbc',
            'url' = '{ctx["jdbc"]}',
            'table-name' = '{args.table}',
            'username' = '{pg.postgres_user}',
            'password' = '{ctx["password"]}',
            'sink.buffer-flush.interval' = '1 s',
            'sink.buffer-flush.max-rows' = '1000'
        )""")
    env.execute_sql(f"""
        CREATE TABLE dead_letters (
            kafka_partition INT, kafka_offset BIGINT, error STRING, body STRING
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{args.dead_letter_topic}',
            'properties.bootstrap.servers' = '{ctx["bootstrap"]}',
            'format' = 'json'
        )""")
    statements = env.create_statement_set()
    statements.add_insert_sql(f"""
        INSERT INTO windows_sink
        SELECT window_start, zone, COUNT(*) AS rides, CAST(SUM(amount) AS DECIMAL(14, 2)) AS revenue
        FROM TABLE(TUMBLE(TABLE checked, DESCRIPTOR(event_time), INTERVAL '{args.window_minutes}' MINUTE))
        WHERE error IS NULL
        GROUP BY window_start, window_end, zone""")
    statements.add_insert_sql("""
        INSERT INTO dead_letters
        SELECT kafka_partition, kafka_offset, error, body FROM checked WHERE error IS NOT NULL""")
    return statements


def count_rows(table: str) -> int:
    from zoomcamp import db

    return int(db.query(f"SELECT count(*) AS n FROM {table}")["n"].iloc[0])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    try:
        ctx = prepare(args)
        statements = build(args, ctx)
        result = statements.execute()
        job = result.get_job_client()
        job_id = job.get_job_id() if job else "?"
        print(f"zone-windows: submitted job {job_id}", flush=True)
        if args.detach:
            print(f"zone-windows: table={args.table} job={job_id} detached", flush=True)
            return 0
        if not args.bounded:
            print("zone-windows: running until cancelled (unbounded)", flush=True)
        result.wait()
        try:  # the job's own run time (without this process's JVM start): what bench/flink.py divides by
            job_seconds = job.get_job_execution_result().result().get_net_runtime() / 1000
        except Exception:  # noqa: BLE001 - a remote cluster may have forgotten the job already
            job_seconds = float("nan")
        rows = count_rows(args.table)
    except CourseError as exc:
        print(f"zone_windows: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a Flink/Java failure: its root cause, in one line
        print(f"zone_windows: the job failed: {root_cause(exc)}", file=sys.stderr)
        return 2
    print(f"zone-windows: table={args.table} rows={rows} job={job_id} job_seconds={job_seconds:.2f} "
          f"seconds={time.monotonic() - started:.1f}", flush=True)
    return 0


def root_cause(exc: BaseException) -> str:
    """The innermost Java exception's message (py4j wraps the whole Java stack trace)."""
    text = str(exc)
    causes = [line.strip() for line in text.splitlines() if line.strip().startswith("Caused by:")]
    line = causes[-1].removeprefix("Caused by:").strip() if causes else text.strip().splitlines()[0]
    return line[:300]


if __name__ == "__main__":
    sys.exit(main())
