"""Measuring Spark work: wall time, and its jobs, stages and tasks from the Spark UI's REST API."""

from __future__ import annotations

import contextlib
import itertools
import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from .runtime import SparkError

if TYPE_CHECKING:  # pyspark is imported when a function needs it: `import zoomcamp.spark` stays cheap
    from pyspark.sql import SparkSession

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
