"""Kafka Streams from Python (week 6, notebook 08): build the course's Java app offline and run it, bounded.

>>> from zoomcamp.streaming import kstreams
>>> jar = kstreams.build()                                  # mvn -o package of week_6_streaming/java
>>> run = kstreams.run_streams_app(jar, "rides", "zone-windows", window_minutes=15)
>>> kstreams.read_windows("zone-windows")                   # window_start, zone, rides (each window's last count)

The app is a JVM process of its own (Kafka Streams is a library inside it); it stops once every message that was
in the input topic when it started is processed and committed, or after ``max_seconds`` without progress.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from kafka.errors import CoordinatorNotAvailableError

from .. import jvm
from ..errors import CourseError
from ..settings import Settings, get_settings, project_root
from ..stack.kafka import QUICK_JVM
from .broker import bootstrap_servers, delete_topics, forget_group, read_topic, topics

PROJECT = "week_6_streaming/java"
TOPOLOGY = f"{PROJECT}/src/main/java/org/zoomcamp/streams/ZoneWindows.java"
HEAP = "256m"  # plenty for a month of sample rides in the in-memory window store
_SUMMARY = re.compile(r"zone-windows: processed=(\d+) skipped=(\d+) seconds=([\d.]+) status=(\d+)")


class StreamsAppError(CourseError, RuntimeError):
    """The Kafka Streams app failed or stopped before it had processed its input."""


@dataclass
class StreamsRun:
    processed: int  # input messages processed and committed
    skipped: int  # malformed ones (Kafka Streams' dropped-records metric; late rides count there too)
    seconds: float
    log: str  # the app's stderr: warnings, e.g. one line per skipped message

    def __str__(self) -> str:
        return f"{self.processed:,} messages processed, {self.skipped} skipped, in {self.seconds:.1f} s"


def build(tests: bool = False) -> Path:
    """The app's jar, built offline by Maven (``make setup`` fetched its dependencies once)."""
    return jvm.build_java_project(PROJECT, tests=tests)


def reset(application_id: str, settings: Settings | None = None) -> list[str]:
    """Forget the app's progress: its consumer group and its internal topics (``<application id>-...``: the
    state store's changelog), like Kafka's ``kafka-streams-application-reset`` tool. Returns the topics deleted."""
    try:
        forget_group(application_id, settings)
    except CoordinatorNotAvailableError:
        pass  # a new cluster has no __consumer_offsets topic yet, so no group at all
    return delete_topics([t for t in topics(settings) if t.startswith(f"{application_id}-")], settings)


def run_streams_app(jar: Path, input_topic: str, output_topic: str, window_minutes: int = 15, grace_minutes: int = 5,
                    application_id: str = "zone-windows", dead_letter_topic: str | None = None,
                    max_seconds: int = 60, fresh: bool = True, settings: Settings | None = None) -> StreamsRun:
    """Run the app until the input is consumed; ``fresh`` starts over (no committed offsets, no state).
    Taught in week_6_streaming/08_kafka_streams.ipynb."""
    settings = settings or get_settings()
    bootstrap = bootstrap_servers(settings)
    state_dir = settings.stack_path / "kstreams" / application_id  # the app's local state (checkpoints)
    if fresh:
        reset(application_id, settings)
        shutil.rmtree(state_dir, ignore_errors=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    command = [str(jvm.java()), f"-Xmx{HEAP}", *QUICK_JVM, "-jar", str(jar), "--bootstrap", bootstrap,
               "--input", input_topic, "--output", output_topic, "--window-minutes", str(window_minutes),
               "--grace-minutes", str(grace_minutes), "--application-id", application_id, "--state-dir", str(state_dir),
               "--max-seconds", str(max_seconds)]
    if dead_letter_topic:
        command += ["--dead-letter-topic", dead_letter_topic]
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=project_root())
    found = _SUMMARY.search(done.stdout)
    if done.returncode != 0 or not found:
        problems = [line for line in done.stderr.splitlines() if " ERROR " in line or " WARN " in line]
        last = (problems or done.stderr.strip().splitlines() or ["no output"])[-1]
        raise StreamsAppError(f"the Kafka Streams app stopped with status {done.returncode}: {last.strip()[:300]}")
    return StreamsRun(int(found.group(1)), int(found.group(2)), float(found.group(3)), done.stderr)


def read_windows(topic: str, settings: Settings | None = None) -> pd.DataFrame:
    """The app's output: one row per (window_start, zone) with its last count, ``window_start, zone, rides``.
    The app writes every change of a count; each zone's changes are in one partition, in order."""
    out = read_topic(topic, settings=settings)
    rows = pd.DataFrame(list(out["value"]), columns=["window_start", "window_end", "zone", "rides"])
    rows["window_start"] = pd.to_datetime(rows["window_start"])
    last = rows.groupby(["window_start", "zone"], as_index=False).last()
    return last[["window_start", "zone", "rides"]].sort_values(["window_start", "zone"], ignore_index=True)
