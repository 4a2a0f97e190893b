"""The one way to start a SparkSession on this machine (or to join the one of ``spark-submit``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..settings import Settings, get_settings
from .runtime import LOCAL_IP, SparkError, check_java, java_options, launch_environment

if TYPE_CHECKING:  # pyspark is imported when a function needs it: `import zoomcamp.spark` stays cheap
    from pyspark.sql import SparkSession


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
    - ``quick_start``: JVM options for short jobs (:data:`QUICK_START_JAVA_OPTIONS`); the JVM uses Spark's class-data
      sharing archive either way, when `zoomcamp jvm setup` made it.
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
    os.environ.update(launch_environment())
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
    options = java_options(quick_start, settings)
    if options:
        static["spark.driver.extraJavaOptions"] = options
        static["spark.executor.extraJavaOptions"] = options
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
