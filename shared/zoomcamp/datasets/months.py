"""Months as the TLC names them in file names: ``YYYY-MM``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..errors import CourseError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR = 2009  # the TLC's trip records start in January 2009


class BadMonth(CourseError, ValueError):
    pass


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        m = _MONTH.match(text.strip())
        if not m or not 1 <= int(m[2]) <= 12:  # a typo, not a month the TLC lacks
            raise BadMonth(f"{text!r} is not a month: write it YYYY-MM, e.g. 2021-01")
        if int(m[1]) < FIRST_YEAR:
            raise BadMonth(
                f"{text!r} is not a month the TLC publishes: its trip records start in {FIRST_YEAR}-01"
            )
        return cls(int(m[1]), int(m[2]))

    @classmethod
    def of(cls, value: Month | str) -> Month:
        """A month given either way (a Month, or its ``YYYY-MM`` text): what every function taking one calls."""
        return value if isinstance(value, Month) else cls.parse(value)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1)

    @property
    def end(self) -> datetime:
        """The first instant of the next month (exclusive bound)."""
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_months(items: Month | str | Iterable[Month | str] | None) -> list[Month]:
    """Months given any way a caller may give them (one or several; Months, ``2021-01`` items and
    ``2021-01..2021-03`` ranges, inclusive) as a list, keeping order, no duplicates; None is none."""
    if items is None:
        return []
    if isinstance(items, Month | str):
        items = [items]
    months: list[Month] = []
    for item in items:
        if isinstance(item, Month):
            months.append(item)
        elif ".." in item:
            first, last = (Month.parse(part) for part in item.split("..", 1))
            if last < first:
                raise BadMonth(f"{item!r}: the range ends before it starts")
            current = first
            while current <= last:
                months.append(current)
                current = current.next()
        else:
            months.append(Month.parse(item))
    return list(dict.fromkeys(months))
