"""Shared by the registration tests: a valid form, a cheap password hash, a Postgres database of their own,
and the app as a real server on 127.0.0.1: its own process (``started``, for the load and restart tests; shared by
test_registration_server.py and test_platform_server.py through tests/conftest.py) or a thread of the test process
(``ThreadedServer``, for the browser tests: no new interpreter to import the app)."""

from __future__ import annotations

import csv
import http.cookiejar
import io
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from zoomcamp import db
from zoomcamp.stack import free_port

ZOOMCAMP = str(Path(sys.executable).parent / "zoomcamp")
PASSWORD = "a long instructor password"
# A fresh `zoomcamp registration serve` imports for a few seconds; on a shared 2-core machine at load 16 it took
# more than 30 before logging a line.
STARTUP_SECONDS = 90
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

VALID = {"name": "Ada Lovelace", "email": "ada@example.com", "country": "GB", "timezone": "Europe/London",
         "experience": "intermediate", "role": "data_engineer", "cloud": "gcp", "heard_from": "friend",
         "cohort": "2026", "consent": "yes", "website": ""}


@cache
def password_hash() -> str:
    """The instructor password's hash, at a lower scrypt cost than the default so logins in tests are quick."""
    from registration.security import hash_password

    return hash_password(PASSWORD, n=2**14)


def token(html: str) -> str:
    return TOKEN.search(html).group(1)


def postgres_url(database: str) -> str:
    """A fresh, empty database in the session's PostgreSQL (dropped and made again)."""
    with db.engine().execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    return sa.make_url(db.url()).set(database=database).render_as_string(hide_password=False)


def count_rows(url: str, where: str = "", params: dict | None = None) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM registrations {where}"), params or {}).scalar_one()
    finally:
        engine.dispose()


class Server:
    """``zoomcamp registration serve`` as its own process on a free port of 127.0.0.1."""

    def __init__(self, home: Path, database_url: str, rate_limit: int = 0):
        self.home, self.database_url, self.rate_limit = home, database_url, rate_limit
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / f"server-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        env = {**os.environ, "ZOOMCAMP_HOME": str(self.home), "ZOOMCAMP_REGISTRATION_DATABASE_URL": self.database_url,
               "ZOOMCAMP_REGISTRATION_PASSWORD_HASH": password_hash()}
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [ZOOMCAMP, "registration", "serve", "--port", str(self.port), "--rate-limit", str(self.rate_limit)],
                env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer within {STARTUP_SECONDS} s:\n{self.log.read_text()}")

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # uvicorn finishes the requests under way, then exits
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else None


def started(backend: str, home: Path) -> Server:
    """``zoomcamp registration serve`` on a SQLite file in ``home`` or on a fresh database of the session's
    PostgreSQL (``backend``), answering."""
    url = (f"sqlite:///{home / 'registration.db'}" if backend == "sqlite"
           else postgres_url("registration_test_server"))
    running = Server(home, url).start()
    running.backend = backend
    return running


class ThreadedServer:
    """An app served by uvicorn over TCP on 127.0.0.1, in a thread of this process: a real server for a real
    browser, started in a fraction of a second (a subprocess would import the app again; the platform's would also
    need the course data loaded for its right answers)."""

    def __init__(self, app):
        import threading

        import uvicorn

        self.app, self.port = app, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    http="h11"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
        self.app.state.store.close()


def artifacts() -> Path:
    """Where tests leave files for people to look at (screenshots, load figures): <test home>/artifacts,
    i.e. .zoomcamp-test/artifacts/ (git-ignored)."""
    path = Path(os.environ["ZOOMCAMP_HOME"]) / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def instructor_csv(url: str) -> list[dict]:
    """Log in to the instructor page as a browser would (cookies, CSRF token) and download the CSV export."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    html = opener.open(url + "/instructor", timeout=30).read().decode()
    body = urllib.parse.urlencode({"csrf_token": token(html), "password": PASSWORD}).encode()
    opener.open(urllib.request.Request(url + "/instructor/login", data=body), timeout=30)
    text = opener.open(url + "/instructor/export.csv", timeout=30).read().decode()
    return list(csv.DictReader(io.StringIO(text)))
