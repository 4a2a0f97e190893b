"""Apache Flink (PyFlink) for week 6: its environment, its jars, and the course's window job.

PyFlink cannot live in the course's ``.venv`` (its pins — py4j, pandas, numpy, pyarrow, apache-beam — clash with
pyspark's and the course's), so ``make setup`` gives it ``.venv-flink`` (``requirements-flink-lock.txt``) and a
Jupyter kernel, ``zoomcamp-flink``, that Flink's notebooks run in. This module imports no PyFlink: it works from
both environments (the course's to start the job as a process, Flink's inside the job and the notebooks).

>>> from zoomcamp.streaming import flink
>>> run = flink.run_job("rides", "zone_windows", window_minutes=15, bounded=True)   # a local mini-cluster
>>> flink.expected_windows(rides, 15)        # the same numbers from pandas, to compare with the table
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import jvm
from ..errors import CourseError
from ..settings import Settings, get_settings, project_root

FLINK_VERSION = "2.2.1"  # apache-flink in requirements-flink-lock.txt; the flink bundle of shared/jvm/pom.xml
JOB = "week_6_streaming/flink/zone_windows.py"
# The lessons' jobs are small and short: the JIT's first tier (C1) and the serial GC start Flink's JVM with ~40 %
# less CPU than HotSpot's defaults (measured on zone_windows.py over 2,000 rides), and a 2-core laptop feels it.
QUICK_START_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
_SUMMARY = re.compile(r"^zone-windows: .*$", re.M)


class FlinkError(CourseError, RuntimeError):
    """Flink's environment is missing, or a Flink job failed (the message is the job's own one-line error)."""


def venv() -> Path:
    return project_root() / ".venv-flink"


def python() -> Path:
    """The Python of Flink's environment (a clear error when ``make setup`` did not create it)."""
    path = venv() / "bin" / "python"
    if not path.is_file():
        raise FlinkError(f"Flink's environment is not set up ({path} is missing): run `make setup`")
    return path


def home() -> Path:
    """The ``pyflink`` package of Flink's environment: its ``lib/`` is Flink's distribution, ``bin/`` its scripts."""
    found = sorted(venv().glob("lib/python3*/site-packages/pyflink"))
    if not found or not (found[-1] / "lib").is_dir():
        raise FlinkError(f"PyFlink is not installed in {venv()}: run `make setup`")
    return found[-1]


def connector_jars(settings: Settings | None = None) -> list[Path]:
    """The Kafka and JDBC connectors and the PostgreSQL driver (``make setup`` resolved them; an error otherwise)."""
    return jvm.classpath("flink", settings)


def jdbc_url(settings: Settings | None = None) -> str:
    """``jdbc:postgresql://...`` of the course's running PostgreSQL (a clear error when it is not running)."""
    from ..stack import StackError
    from ..stack.postgres import HOST, Postgres

    server = Postgres(settings or get_settings())
    status = server.status()
    if not status.running:
        raise StackError(f"PostgreSQL is not running ({status.message}): start it with `zoomcamp stack up`")
    s = server.settings
    return f"jdbc:postgresql://{HOST}:{server.read_state()['port']}/{s.postgres_db}"


@dataclass
class JobRun:
    seconds: float  # wall time of the whole run, JVM start included
    summary: str  # the job's last line: "zone-windows: table=... rows=... dead_letters=..."
    output: str

    def value(self, name: str) -> str | None:
        found = re.search(rf"\b{name}=(\S+)", self.summary)
        return found.group(1) if found else None


def run_job(topic: str, table: str, window_minutes: int = 15, bounded: bool = True, *, dead_letter_topic: str = "",
            jobmanager: str = "", detach: bool = False, parallelism: int = 1, timeout: float = 600.0,
            extra: list[str] | None = None) -> JobRun:
    """Run ``week_6_streaming/flink/zone_windows.py`` in Flink's environment (a local mini-cluster, or submitted to
    ``jobmanager`` = ``host:port`` of a standalone cluster) and wait for it; a failure raises its one-line error.
    Taught in week_6_streaming/11_flink_upsert_sink.ipynb."""
    command = [str(python()), str(project_root() / JOB), "--topic", topic, "--table", table,
               "--window-minutes", str(window_minutes), "--parallelism", str(parallelism),
               *(["--bounded"] if bounded else []),
               *(["--dead-letter-topic", dead_letter_topic] if dead_letter_topic else []),
               *(["--jobmanager", jobmanager] if jobmanager else []), *(["--detach"] if detach else []),
               *(extra or [])]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              cwd=project_root())
    except subprocess.TimeoutExpired:
        raise FlinkError(f"zone_windows.py did not finish within {timeout:.0f} s") from None
    seconds = time.monotonic() - started
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("zone_windows: ")]
        tail = lines[-1] if lines else (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise FlinkError(tail[:400])
    summaries = _SUMMARY.findall(done.stdout)
    return JobRun(seconds, summaries[-1] if summaries else "", done.stdout)


def quick_start_jvm() -> None:
    """Give the JVM that PyFlink starts in this process (its py4j gateway, and the mini-cluster inside it) the
    quick-start options, unless ``JVM_ARGS`` already says otherwise; call it before the first PyFlink object."""
    os.environ.setdefault("JVM_ARGS", QUICK_START_JAVA_OPTIONS)


# --- notebooks: a mini-cluster inside the kernel (zoomcamp-flink) -------------------------------------------------
def table_env(parallelism: int = 1, settings: Settings | None = None, **options: str):
    """A streaming TableEnvironment on a local mini-cluster (in this process's JVM), with the course's connectors;
    ``options`` are more Flink settings (``"table.exec.source.idle-timeout": "5 s"``). Taught in
    week_6_streaming/09_flink_model.ipynb."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    quick_start_jvm()
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = env.get_config()
    config.set("pipeline.jars", ";".join(p.resolve().as_uri() for p in connector_jars(settings)))
    config.set("parallelism.default", str(parallelism))
    for key, value in options.items():
        config.set(key, str(value))
    return env


def ride_source(env, name: str, topic: str, watermark: str = "1 MINUTE", bounded: bool = True,
                settings: Settings | None = None) -> None:
    """``CREATE TABLE name``: the JSON rides of ``topic`` (zone, pickup, amount) with ``event_time`` and a watermark
    ``watermark`` behind the largest pickup seen, emitted at every ride (deterministic, for lessons). Taught in
    week_6_streaming/09_flink_model.ipynb and 10_flink_event_time.ipynb."""
    from .broker import bootstrap_servers

    env.execute_sql(f"DROP TEMPORARY TABLE IF EXISTS {name}")
    env.execute_sql(f"""
        CREATE TEMPORARY TABLE {name} (
            PULocationID INT,
            tpep_pickup_datetime STRING,
            total_amount DECIMAL(12, 2),
            -- A message that is not a ride (its fields null) gets the epoch: a row time may not be null.
            event_time AS COALESCE(TO_TIMESTAMP(tpep_pickup_datetime, 'yyyy-MM-dd''T''HH:mm:ss'),
                                   TIMESTAMP '1970-01-01 00:00:00'),
            WATERMARK FOR event_time AS event_time - INTERVAL {watermark}
        ) WITH (
            'connector' = 'kafka', 'topic' = '{topic}',
            'properties.bootstrap.servers' = '{bootstrap_servers(settings)}',
            'scan.startup.mode' = 'earliest-offset',
            {"'scan.bounded.mode' = 'latest-offset'," if bounded else ""}
            'scan.watermark.emit.strategy' = 'on-event',
            'format' = 'json', 'json.ignore-parse-errors' = 'true'
        )""")


def collect(env, sql: str):
    """Run a bounded query and return its rows as a DataFrame (column names from the query)."""
    import pandas as pd

    table = env.sql_query(sql)
    names = table.get_schema().get_field_names()
    with table.execute().collect() as results:
        rows = [tuple(row) for row in results]
    return pd.DataFrame(rows, columns=names)


# --- the standalone cluster's jobs (zoomcamp stack up flink), through its REST API --------------------------------
def cluster(settings: Settings | None = None):
    """The running standalone cluster's service (a clear error when it is not running)."""
    from ..stack.flink import Flink

    service = Flink(settings or get_settings())
    if not service.pid():
        raise FlinkError("the Flink cluster is not running: zoomcamp stack up flink")
    return service


def jobmanager(settings: Settings | None = None) -> str:
    """``host:port`` to submit to (``run_job(..., jobmanager=...)``)."""
    return cluster(settings).url().removeprefix("http://")


def _rest(path: str, method: str = "GET", settings: Settings | None = None):
    from ..stack.flink import rest

    return rest(cluster(settings).read_state()["port"], path, method=method)


def job_state(job_id: str, settings: Settings | None = None) -> str:
    """RUNNING, RESTARTING, FINISHED, CANCELED, FAILED ... (the web UI's job page)."""
    return str((_rest(f"/jobs/{job_id}", settings=settings) or {}).get("state", "UNKNOWN"))


def checkpoints(job_id: str, settings: Settings | None = None) -> dict:
    """Completed/failed checkpoint counts and the checkpoint the job last restored from (None: never restored)."""
    body = _rest(f"/jobs/{job_id}/checkpoints", settings=settings) or {}
    return {**body.get("counts", {}), "restored": (body.get("latest") or {}).get("restored")}


def wait_until(condition, timeout: float = 120.0, what: str = "the condition") -> float:
    """Poll ``condition()`` until true; the seconds it took (a FlinkError after ``timeout``)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise FlinkError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.5)
    return time.monotonic() - started


def cancel_job(job_id: str, settings: Settings | None = None) -> str:
    """Cancel a running job and wait until it is; its final state."""
    _rest(f"/jobs/{job_id}?mode=cancel", method="PATCH", settings=settings)
    wait_until(lambda: job_state(job_id, settings) in {"CANCELED", "FINISHED", "FAILED"}, 60, f"cancelling {job_id}")
    return job_state(job_id, settings)


def expected_windows(rides, window_minutes: int, kind: str = "yellow"):
    """The job's result computed by pandas alone: rides and revenue per pickup zone and tumbling window
    (``window_start``, ``zone``, ``rides``, ``revenue``), sorted; for comparing with the Flink table."""
    from .rides import KEY, PICKUP

    frame = rides.assign(window_start=rides[PICKUP[kind]].dt.floor(f"{window_minutes}min"))
    out = (frame.groupby(["window_start", KEY]).agg(rides=(KEY, "size"), revenue=("total_amount", "sum"))
           .reset_index().rename(columns={KEY: "zone"}))
    out["revenue"] = out["revenue"].astype(float).round(2)
    out[["zone", "rides"]] = out[["zone", "rides"]].astype("int64")
    return out.sort_values(["window_start", "zone"], ignore_index=True)


def table_windows(table: str, settings: Settings | None = None):
    """The job's table as a DataFrame shaped like :func:`expected_windows`."""
    from .. import db

    out = db.query(f"SELECT window_start, zone, rides, revenue FROM {table} ORDER BY window_start, zone",
                   settings=settings)
    out["revenue"] = out["revenue"].astype(float).round(2)
    out["rides"] = out["rides"].astype("int64")
    return out


if __name__ == "__main__":  # pragma: no cover - a quick check of the environment
    print(python(), home(), *connector_jars(), sep="\n", file=sys.stdout)
