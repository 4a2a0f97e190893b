"""Quix Streams (a Python stream-processing library on Kafka) set up for the course's broker.

>>> app = quix.application("zone-counts")         # fresh: no state or offsets left from an earlier run
>>> sdf = app.dataframe(app.topic("rides", value_deserializer="json", timestamp_extractor=quix.pickup_time))
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from ..settings import Settings, get_settings
from .broker import bootstrap_servers, delete_topics, forget_group, topics
from .rides import PICKUP


def state_dir(settings: Settings | None = None):
    return (settings or get_settings()).home / "streaming" / "quix-state"


def application(group: str, *, fresh: bool = True, settings: Settings | None = None, **options):
    """A ``quixstreams.Application`` on the cluster in use, reading from the earliest offset.

    ``fresh``: forget what an earlier run of the same group left behind (its committed offsets, its local
    RocksDB state, and its changelog/repartition topics, from which Quix would otherwise restore old window
    counts), so that re-running a notebook gives the same answers.
    """
    from quixstreams import Application

    settings = settings or get_settings()
    folder = state_dir(settings)
    if fresh:
        forget_group(group, settings)
        delete_topics([t for t in topics(settings) if f"__{group}--" in t], settings)
        shutil.rmtree(folder / group, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    defaults = {"auto_offset_reset": "earliest", "loglevel": "WARNING"}
    return Application(broker_address=bootstrap_servers(settings), consumer_group=group, state_dir=str(folder),
                       **{**defaults, **options})


def pickup_time(value, headers, timestamp, timestamp_type, kind: str = "yellow") -> int:
    """Quix ``timestamp_extractor``: a ride's event time (its pickup, in ms; TLC times read as UTC) instead of the
    time it was sent."""
    try:
        return int(datetime.fromisoformat(value[PICKUP[kind]]).replace(tzinfo=UTC).timestamp() * 1000)
    except (TypeError, KeyError, ValueError):
        return timestamp  # not a ride we can read: keep the broker's time (the sink dead-letters such messages)
