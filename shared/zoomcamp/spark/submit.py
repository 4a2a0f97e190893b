"""``spark-submit``: a PySpark script run as a new driver process, its log kept in the course's home."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import Settings, get_settings
from .runtime import LOCAL_IP, SparkError, check_java, java_options, launch_environment, spark_home


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
    ``<home>/spark/logs/``. Taught in week_5_batch/07_spark_submit_and_clusters.ipynb."""
    settings = settings or get_settings()
    check_java()
    script = Path(script).resolve()  # where the user typed it; spark-submit is given the absolute path
    if not script.is_file():
        raise SparkError(f"no such script: {script}")
    name = name or script.stem
    options = {"spark.pyspark.python": sys.executable, "spark.pyspark.driver.python": sys.executable,
               "spark.driver.host": LOCAL_IP, "spark.ui.showConsoleProgress": "false"}
    java = java_options(quick_start, settings)
    if java:
        options["spark.driver.extraJavaOptions"] = java
        options["spark.executor.extraJavaOptions"] = java
    options.update({k: str(v) for k, v in (conf or {}).items()})
    command = [str(spark_home() / "bin" / "spark-submit"), "--master", master or settings.spark_master,
               "--name", name]
    for key, value in options.items():
        command += ["--conf", f"{key}={value}"]
    command += [str(script), *[str(a) for a in args]]
    logs = settings.home / "spark" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    env = {**os.environ, **launch_environment()}
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
