"""`make lab` — the course's main command — brings JupyterLab up on the course, with the stack running."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from zoomcamp import stack
from zoomcamp.stack import free_port

pytestmark = pytest.mark.stack  # starts, or needs, the local services

ROOT = Path(__file__).resolve().parents[2]


def test_make_lab_serves_the_course():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "BROWSER")}
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_PORT={port}"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, url = "", None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = lab.stdout.readline()
            if not line and lab.poll() is not None:
                break
            output += line
            # The printed URL opens week 1's first notebook, not the Launcher.
            match = re.search(rf"http://127\.0\.0\.1:{port}/lab/tree/week_1_basics/01_data_and_stack\.ipynb"
                              r"\?token=(\w+)", line)
            if match:
                url = match
        assert url, f"JupyterLab did not print its URL:\n{output[-3000:]}"
        names = set()
        api = f"http://127.0.0.1:{port}/api/contents/week_1_basics?token={url[1]}"
        while not names and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(api, timeout=10) as r:
                    names = {item["name"] for item in json.load(r)["content"]}
            except OSError:  # printed its URL, not accepting yet
                time.sleep(0.5)
        assert {"01_data_and_stack.ipynb", "02_postgres_ingest.ipynb", "README.md"} <= names
        assert "--no-browser" in output  # no display here: no browser is opened
        # JupyterLab's terminals inherit the server's PATH: the venv first, so `zoomcamp stack up` works there.
        server = subprocess.run(["pgrep", "-s", str(lab.pid), "-f", "jupyter-lab|jupyter lab"], capture_output=True,
                                text=True).stdout.split()
        assert server, "no JupyterLab process in the session"
        environ = Path(f"/proc/{server[0]}/environ").read_bytes().split(b"\0")
        path = next(v for v in environ if v.startswith(b"PATH=")).decode()[5:]
        assert path.split(":")[0] == str(ROOT / ".venv" / "bin")
        assert all(s.running for s in stack.status(stack.DEFAULT_SERVICES))  # Kafka Connect starts on demand
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)
