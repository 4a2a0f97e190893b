"""A box plot (min, quartiles, median, max) as coordinates for an inline SVG in a template: no plotting library,
nothing for the Content-Security-Policy to allow."""

from __future__ import annotations

WIDTH, LEFT, RIGHT = 440, 10, 40  # room on the right for the 'you' label


def box(five: dict[str, float] | None, top: float | None = None, mark: float | None = None) -> dict | None:
    """x positions of the whiskers, box and median on a scale from 0 to ``top`` (default: the max), and of
    ``mark`` (the student's own value) when given."""
    if not five:
        return None
    top = top if top is not None and top > 0 else max(five["max"], 1)
    span = WIDTH - LEFT - RIGHT

    def x(value: float) -> float:
        return round(LEFT + span * min(max(value, 0), top) / top, 1)

    return {"width": WIDTH, "min": x(five["min"]), "q1": x(five["q1"]), "median": x(five["median"]),
            "q3": x(five["q3"]), "max": x(five["max"]), "mark": None if mark is None else x(mark), "top": top,
            "left": LEFT, "right": WIDTH - RIGHT,
            "values": five}
