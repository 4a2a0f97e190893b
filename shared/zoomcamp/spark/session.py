"""Spark on this machine (week 5): one way to start a SparkSession, the TLC schemas as Spark types, the revenue
report, spark-submit, and a standalone cluster (a master and a worker) started from the pip-installed pyspark.

>>> from zoomcamp import spark
>>> session = spark.session("my-app")                   # master from settings.spark_master (local[*])
>>> lake = spark.local_lake()                           # the lake as a folder Spark can read (see below)
>>> lake.ingest("green", "2021-01"); lake.ingest("yellow", "2021-01")
>>> green = spark.read_trips(session, "green", lake.uri("green"), months=["2021-01"])
>>> report = spark.revenue_report(green, yellow, spark.read_zones(session))
>>> with spark.Cluster() as cluster:                      # master + worker on 127.0.0.1, stopped at the end
...     spark.submit(spark.REVENUE_JOB, ["--month", "2021-01", ...], master=cluster.url)

**Where Spark reads from.** Week 2's lake is a bucket on the local GCS emulator. Spark reads ``gs://`` only through
the GCS connector jar, which Dataproc has built in but the pip pyspark does not ship (and which cannot be fetched
offline). So on this machine Spark reads a lake *folder* with the same layout, ``{type}/year=YYYY/month=MM/*.parquet``,
written by the same :class:`~zoomcamp.lake.Lake` code: ``settings.lake_url`` when that is a folder, else
``<home>/lake-local``. On Dataproc the same job reads ``gs://<bucket>/<type>`` unchanged (see week 5, notebook 07).

**Where the report goes.** :func:`to_warehouse` loads it into the course's local warehouse (PostgreSQL, table
``reports.monthly_zone_revenue``), replacing the month: the one function to change for BigQuery.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..datasets import Month
from ..datasets.schemas import DROPOFF_COLUMN, PICKUP_COLUMN, columns
from ..errors import CourseError
from ..settings import Settings, get_settings, project_root
from ..stack.base import Service, ServiceStatus, claim_port

if TYPE_CHECKING:  # pyspark is imported when a function needs it: `import zoomcamp.spark` stays cheap
    from pyspark.sql import DataFrame, SparkSession

LOCAL_IP = "127.0.0.1"
MIN_JAVA = 17
# C1 JIT only, serial GC: on a laptop the JVM starts ~40% faster and small jobs' first runs take half the time; on
# millions of rows the full JIT wins by ~25% (bench/spark_report.py), so big jobs pass quick_start=False.
QUICK_START_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
REVENUE_JOB = project_root() / "week_5_batch" / "jobs" / "revenue_report.py"
WAREHOUSE_TABLE = "reports.monthly_zone_revenue"
SERVICES = {"green": "Green", "yellow": "Yellow"}  # the report's service_type, as dbt's int_trips_unioned
SPARK_TYPES = {"int64": "LongType", "float64": "DoubleType", "string": "StringType", "timestamp": "TimestampNTZType"}


class SparkError(CourseError, RuntimeError):
    """Spark cannot run here (no Java, a cluster that does not start) or a job failed; the message says why."""


# --- Java and the pyspark distribution ------------------------------------------------------------------------------

def check_java() -> int:
    """The Java major version Spark will use; a clear error if there is none or it is too old."""
    from ..doctor import java_version

    found = java_version()
    if found is None or found < MIN_JAVA:
        what = f"Java {found} is too old" if found else "no Java was found (JAVA_HOME, PATH)"
        raise SparkError(f"Spark needs Java {MIN_JAVA} or newer and {what}: on Debian/Ubuntu run "
                         "`sudo apt-get install openjdk-17-jre-headless` (or `make setup` as root), elsewhere install "
                         "a JDK 17+ and set JAVA_HOME")
    return found


def spark_home() -> Path:
    """The pyspark distribution: its ``bin/`` (spark-submit, spark-class) and ``jars/``."""
    import pyspark

    return Path(pyspark.__file__).parent


def _environment() -> dict[str, str]:
    """What Spark's launch scripts and the Python workers must see: this Python (executors run Python functions in
    the same environment as the driver) and the loopback address (no public interface, no hostname lookup)."""
    return {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_LOCAL_IP": LOCAL_IP,
            "SPARK_HOME": str(spark_home())}


# --- the session ----------------------------------------------------------------------------------------------------

def session(app_name: str = "zoomcamp", *, master: str | None = None, driver_memory: str = "1g",
            shuffle_partitions: int = 8, ui: bool = True, quick_start: bool = True,
            jars: Iterable[str | Path] = (), config: dict[str, Any] | None = None,
            settings: Settings | None = None) -> SparkSession:
    """A SparkSession set up for this machine (or the one of ``spark-submit``, when the script was submitted).

    - ``master``: ``settings.spark_master`` unless given (``local[*]``: the driver runs tasks on one thread per
      core; ``spark://host:7077``: a standalone cluster). Under spark-submit its ``--master`` wins.
    - ``driver_memory``: the driver JVM's heap (fixed when the JVM starts; in local mode it holds the executors too).
    - ``shuffle_partitions``: partitions after a shuffle (Spark's default, 200, is for clusters; a sample on a
      laptop wants a few).
    - ``ui``: the Spark UI, http://127.0.0.1:4040 (4041, 4042, ... when taken): jobs, stages, tasks, SQL plans.
      :func:`measure` reads task statistics from it.
    - ``quick_start``: JVM options for short jobs (:data:`QUICK_START_JAVA_OPTIONS`).
    - ``jars``: local jar files for the driver's class path (``spark.jars``), e.g. Spark's Kafka connector
      (:func:`zoomcamp.streaming.spark.spark_session`); nothing is downloaded.

    Calling it again in the same process returns the running session (runtime options updated); asking for another
    master stops the running one first (the master is fixed for a SparkContext's life), and asking for jars the
    running JVM was not started with starts a new JVM (see :func:`_stop_jvm`).
    """
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    settings = settings or get_settings()
    check_java()
    os.environ.update(_environment())
    # pyspark 4 warns on import that it does not fully support pandas 3; toPandas/createDataFrame work for the course.
    warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # started by spark-submit: the JVM and its master exist
    wanted = master or settings.spark_master
    jars = [str(Path(j)) for j in jars]
    if not submitted and not set(jars) <= _jvm_jars():
        _stop_jvm()
    running = SparkContext._active_spark_context
    if running is not None and not submitted and running.master != wanted:
        running.stop()
    runtime = {"spark.sql.shuffle.partitions": str(shuffle_partitions), "spark.sql.session.timeZone": "UTC"}
    static = {
        "spark.driver.memory": driver_memory,
        "spark.driver.host": LOCAL_IP,
        "spark.driver.bindAddress": LOCAL_IP,
        "spark.ui.enabled": str(ui).lower(),
        "spark.ui.showConsoleProgress": "false",  # progress bars garble notebook and log output
        "spark.pyspark.python": sys.executable,
        "spark.sql.warehouse.dir": str(settings.home / "spark" / "warehouse"),  # not spark-warehouse/ in the cwd
    }
    if quick_start:
        static["spark.driver.extraJavaOptions"] = QUICK_START_JAVA_OPTIONS
        static["spark.executor.extraJavaOptions"] = QUICK_START_JAVA_OPTIONS
    if jars:
        static["spark.jars"] = ",".join(jars)
    launching = SparkContext._gateway is None
    builder = SparkSession.builder.appName(app_name)
    if not submitted:
        builder = builder.master(wanted)
    for key, value in {**static, **runtime, **{k: str(v) for k, v in (config or {}).items()}}.items():
        builder = builder.config(key, value)
    if launching and not submitted:
        spark = _quietly_launched(builder, settings)
    else:
        spark = builder.getOrCreate()
    if launching:  # remember what this JVM has on its class path
        SparkContext._gateway.zoomcamp_jars = frozenset(jars)
    for key, value in {**runtime, **(config or {})}.items():  # a reused session keeps its old runtime options
        with contextlib.suppress(Exception):  # static options cannot change on a running session
            spark.conf.set(key, str(value))
    spark.sparkContext.setLogLevel("ERROR")  # Spark's WARN lines are for operators, not for lessons
    return spark


def _jvm_jars() -> frozenset[str]:
    """The jars the running pyspark JVM was started with by :func:`session` (none when there is no JVM, or it was
    started elsewhere)."""
    from pyspark import SparkContext

    return getattr(SparkContext._gateway, "zoomcamp_jars", frozenset())


def _stop_jvm() -> None:
    """Stop the running session and its JVM. ``spark.jars`` reach the driver's class path only when the JVM starts:
    a stopped and re-created SparkContext in the same JVM would not find the classes (e.g. "Failed to find data
    source: kafka"). The JVM exits when its stdin closes (pyspark's java_gateway)."""
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    process = getattr(gateway, "proc", None)
    if process is not None and process.stdin is not None:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    SparkContext._gateway = SparkContext._jvm = None


# --- schemas and reading --------------------------------------------------------------------------------------------

def struct_type(kind: str, fmt: str = "parquet"):
    """A TLC file's schema as a Spark ``StructType``, from the course's schema table (``datasets.schemas``).
    Timestamps are ``TimestampNTZType``: the TLC's times are local New York times without a zone, as in the files."""
    from pyspark.sql import types

    return types.StructType([types.StructField(c.name, getattr(types, SPARK_TYPES[c.type])(), True)
                             for c in columns(kind, fmt=fmt)])


def _month_list(months: Iterable[Month | str] | Month | str | None) -> list[Month]:
    if months is None:
        return []
    if isinstance(months, Month | str):
        months = [months]
    return [m if isinstance(m, Month) else Month.parse(m) for m in months]


def read_trips(spark: SparkSession, kind: str, path: str | Path | list, *,
               months: Iterable[Month | str] | Month | str | None = None) -> DataFrame:
    """One taxi type's trips with the course's schema, from CSV/CSV.gz files or from a lake folder of hive-partitioned
    parquet (``{path}/year=YYYY/month=MM/``; the ``year`` and ``month`` columns come from the folder names, and
    ``months`` keeps only those folders: partition pruning, the other folders are never opened)."""
    from pyspark.sql import functions as F

    paths = [str(p) for p in (path if isinstance(path, list | tuple) else [path])]
    if all(p.endswith((".csv", ".csv.gz")) for p in paths):
        from ..datasets.reading import header_names

        for p in paths:  # a local file of another layout is one line here, before Spark starts reading
            if "://" not in p and "*" not in p and Path(p).is_file():
                header_names(Path(p), kind)
        # enforceSchema=False: a header that does not match the schema is an error, not silently renamed columns.
        frame = (spark.read.option("timestampNTZFormat", "yyyy-MM-dd HH:mm:ss")
                 .csv(paths, header=True, schema=struct_type(kind, "csv"), enforceSchema=False))
        wanted = _month_list(months)
        if wanted:  # a CSV file has no partition folders: filter on the pickup month
            pickup = F.col(PICKUP_COLUMN[kind])
            frame = frame.where(F.date_format(pickup, "yyyy-MM").isin([str(m) for m in wanted]))
        return frame
    frame = spark.read.schema(struct_type(kind)).parquet(*paths)
    wanted = _month_list(months)
    if wanted:
        condition = None
        for m in wanted:
            one = (F.col("year") == m.year) & (F.col("month") == m.month)
            condition = one if condition is None else condition | one
        frame = frame.where(condition)
    return frame


def _quietly_launched(builder, settings: Settings):
    """Start the driver's JVM with its console output (start-up warnings: incubator modules, log4j's default
    profile, the native Hadoop library) in ``<home>/spark/logs/driver-<pid>.log``: a notebook showed them in a red
    stderr box in the first Spark cell. Errors still arrive as Python exceptions."""
    logs = settings.home / "spark" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"driver-{os.getpid()}.log"
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log, "ab") as out:
        os.dup2(out.fileno(), 2)  # the JVM inherits this descriptor, and keeps it
        try:
            return builder.getOrCreate()
        except Exception as exc:
            if "Java gateway process exited" in str(exc):
                tail = log.read_text(errors="replace").strip().splitlines()[-10:]
                raise SparkError("Spark's JVM did not start; its output (" + str(log) + "):\n" + "\n".join(tail)) \
                    from None
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def read_zones(spark: SparkSession, path: str | Path | None = None, *, settings: Settings | None = None) -> DataFrame:
    """The taxi zone lookup (``LocationID, Borough, Zone, service_zone``); the course's file unless ``path``."""
    from .. import datasets

    path = path or datasets.zones_file(settings=settings)
    return spark.read.csv(str(path), header=True, schema=struct_type("zones"), enforceSchema=False)


def local_lake_url(settings: Settings | None = None) -> str:
    """Where :func:`local_lake` is: ``settings.lake_url`` if that is a folder, else ``<home>/lake-local``."""
    settings = settings or get_settings()
    url = settings.lake_url
    if url and ("://" not in url or url.startswith("file://")):
        return url
    return str(settings.home / "lake-local")


def local_lake(settings: Settings | None = None):
    """The data lake as a folder Spark can read (:func:`local_lake_url`; the same layout and code as week 2's
    bucket; see the module's description)."""
    from ..lake import Lake

    settings = settings or get_settings()
    return Lake(settings, url=local_lake_url(settings))


# --- the revenue report ---------------------------------------------------------------------------------------------

def _staged(kind: str, service: str) -> str:
    """One service's trips as week 4's staging model makes them: one per (vendor, pickup time), known vendors."""
    pickup, dropoff = PICKUP_COLUMN[kind], DROPOFF_COLUMN[kind]
    ehail = "ehail_fee" if kind == "green" else "CAST(0 AS DOUBLE)"  # yellow has none: 0, as stg_yellow_tripdata
    return f"""
    SELECT '{service}' AS service_type, PULocationID AS pickup_locationid, DOLocationID AS dropoff_locationid,
           {pickup} AS pickup_datetime,
           -- SQL engines round a double cast to an integer; Spark truncates: round first, as dbt's warehouses do
           CAST(round(passenger_count) AS INT) AS passenger_count,
           trip_distance, fare_amount, extra, mta_tax, tip_amount, tolls_amount, {ehail} AS ehail_fee,
           improvement_surcharge, total_amount
    FROM (
        SELECT *, row_number() OVER (
            PARTITION BY VendorID, {pickup}
            ORDER BY {dropoff} NULLS LAST, total_amount NULLS LAST, trip_distance NULLS LAST) AS rn
        FROM {kind}_tripdata
        WHERE VendorID IS NOT NULL
    ) numbered
    WHERE rn = 1"""


REVENUE_SQL = f"""
WITH trips AS ({_staged("green", "Green")}
    UNION ALL{_staged("yellow", "Yellow")}
),
known_zones AS (
    SELECT LocationID, Zone FROM zones WHERE Borough != 'Unknown'
)
SELECT
    trips.pickup_locationid AS revenue_locationid,
    pickup_zone.Zone AS revenue_zone,
    trunc(CAST(trips.pickup_datetime AS DATE), 'MM') AS revenue_month,
    trips.service_type,
    sum(fare_amount) AS revenue_monthly_fare,
    sum(extra) AS revenue_monthly_extra,
    sum(mta_tax) AS revenue_monthly_mta_tax,
    sum(tip_amount) AS revenue_monthly_tip_amount,
    sum(tolls_amount) AS revenue_monthly_tolls_amount,
    sum(ehail_fee) AS revenue_monthly_ehail_fee,
    sum(improvement_surcharge) AS revenue_monthly_improvement_surcharge,
    sum(total_amount) AS revenue_monthly_total_amount,
    count(*) AS total_monthly_trips,
    avg(passenger_count) AS avg_monthly_passenger_count,
    avg(trip_distance) AS avg_monthly_trip_distance
FROM trips
JOIN known_zones AS pickup_zone ON trips.pickup_locationid = pickup_zone.LocationID
JOIN known_zones AS dropoff_zone ON trips.dropoff_locationid = dropoff_zone.LocationID
GROUP BY 1, 2, 3, 4
"""
REPORT_COLUMNS = ["revenue_locationid", "revenue_zone", "revenue_month", "service_type", "revenue_monthly_fare",
                  "revenue_monthly_extra", "revenue_monthly_mta_tax", "revenue_monthly_tip_amount",
                  "revenue_monthly_tolls_amount", "revenue_monthly_ehail_fee", "revenue_monthly_improvement_surcharge",
                  "revenue_monthly_total_amount", "total_monthly_trips", "avg_monthly_passenger_count",
                  "avg_monthly_trip_distance"]


def revenue_report(green: DataFrame, yellow: DataFrame, zones: DataFrame, *,
                   month: Month | str | None = None) -> DataFrame:
    """Week 4's ``dm_monthly_zone_revenue`` in Spark SQL: revenue, trips and averages per pickup zone, month and
    service, from green and yellow trips (deduplicated, both zones known) — the same rows as the dbt model on the
    same data. With ``month``, only that month's rows (trips whose pickup falls in it).

    The frames are registered as the temporary views ``green_tripdata``, ``yellow_tripdata`` and ``zones`` of their
    session, which :data:`REVENUE_SQL` reads."""
    spark = green.sparkSession
    green.createOrReplaceTempView("green_tripdata")
    yellow.createOrReplaceTempView("yellow_tripdata")
    zones.createOrReplaceTempView("zones")
    report = spark.sql(REVENUE_SQL)
    if month is not None:
        from pyspark.sql import functions as F

        start = (month if isinstance(month, Month) else Month.parse(month)).start
        report = report.where(F.col("revenue_month") == F.lit(start))  # pushed below the aggregation by Catalyst
    return report


def report_path(month: Month | str, settings: Settings | None = None) -> Path:
    """Where the revenue job writes a month's report (parquet files; replaced by each run)."""
    settings = settings or get_settings()
    return settings.home / "spark" / "reports" / "monthly_zone_revenue" / f"month={month}"


# --- the warehouse --------------------------------------------------------------------------------------------------

_WAREHOUSE_TYPES = {"revenue_locationid": "BIGINT", "revenue_zone": "TEXT", "revenue_month": "DATE",
                    "service_type": "TEXT", "total_monthly_trips": "BIGINT"}


def to_warehouse(report: pd.DataFrame | str | Path, month: Month | str, *, table: str = WAREHOUSE_TABLE,
                 settings: Settings | None = None) -> int:
    """Load one month of the revenue report (a DataFrame, or the parquet folder the job wrote) into the course's
    warehouse, replacing that month's rows in one transaction: a re-run or a retry leaves the same rows, a failure
    leaves the old ones. Returns the month's rows.

    The warehouse is the local PostgreSQL for now; this is the one place to change for BigQuery (a load job with
    ``WRITE_TRUNCATE`` on the month's partition does the same)."""
    import psycopg2
    from psycopg2.extras import execute_values

    from ..stack.postgres import Postgres

    settings = settings or get_settings()
    month = month if isinstance(month, Month) else Month.parse(month)
    frame = report if isinstance(report, pd.DataFrame) else pd.read_parquet(report)
    missing = [c for c in REPORT_COLUMNS if c not in frame.columns]
    if missing:
        raise SparkError(f"the report has no column {', '.join(missing)}: is it the revenue report?")
    frame = frame[REPORT_COLUMNS]
    months = set(pd.to_datetime(frame["revenue_month"]).dt.strftime("%Y-%m"))
    if months - {str(month)}:
        raise SparkError(f"the report for {month} holds rows of {', '.join(sorted(months - {str(month)}))}: "
                         "run the job with --month")
    server = Postgres(settings)
    if not server.status().running:
        raise SparkError("the warehouse (local PostgreSQL) is not running: start it with `zoomcamp stack up`")
    schema, name = table.split(".") if "." in table else ("public", table)
    ddl = ", ".join(f"{c} {_WAREHOUSE_TYPES.get(c, 'DOUBLE PRECISION')}" for c in REPORT_COLUMNS)
    rows = [tuple(None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in record)
            for record in frame.itertuples(index=False)]
    with contextlib.closing(psycopg2.connect(server.url())) as conn, conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {schema}.{name} ({ddl})")
        cur.execute(f"DELETE FROM {schema}.{name} WHERE revenue_month = %s", (month.start,))
        if rows:
            execute_values(cur, f"INSERT INTO {schema}.{name} ({', '.join(REPORT_COLUMNS)}) VALUES %s", rows)
    return len(rows)


# --- measuring jobs: stages and tasks from the Spark UI's REST API --------------------------------------------------

_groups = itertools.count()


@dataclass
class Measured:
    """What one block of Spark work cost: wall time, and (from the Spark UI) its jobs, stages and tasks."""

    label: str
    seconds: float = 0.0
    jobs: list[int] = field(default_factory=list)
    stages: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per stage that ran
    tasks: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per task of those stages

    def __str__(self) -> str:
        return (f"{self.label}: {self.seconds:.2f} s, {len(self.jobs)} jobs, {len(self.stages)} stages, "
                f"{len(self.tasks)} tasks")


def _rest(spark: SparkSession, path: str):
    url = spark.sparkContext.uiWebUrl
    if not url:
        raise SparkError("task statistics come from the Spark UI, which is off: start the session with ui=True")
    with urllib.request.urlopen(f"{url}/api/v1/applications/{spark.sparkContext.applicationId}/{path}",
                                timeout=10) as response:
        return json.load(response)


@contextlib.contextmanager
def measure(spark: SparkSession, label: str = "work") -> Iterator[Measured]:
    """Time the Spark work done inside the block, and collect its stages and tasks (how many, how long, how many
    records each read) — what the Spark UI's stage pages show, as DataFrames.

    >>> with spark.measure(session, "join") as m:
    ...     frame.count()
    >>> m.seconds, m.stages, m.tasks
    """
    sc = spark.sparkContext
    group = f"{label}-{next(_groups)}"
    result = Measured(label)
    sc.setJobGroup(group, label)
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)
    result.jobs = sorted(sc.statusTracker().getJobIdsForGroup(group))
    stage_ids = sorted({s for j in result.jobs for s in (sc.statusTracker().getJobInfo(j).stageIds or [])})
    if not sc.uiWebUrl:
        return
    stages, tasks = [], []
    for stage_id in stage_ids:
        attempts = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the UI's store is fed asynchronously: wait for the stage to settle
            attempts = _rest(spark, f"stages/{stage_id}")
            if all(a["status"] in ("COMPLETE", "SKIPPED", "FAILED") for a in attempts):
                break
            time.sleep(0.1)
        for a in attempts:
            if a["status"] != "COMPLETE":
                continue  # skipped: its output was reused from an earlier stage
            reads = "reads a shuffle" if a["shuffleReadRecords"] else "reads files" if a["inputRecords"] else "reads"
            writes = ", writes a shuffle" if a["shuffleWriteRecords"] else ""
            stages.append({"stage": stage_id, "does": reads + writes, "tasks": a["numTasks"],
                           "input_records": a["inputRecords"], "shuffle_read_records": a["shuffleReadRecords"],
                           "shuffle_write_records": a["shuffleWriteRecords"],
                           "shuffle_write_bytes": a["shuffleWriteBytes"],
                           "seconds": a["executorRunTime"] / 1000})
            for t in _rest(spark, f"stages/{stage_id}/{a['attemptId']}/taskList?length=100000"):
                metrics = t.get("taskMetrics", {})
                shuffle = metrics.get("shuffleReadMetrics", {})
                tasks.append({"stage": stage_id, "task": t["index"], "ms": metrics.get("executorRunTime", 0),
                              "records": metrics.get("inputMetrics", {}).get("recordsRead", 0)
                              + shuffle.get("recordsRead", 0),
                              "shuffle_bytes": shuffle.get("remoteBytesRead", 0) + shuffle.get("localBytesRead", 0)})
    result.stages = pd.DataFrame(stages, columns=["stage", "does", "tasks", "input_records", "shuffle_read_records",
                                                  "shuffle_write_records", "shuffle_write_bytes", "seconds"])
    result.tasks = pd.DataFrame(tasks, columns=["stage", "task", "ms", "records", "shuffle_bytes"])


# --- spark-submit ---------------------------------------------------------------------------------------------------

@dataclass
class Submitted:
    command: list[str]
    seconds: float
    log: Path

    def __str__(self) -> str:
        return f"{Path(self.command[-1]).name if self.command else ''} done in {self.seconds:.1f} s (log: {self.log})"


def submit(script: str | Path, args: Iterable[str] = (), *, master: str | None = None, name: str | None = None,
           conf: dict[str, Any] | None = None, quick_start: bool = True, settings: Settings | None = None,
           timeout: float = 900) -> Submitted:
    """Run a PySpark script with ``spark-submit`` (a new driver process) on ``master`` (``settings.spark_master``
    unless given); raises :class:`SparkError` with the end of its log when it fails. The full log is kept in
    ``<home>/spark/logs/``."""
    settings = settings or get_settings()
    check_java()
    script = Path(script).resolve()  # where the user typed it; spark-submit is given the absolute path
    if not script.is_file():
        raise SparkError(f"no such script: {script}")
    name = name or script.stem
    options = {"spark.pyspark.python": sys.executable, "spark.pyspark.driver.python": sys.executable,
               "spark.driver.host": LOCAL_IP, "spark.ui.showConsoleProgress": "false"}
    if quick_start:
        options["spark.driver.extraJavaOptions"] = QUICK_START_JAVA_OPTIONS
        options["spark.executor.extraJavaOptions"] = QUICK_START_JAVA_OPTIONS
    options.update({k: str(v) for k, v in (conf or {}).items()})
    command = [str(spark_home() / "bin" / "spark-submit"), "--master", master or settings.spark_master,
               "--name", name]
    for key, value in options.items():
        command += ["--conf", f"{key}={value}"]
    command += [str(script), *[str(a) for a in args]]
    logs = settings.home / "spark" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    env = {**os.environ, **_environment()}
    env.pop("PYSPARK_GATEWAY_PORT", None)  # when called from inside a Spark driver: a new one, not that one
    started = time.perf_counter()
    with open(log, "w") as out:
        try:
            # In the caller's folder: relative arguments (--output out/) mean what they meant where they were
            # typed (the course home was the working folder, so outputs landed there silently). Spark's own
            # files go to the home anyway (spark.sql.warehouse.dir in the session's settings).
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout,
                                  cwd=Path.cwd()).returncode
        except subprocess.TimeoutExpired:
            raise SparkError(f"{script.name} did not finish within {timeout:.0f} s; log: {log}") from None
    if code != 0:
        tail = [line for line in log.read_text(errors="replace").splitlines() if " WARN " not in line][-15:]
        raise SparkError(f"spark-submit {script.name} failed (exit code {code}); log: {log}\n" + "\n".join(tail))
    return Submitted(command, time.perf_counter() - started, log)


# --- a standalone cluster on this machine ---------------------------------------------------------------------------

def _alive(pid: int | None, java_class: str) -> bool:
    if not pid:
        return False
    try:
        return java_class in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return False


MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


class Cluster(Service):
    """A Spark standalone cluster on 127.0.0.1: one master (the cluster manager) and one worker (which starts the
    executors of submitted applications), each a JVM started with pyspark's ``bin/spark-class``. (A full Spark
    download has ``sbin/start-master.sh`` and ``sbin/start-worker.sh``, which wrap the same classes; the pip pyspark
    ships neither.) Not part of ``stack.up()``: start it when a lesson needs it, or as a context manager::

        with Cluster() as cluster:
            submit(script, master=cluster.url)

    State in ``<home>/stack/spark.json``; logs and the executors' work folders in ``<home>/stack/spark/``.
    """

    name = "spark"
    default_port = 7077

    def __init__(self, settings: Settings | None = None, *, cores: int = 1, memory: str = "1g"):
        super().__init__(settings)
        self.cores, self.memory = cores, memory
        self._started_here = False

    @property
    def url(self) -> str:
        port = self.read_state().get("port")
        if not port:
            raise SparkError("the Spark cluster is not running: start it with Cluster().start() "
                             "(or `zoomcamp spark cluster-up`)")
        return f"spark://{LOCAL_IP}:{port}"

    def master_info(self) -> dict:
        """The master's view (its web UI's /json/): workers, cores, memory, running and completed applications."""
        port = self.read_state().get("ui_port")
        try:
            with urllib.request.urlopen(f"http://{LOCAL_IP}:{port}/json/", timeout=3) as response:
                return json.load(response)
        except (OSError, ValueError):
            return {}

    def status(self) -> ServiceStatus:
        state = self.read_state()
        details = {"host": LOCAL_IP, "port": state.get("port"), "ui_port": state.get("ui_port"),
                   "log": str(self.folder)}
        master, worker = _alive(state.get("master_pid"), MASTER_CLASS), _alive(state.get("worker_pid"), WORKER_CLASS)
        if not master and not worker:
            return ServiceStatus(self.name, False, "stopped", details)
        info = self.master_info()
        alive = [w for w in info.get("workers", []) if w.get("state") == "ALIVE"]
        details.update(url=f"spark://{LOCAL_IP}:{state.get('port')}", ui=f"http://{LOCAL_IP}:{state.get('ui_port')}",
                       workers=len(alive), cores=sum(w.get("cores", 0) for w in alive))
        if not (master and worker and alive):
            return ServiceStatus(self.name, False, f"master {'up' if master else 'down'}, "
                                 f"{len(alive)} live workers", details)
        return ServiceStatus(self.name, True, f"running: {details['url']}, {len(alive)} worker, "
                             f"{details['cores']} cores; UI {details['ui']}", details)

    def _launch(self, java_class: str, args: list[str], log: Path) -> subprocess.Popen:
        env = {**os.environ, **_environment(), "SPARK_DAEMON_MEMORY": "512m",
               "SPARK_DAEMON_JAVA_OPTS": QUICK_START_JAVA_OPTIONS, "SPARK_LOG_DIR": str(self.folder)}
        with open(log, "ab") as out:
            return subprocess.Popen([str(spark_home() / "bin" / "spark-class"), java_class, *args], env=env,
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)  # outlives the process that started it

    def _wait(self, process: subprocess.Popen, ready, what: str, log: Path, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                tail = [line for line in log.read_text(errors="replace").splitlines() if line.strip()][-5:]
                raise SparkError(f"the Spark {what} did not start: {' | '.join(tail) or 'no output'} (log: {log})")
            time.sleep(0.25)

    def start(self) -> ServiceStatus:
        current = self.status()
        if current.running:
            current.message = f"already {current.message}"
            return current
        if current.details.get("port"):  # half-running (a worker lost its master ...): start clean
            self.stop()
        check_java()
        self.folder.mkdir(parents=True, exist_ok=True)
        port = self.choose_port(None)
        ui_port = claim_port(8090, owner=self.owner, exclude={port})
        worker_ui = claim_port(owner=self.owner, exclude={port, ui_port})
        master_log, worker_log = self.folder / "master.log", self.folder / "worker.log"
        master = self._launch(MASTER_CLASS, ["--host", LOCAL_IP, "--port", str(port), "--webui-port", str(ui_port)],
                              master_log)
        self.write_state(port=port, ui_port=ui_port, master_pid=master.pid)
        self._wait(master, lambda: "workers" in self.master_info(), "master", master_log)
        worker = self._launch(WORKER_CLASS, [f"spark://{LOCAL_IP}:{port}", "--host", LOCAL_IP,
                                             "--cores", str(self.cores), "--memory", self.memory,
                                             "--webui-port", str(worker_ui), "--work-dir", str(self.folder / "work")],
                              worker_log)
        self.write_state(port=port, ui_port=ui_port, master_pid=master.pid, worker_pid=worker.pid)
        alive = lambda: any(w.get("state") == "ALIVE" for w in self.master_info().get("workers", []))  # noqa: E731
        try:
            self._wait(worker, alive, "worker", worker_log)
        except SparkError:
            self.stop()
            raise
        self._started_here = True
        status = self.status()
        status.message = f"started: {status.message.removeprefix('running: ')}"
        return status

    def stop(self) -> ServiceStatus:
        state = self.read_state()
        stopped = []
        for key, java_class in (("worker_pid", WORKER_CLASS), ("master_pid", MASTER_CLASS)):
            pid = state.get(key)
            if not _alive(pid, java_class):
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while _alive(pid, java_class) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid, java_class):
                os.kill(pid, signal.SIGKILL)
            stopped.append(key.split("_")[0])
        status = self.status()
        status.message = f"stopped ({' and '.join(stopped)})" if stopped else f"not running ({status.message})"
        return status

    def env(self) -> dict[str, str]:
        return {"ZOOMCAMP_SPARK_MASTER": self.url} if self.status().running else {}

    def __enter__(self) -> Cluster:
        self._started_here = False
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._started_here:  # a cluster that was already running is left running
            self.stop()


__all__ = ["QUICK_START_JAVA_OPTIONS", "REPORT_COLUMNS", "REVENUE_JOB", "REVENUE_SQL", "WAREHOUSE_TABLE", "Cluster",
           "Measured", "SparkError", "Submitted", "check_java", "local_lake", "local_lake_url", "measure", "read_trips",
           "read_zones", "report_path", "revenue_report", "session", "spark_home", "struct_type", "submit",
           "to_warehouse"]
