"""The library, the tests and the benchmarks pass ruff (rules in pyproject.toml), so the house stays tidy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    paths = ["shared", "tests", "bench", "registration", *sorted(p.name for p in ROOT.glob("week_*"))]
    result = subprocess.run([str(ruff), "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
