"""One answer comparison for exercises and homework: how each kind of answer is read, and what it must match."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from zoomcamp.answers import kind_of, same


@pytest.mark.parametrize(("given", "expected", "kind", "right"), [
    ("1234", 1234, "int", True), (1234.0, 1234, "int", True), ("1234.5", 1234, "int", False), ("abc", 1, "int", False),
    ("12.34", 12.341, "float", True), (12.36, 12.34, "float", False), ("2021-01-15", date(2021, 1, 15), "date", True),
    ("2021-01-15 00:00", "2021-01-15", "date", True), ("15/01/2021", date(2021, 1, 15), "date", False),
    (" manhattan ", "Manhattan", "text", True), ("Queens", "Manhattan", "text", False), (None, 0, "int", False),
])
def test_homework_answers_are_read_as_their_question_says(given, expected, kind, right):
    assert same(given, expected, kind) is right


def test_without_a_kind_the_expected_value_says_how_to_compare():
    assert [kind_of(v) for v in (3, np.int64(3), 2.5, np.float64(2.5), True, date(2021, 1, 1), "x", [1], None)] == [
        "int", "int", "float", "float", "exact", "date", "text", "list", "exact"]
    assert same(np.int64(7), 7) and not same("7", 8) and same(2.504, 2.5) and not same("2.5x", 2.5)
    expected = pd.DataFrame({"zone": ["A", "B"], "day": pd.to_datetime(["2021-01-01", "2021-01-02"])})
    assert same(pd.DataFrame({"z": ["a", "B"], "d": ["2021-01-01", "2021-01-02"]}), expected)
    assert not same(expected.iloc[::-1], expected)
