"""Exercise checks: right answers pass, wrong ones don't, a missing one only says so."""

import pandas as pd

from zoomcamp.exercises import check


def test_numbers_to_the_cent_and_exact_values(capsys):
    assert check(10.004, 10.0) and check(3, 3) and check("Queens", "Queens")
    assert not check(10.5, 10.0) and not check("Bronx", "Queens") and not check("x", 1.0)
    assert not check(None, 1)
    assert "Not answered yet" in capsys.readouterr().out


def test_tables_compare_row_by_row_whatever_the_column_names():
    expected = pd.DataFrame({"zone": ["A", "B"], "trips": [3, 2]})
    assert check(pd.DataFrame({"z": ["A", "B"], "n": [3, 2]}), expected)
    assert not check(pd.DataFrame({"z": ["B", "A"], "n": [2, 3]}), expected)  # order matters
    assert not check(pd.DataFrame({"z": ["A"], "n": [3]}), expected)
    assert check([1, 2.0001], [1, 2.0]) and not check([1], [1, 2])
