"""What counts as the same answer: one comparison for notebook exercises and for homework.

>>> same("2021-01-15", date(2021, 1, 15), "date")   # homework: the question says how to read the answer
>>> same(frame, expected)                            # exercises: the expected value's type says it

A number matches to the cent (0.01 either way; one in a million of a large one); a whole number must be whole; a
date by its ``YYYY-MM-DD``; text whatever its case and surrounding spaces; a table row by row, in order, whatever
its column names; a list item by item.
"""

from __future__ import annotations

import math
import numbers
from datetime import date
from typing import Any

import pandas as pd

KINDS = ("int", "float", "date", "text", "table", "list", "exact")


def kind_of(expected: Any) -> str:
    """How to compare with ``expected`` when nobody says: from its type."""
    if isinstance(expected, pd.DataFrame):
        return "table"
    if isinstance(expected, list | tuple):
        return "list"
    if isinstance(expected, bool):
        return "exact"
    if isinstance(expected, numbers.Integral):
        return "int"
    if isinstance(expected, numbers.Real):
        return "float"
    if isinstance(expected, date):
        return "date"
    if isinstance(expected, str):
        return "text"
    return "exact"


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def same(given: Any, expected: Any, kind: str | None = None) -> bool:
    """Whether ``given`` answers ``expected``, read as ``kind`` (one of :data:`KINDS`; None: :func:`kind_of`)."""
    if given is None:
        return False
    kind = kind or kind_of(expected)
    if kind == "table":
        if not isinstance(given, pd.DataFrame) or given.shape != expected.shape:
            return False
        rows = zip(given.itertuples(index=False, name=None), expected.itertuples(index=False, name=None), strict=True)
        return all(same(list(a), list(b)) for a, b in rows)
    if kind == "list":
        return isinstance(given, list | tuple) and len(given) == len(expected) and all(
            same(a, b) for a, b in zip(given, expected, strict=True))
    if kind in ("int", "float"):
        number, wanted = _number(given), _number(expected)
        if number is None or wanted is None:
            return False
        if kind == "int":
            return number == wanted and number.is_integer()
        return math.isclose(number, wanted, rel_tol=1e-6, abs_tol=0.01)
    if kind == "date":
        return str(given).strip()[:10] == str(expected)[:10]
    if kind == "text":
        return str(given).strip().casefold() == str(expected).strip().casefold()
    return given == expected
