"""Exercise checks for notebooks: the expected value is computed from the data in front of the student.

>>> check(my_answer, expected)   # prints whether the answer is right; never raises, so a notebook runs through
"""

from __future__ import annotations

import math

import pandas as pd


def _same(answer, expected) -> bool:
    if isinstance(expected, pd.DataFrame):
        if not isinstance(answer, pd.DataFrame) or answer.shape != expected.shape:
            return False
        left, right = answer.reset_index(drop=True), expected.reset_index(drop=True)
        left.columns, right.columns = range(left.shape[1]), range(right.shape[1])  # names are the student's
        return all(_same(a, b) for a, b in zip(left.itertuples(index=False), right.itertuples(index=False),
                                               strict=True))
    if isinstance(expected, list | tuple):
        return isinstance(answer, list | tuple) and len(answer) == len(expected) and all(
            _same(a, b) for a, b in zip(answer, expected, strict=True))
    if isinstance(expected, float) or isinstance(answer, float):
        try:
            return math.isclose(float(answer), float(expected), rel_tol=1e-6, abs_tol=0.005)
        except (TypeError, ValueError):
            return False
    return answer == expected


def check(answer, expected) -> bool:
    """Print whether ``answer`` matches ``expected`` (numbers to the cent; tables row by row, any column names)."""
    if answer is None:
        print("Not answered yet: write your answer in the cell above, run it, then run this cell again.")
        return False
    if _same(answer, expected):
        print("Correct!")
        return True
    print("Not quite: compare your answer with the question again (the solution is in the next, hidden cell).")
    return False
