"""Week 6, streaming: the broker's topics and groups, the sink tables in PostgreSQL, the processors' state."""

from __future__ import annotations

import json

from ..homework import NotLoaded, Question, once
from ..settings import Settings

# The topic homework.md asks the student to produce.
HOMEWORK_TOPIC = "green-trips"


def public_tables() -> tuple[str, ...]:
    """The library's sink tables, notebook 06's own sink (the one that writes rows twice after a crash) and notebook
    11's Flink table: week 6's, in the public schema."""
    from ..streaming.sink import OFFSETS_TABLE, RIDES, ZONE_HOURS

    return RIDES.name, ZONE_HOURS.name, OFFSETS_TABLE, "my_rides", "flink_zone_windows"


def reset(settings: Settings) -> list[str]:
    """The broker's topics and consumer groups (on the course's own broker only: an external cluster's topics may
    not be ours), the sink tables, and the stream processors' local state (Flink: the job's checkpoints)."""
    from .. import course, db, streaming

    removed = streaming.clear(settings)
    removed += db.clear(tables=public_tables(), settings=settings)
    return removed + course.remove_folders(settings.home / "streaming", settings.home / "flink")


# --- homework: the topic the student produced -------------------------------------------------------------------------

@once
def _messages(s: Settings):
    from .. import streaming

    try:
        frame = streaming.read_topic(HOMEWORK_TOPIC, decode=None, settings=s)
    except streaming.TopicError:
        raise NotLoaded(f"there is no topic {HOMEWORK_TOPIC!r}: produce it as homework.md says") from None
    if frame.empty:
        raise NotLoaded(f"topic {HOMEWORK_TOPIC!r} is empty: produce the rides as homework.md says")
    try:
        frame["value"] = [json.loads(v) for v in frame["value"]]
    except (TypeError, ValueError):
        raise NotLoaded(f"the messages in {HOMEWORK_TOPIC!r} are not JSON: produce them as homework.md says") from None
    return frame


def _message_count(s: Settings) -> int:
    from .. import streaming

    _messages(s)
    return streaming.message_count(HOMEWORK_TOPIC, settings=s)


def _partition_zero(s: Settings) -> int:
    from .. import streaming

    _messages(s)
    offsets = streaming.topic_offsets(HOMEWORK_TOPIC, settings=s)
    return int(offsets.loc[offsets["partition"] == 0, "messages"].sum())


@once
def _rides(s: Settings):
    """The rides in the topic, checked to be in the course's format (JSON objects, ISO pickup times, integer zones):
    anything else would be graded against a misread stream."""
    import pandas as pd

    values = _messages(s)["value"]
    fields = ("lpep_pickup_datetime", "PULocationID")
    if not all(isinstance(v, dict) and all(f in v for f in fields) for v in values):
        raise NotLoaded(f"the messages in {HOMEWORK_TOPIC!r} are not rides in the course's format (JSON objects with "
                        f"{' and '.join(fields)}): produce them as homework.md says")
    rides = pd.DataFrame(values.tolist())
    pickups, zones = rides["lpep_pickup_datetime"], rides["PULocationID"]
    if not pickups.map(lambda v: isinstance(v, str)).all() or not zones.map(lambda v: type(v) is int).all():
        raise NotLoaded(f"the messages in {HOMEWORK_TOPIC!r} need lpep_pickup_datetime as ISO text "
                        "(2021-01-01T00:15:56) and PULocationID as an integer: produce them as homework.md says")
    rides["lpep_pickup_datetime"] = pd.to_datetime(pickups, format="ISO8601")
    return rides


def _top_pickup_zone(s: Settings) -> int:
    counts = _rides(s).groupby("PULocationID").size()
    return int(min(counts[counts == counts.max()].index))


def _busiest_window(s: Settings) -> int:
    rides = _rides(s)
    return int(rides.groupby(rides["lpep_pickup_datetime"].dt.floor("5min")).size().max())


QUESTIONS = [
    Question("q1", "int", _message_count),
    Question("q2", "int", _partition_zero),
    Question("q3", "int", _top_pickup_zone),
    Question("q4", "int", _busiest_window),
]
