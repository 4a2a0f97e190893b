"""A certificate as a PDF: one A4 landscape page drawn with matplotlib's PDF backend (already a course
dependency), carrying the link that verifies it."""

from __future__ import annotations

import io
from datetime import datetime


def pdf(name: str, cohort: str, score: float, issued: datetime, verify_url: str) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11.69, 8.27))  # A4 landscape, inches; no pyplot: no global state, thread-safe
    figure.text(0.5, 0.80, "Data Engineering Zoomcamp", ha="center", fontsize=30, weight="bold")
    figure.text(0.5, 0.68, "Certificate of completion", ha="center", fontsize=22)
    figure.text(0.5, 0.55, name, ha="center", fontsize=28)
    figure.text(0.5, 0.45, f"completed the {cohort} cohort and passed the capstone project's peer review "
                           f"({score:g} points)", ha="center", fontsize=14)
    figure.text(0.5, 0.38, f"issued {issued:%Y-%m-%d}", ha="center", fontsize=12)
    figure.text(0.5, 0.12, f"Verify: {verify_url}", ha="center", fontsize=10, family="monospace")
    out = io.BytesIO()
    figure.savefig(out, format="pdf", metadata={"Title": f"Certificate: {name}", "Creator": "zoomcamp"})
    return out.getvalue()
