"""The course's user-facing errors: something a person can fix, said in one line.

Every module raises a subclass of :class:`CourseError` for bad input or a machine that is not
ready; the CLI prints those as ``error: ...`` (exit code 2) instead of a traceback.
"""


class CourseError(Exception):
    """Base class of errors whose message tells the user what to do."""
