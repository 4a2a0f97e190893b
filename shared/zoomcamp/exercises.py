"""Exercise checks for notebooks: the expected value is computed from the data in front of the student.

>>> check(my_answer, expected)   # prints whether the answer is right; never raises, so a notebook runs through
"""

from __future__ import annotations

from .answers import same


def check(answer, expected) -> bool:
    """Print whether ``answer`` matches ``expected`` (as :func:`zoomcamp.answers.same` compares them)."""
    if answer is None:
        print("Not answered yet: write your answer in the cell above, run it, then run this cell again.")
        return False
    if same(answer, expected):
        print("Correct!")
        return True
    print("Not quite: compare your answer with the question again (the solution is in the next, hidden cell).")
    return False
