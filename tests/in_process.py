"""``zoomcamp ARGS`` run in this process, through the command's own entry point (``zoomcamp.cli.main``: its
one-line errors, exit codes and output): for tests about a command's words and exit code, without a new
interpreter's ~3 s of imports each time. Commands that serve, or that a signal must stop, still run as processes."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from dataclasses import dataclass
from unittest import mock


@dataclass
class Ran:
    """What ``subprocess.run(..., capture_output=True, text=True)`` would have said."""

    returncode: int
    stdout: str
    stderr: str


def zoomcamp(*args: str, input: str | None = None, **env: str) -> Ran:
    """Run ``zoomcamp *args`` with ``env`` added to the environment (settings are read again, before and after)."""
    from zoomcamp import cli
    from zoomcamp.errors import CourseError
    from zoomcamp.settings import reload_settings

    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    try:
        with (mock.patch.dict(os.environ, env), mock.patch.object(sys, "argv", ["zoomcamp", *args]),
              mock.patch.object(sys, "stdin", io.StringIO(input or "")),
              contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr)):
            with contextlib.suppress(CourseError):  # a broken setting: main() says so, as the command would
                reload_settings()
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code
    finally:
        reload_settings()
    return Ran(code if isinstance(code, int) else 0 if code is None else 1, stdout.getvalue(), stderr.getvalue())
