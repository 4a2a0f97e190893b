"""The rides as a stream: which trips, in which order, as which messages, and how a consumer checks one.

A ride message is one trip as a JSON object (the TLC columns, timestamps as ISO strings), keyed by its
pickup zone (``PULocationID``): Kafka sends equal keys to the same partition, so each zone's rides stay in order.
"""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pandas as pd

from .. import datasets
from ..errors import CourseError

KEY = "PULocationID"
PICKUP = {"yellow": "tpep_pickup_datetime", "green": "lpep_pickup_datetime"}
DROPOFF = {"yellow": "tpep_dropoff_datetime", "green": "lpep_dropoff_datetime"}

# What a consumer requires of a yellow ride message: field -> kind (None allowed only where marked optional).
RIDE_FIELDS: dict[str, str] = {
    "VendorID": "int?",
    "tpep_pickup_datetime": "timestamp",
    "tpep_dropoff_datetime": "timestamp",
    "passenger_count": "number?",
    "trip_distance": "number",
    "PULocationID": "int",
    "DOLocationID": "int",
    "payment_type": "int?",
    "fare_amount": "number",
    "tip_amount": "number",
    "total_amount": "number",
}


class BadMessage(CourseError, ValueError):
    """A message a consumer cannot use (not JSON, a missing field, a wrong type); the text is the reason
    that goes with it to the dead-letter topic."""


def load_rides(month: str = "2021-01", kind: str = "yellow") -> pd.DataFrame:
    """The month's trips in pickup order: what a feed would have delivered live (see :func:`in_pickup_order`)."""
    return in_pickup_order(datasets.read_csv(datasets.trip_file(kind, month)), month, kind)


def in_pickup_order(trips: pd.DataFrame, month: str, kind: str = "yellow") -> pd.DataFrame:
    """``trips`` sorted by pickup time. Trips whose pickup lies outside the month (the files' dirt: 2008, 2009,
    ...) are left out: replayed in time order they would span years."""
    pickup = PICKUP[kind]
    start = pd.Timestamp(f"{month}-01")
    inside = trips[(trips[pickup] >= start) & (trips[pickup] < start + pd.offsets.MonthBegin(1))]
    return inside.sort_values(pickup, kind="stable", ignore_index=True)


def ride_messages(rides: pd.DataFrame, key: str = KEY) -> list[tuple[bytes, bytes]]:
    """(key, value) bytes for each ride, in order. Serialised in one vectorised pass (pandas ``to_json``): the
    per-message ``json.dumps`` of a dict is slower than the producer itself."""
    lines = rides.to_json(orient="records", lines=True, date_format="iso", date_unit="s").splitlines()
    keys = rides[key].astype("string").fillna("").to_numpy()
    return [(k.encode(), v.encode()) for k, v in zip(keys, lines, strict=True)]


def event_times(rides: pd.DataFrame, kind: str = "yellow") -> np.ndarray:
    """Pickup times as seconds since the epoch (float), for replay schedules and record timestamps."""
    return rides[PICKUP[kind]].to_numpy("datetime64[ms]").astype("int64") / 1000.0


def _check(name: str, kind: str, value):
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None:
        if optional:
            return None
        raise BadMessage(f"{name}: null where a value is required")
    if kind == "timestamp":
        if not isinstance(value, str):
            raise BadMessage(f"{name}: expected an ISO timestamp, got {value!r}")
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise BadMessage(f"{name}: not a timestamp: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadMessage(f"{name}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise BadMessage(f"{name}: not a finite number: {value!r}")
    if kind == "int":
        if value != int(value):
            raise BadMessage(f"{name}: expected an integer, got {value!r}")
        return int(value)
    return float(value)


def parse_ride(value: bytes | None) -> dict:
    """A ride message's fields, checked and typed (timestamps as datetime); :class:`BadMessage` says what is wrong."""
    if value is None:
        raise BadMessage("empty message (a tombstone?)")
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadMessage(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadMessage(f"expected a JSON object, got {type(data).__name__}")
    missing = [name for name in RIDE_FIELDS if name not in data]
    if missing:
        raise BadMessage(f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    return {name: _check(name, kind, data[name]) for name, kind in RIDE_FIELDS.items()}
