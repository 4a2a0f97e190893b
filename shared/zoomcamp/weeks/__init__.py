"""What each week owns, in one module per week: its scratch folders, its reset and its homework questions.

>>> from zoomcamp import weeks
>>> weeks.get(3).SCRATCH                 # {"columnar": "tmp/week3_columnar", ...}: folders under the course home
>>> weeks.get(3).reset(settings)         # what resetting week 3 removed (lines for `zoomcamp reset 3`)
>>> weeks.get(3).QUESTIONS               # its homework questions (homework.md has their wording)

A week's module declares ``reset(settings) -> list[str]`` (calls to the library areas' ``clear()``), and, when it
has them, ``SCRATCH`` (name -> folder under the home; notebooks ask ``course.scratch(week, name)``, and reset removes
them), ``QUESTIONS`` (``homework.Question`` list) and ``public_tables()`` (the tables it loads into PostgreSQL's
public schema, which week 1's reset then leaves to it). Adding a week: its module here and one line in ``WEEKS``.
"""

from __future__ import annotations

from types import ModuleType

from . import week_1, week_2, week_3, week_4, week_5, week_6, week_7

# The one registry of the weeks' own details: week number -> its module.
WEEKS: dict[int, ModuleType] = {1: week_1, 2: week_2, 3: week_3, 4: week_4, 5: week_5, 6: week_6, 7: week_7}


def get(week: int) -> ModuleType | None:
    """The module of week ``week``, or None for a week with no details of its own yet."""
    return WEEKS.get(week)


def claimed_public_tables() -> set[str]:
    """The public-schema tables some week declares as its own (``public_tables()``)."""
    return {t for module in WEEKS.values() if hasattr(module, "public_tables") for t in module.public_tables()}
