"""Producing: the course's producer settings, and the replay of trips into a topic as if they happened now.

>>> from zoomcamp import streaming
>>> rides = streaming.load_rides("2021-01")
>>> streaming.replay(rides, "rides")                 # as fast as the broker takes them
>>> streaming.replay(rides[:100], "rides", speedup=600)   # 10 minutes of rides per second, paced
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
from kafka import KafkaProducer

from ..errors import CourseError
from ..settings import Settings
from .broker import client_config
from .rides import KEY, event_times, ride_messages

# Why each: acks=all + idempotence = no loss and no duplicates on retries; linger + big batches + compression =
# many messages per request (throughput); 5 requests in flight keeps order with idempotence on.
PRODUCER_DEFAULTS = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 20,
    "batch_size": 256 * 1024,
    "compression_type": "zstd",
    "max_in_flight_requests_per_connection": 5,
    "delivery_timeout_ms": 120_000,
    "retry_backoff_ms": 100,
    "reconnect_backoff_max_ms": 1_000,  # find a restarted broker within a second
}


class DeliveryError(CourseError, RuntimeError):
    """Messages the broker did not acknowledge (after every retry)."""


def producer(settings: Settings | None = None, **options) -> KafkaProducer:
    """A KafkaProducer for the cluster in use with the course's defaults; any kafka-python option overrides them
    (e.g. ``producer(acks=1, linger_ms=0, compression_type=None)``). Taught in week_6_streaming/02_producer.ipynb."""
    return KafkaProducer(**client_config(settings), **{**PRODUCER_DEFAULTS, **options})


@dataclass
class ReplayResult:
    topic: str
    messages: int
    seconds: float
    speedup: float | None
    first_event: pd.Timestamp | None
    last_event: pd.Timestamp | None

    @property
    def rate(self) -> float:
        """Messages per second, from the first send to the last acknowledgement."""
        return self.messages / self.seconds if self.seconds else float("inf")

    def __str__(self) -> str:
        pace = f" at {self.speedup:g}x real time" if self.speedup else ""
        return f"{self.messages:,} messages to {self.topic!r} in {self.seconds:.2f} s ({self.rate:,.0f}/s){pace}"


def send_all(prod: KafkaProducer, topic: str, messages: list[tuple[bytes, bytes]],
             timestamps_ms: list[int] | None = None, schedule: list[float] | None = None) -> int:
    """Send (key, value) pairs, pacing them by ``schedule`` (seconds after the start) when given, then flush and
    raise :class:`DeliveryError` if any was not acknowledged. Returns the number sent.
    Taught in week_6_streaming/02_producer.ipynb (after the student's own loop)."""
    failures: list[Exception] = []
    if schedule is not None:
        # The first send waits for the topic's metadata (a new topic's leaders may take a moment): wait before the
        # clock starts, or the first messages would all go late, at once.
        prod.partitions_for(topic)
    started = time.monotonic()
    for i, (key, value) in enumerate(messages):
        if schedule is not None:
            ahead = schedule[i] - (time.monotonic() - started)
            if ahead > 0.002:  # sleeping less than that costs more than it paces
                time.sleep(ahead)
        future = prod.send(topic, key=key, value=value,
                           timestamp_ms=timestamps_ms[i] if timestamps_ms is not None else None)
        future.add_errback(failures.append)
    prod.flush()
    if failures:
        raise DeliveryError(f"{len(failures):,} of {len(messages):,} messages to {topic!r} were not delivered: "
                            f"{failures[0]!r}")
    return len(messages)


def replay(rides: pd.DataFrame, topic: str, *, speedup: float | None = None, key: str = KEY, kind: str = "yellow",
           event_timestamps: bool = False, prod: KafkaProducer | None = None,
           settings: Settings | None = None) -> ReplayResult:
    """Send ``rides`` (in their order) to ``topic`` as JSON keyed by ``key``.

    ``speedup``: None = as fast as possible; 60 = one minute of pickups per second of replay (the gaps between
    pickups are kept, divided by 60). ``event_timestamps``: stamp each record with its pickup time instead of the
    time of sending (careful: a topic's ``retention.ms`` then deletes 2021 rides at once, they are "old").

    Taught in week_6_streaming/02_producer.ipynb, after the student writes the same loop by hand.
    """
    if speedup is not None and speedup <= 0:
        raise CourseError(f"speedup must be positive (60 = a minute of rides per second), not {speedup}")
    messages = ride_messages(rides, key)
    events = event_times(rides, kind) if len(rides) else []
    schedule = list((events - events[0]) / speedup) if speedup and len(rides) else None
    stamps = [int(t * 1000) for t in events] if event_timestamps else None
    own = prod is None
    prod = prod or producer(settings)
    started = time.perf_counter()
    try:
        send_all(prod, topic, messages, stamps, schedule)
        seconds = time.perf_counter() - started
    finally:
        if own:
            prod.close()
    pickup = rides.columns[rides.columns.str.endswith("pickup_datetime")]
    first = rides[pickup[0]].iloc[0] if len(rides) and len(pickup) else None
    last = rides[pickup[0]].iloc[-1] if len(rides) and len(pickup) else None
    return ReplayResult(topic, len(messages), seconds, speedup, first, last)
