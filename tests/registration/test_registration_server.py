"""The registration app as a real server process on 127.0.0.1, on SQLite and on the session's PostgreSQL:
200 concurrent submissions, 50 concurrent duplicates, a restart, and the load script's figures. The servers
(``registration_server``, tests/conftest.py) are the ones test_platform_server.py uses too."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.parse
import urllib.request

import pytest
from registration_support import VALID, ZOOMCAMP, artifacts, count_rows, instructor_csv, token

from registration import load_test

pytestmark = pytest.mark.stack  # starts, or needs, the local services


@pytest.fixture(scope="session", autouse=True)  # once: the shared servers interleave the two files
def fresh_figures():
    """The figures of this run only, in .zoomcamp-test/artifacts/registration-load.txt."""
    (artifacts() / "registration-load.txt").unlink(missing_ok=True)


@pytest.fixture
def server(registration_server):
    return registration_server


LOAD_ROWS = "WHERE email_normalized LIKE 'load-%'"


def figures(line: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in line.split())


def test_200_concurrent_submissions_make_200_rows(server, capsys):
    # The load script's command (its main(), in this process: the server is the other process), and its last line.
    # (The database is shared with test_platform_server.py, whose students are load-* too: counts are differences.)
    before, before_load = count_rows(server.database_url), count_rows(server.database_url, LOAD_ROWS)
    code = load_test.main(["--url", server.url, "-n", "200"])
    out = capsys.readouterr().out
    assert code == 0, out
    last = figures(out.strip().splitlines()[-1])
    assert (last["submissions"], last["created"], last["errors"]) == ("200", "200", "0")
    assert float(last["submissions_per_s"]) > 0 and 0 < float(last["p95_ms"]) < 30_000
    assert count_rows(server.database_url) == before + 200
    assert count_rows(server.database_url, LOAD_ROWS) == before_load + 200
    with open(artifacts() / "registration-load.txt", "a") as f:
        f.write(f"{server.backend} 200 unique: {out.strip().splitlines()[-1]}\n")


def test_50_concurrent_duplicates_make_one_row(server):
    result = load_test.run(server.url, 50, same_email="Same.Person@Example.com")
    assert result.errors == []
    assert (result.created, result.already_registered) == (1, 49)
    where = "WHERE email_normalized = :email"
    assert count_rows(server.database_url, where, {"email": "same.person@example.com"}) == 1
    with open(artifacts() / "registration-load.txt", "a") as f:
        f.write(f"{server.backend} 50 duplicates: {result.summary()}\n")


def test_a_restart_loses_nothing(server):
    before = {(r["reference"], r["email"]) for r in instructor_csv(server.url)}
    assert len(before) == count_rows(server.database_url) >= 201
    # A clean shutdown on SIGTERM (uvicorn finishes, then exits by the signal it got).
    assert server.stop() in (0, -signal.SIGTERM) and "Finished server process" in server.log.read_text()
    server.start()
    after = {(r["reference"], r["email"]) for r in instructor_csv(server.url)}
    assert after == before
    # And it keeps taking registrations on the same database.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    html = opener.open(server.url + "/", timeout=30).read().decode()
    form = {**VALID, "email": "after.restart@example.com", "csrf_token": token(html)}
    response = opener.open(urllib.request.Request(server.url + "/register",
                                                  data=urllib.parse.urlencode(form).encode()), timeout=30)
    assert response.status == 201
    assert count_rows(server.database_url) == len(before) + 1


def test_the_load_script_stays_on_this_machine():
    with pytest.raises(SystemExit, match="loopback only"):  # a message: exit code 1, the message on stderr
        load_test.main(["--url", "http://192.0.2.1:8000"])


def test_a_busy_port_is_one_clear_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([ZOOMCAMP, "registration", "serve", "--port", str(port)], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "ZOOMCAMP_HOME": str(tmp_path)})
    assert result.returncode == 2 and f"port {port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr


def _rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _huge_header(port: int, megabytes: int) -> bytes:
    """A GET whose one header is ``megabytes`` long, sent in 1 MB pieces; what the server answered (if anything)
    before it closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        try:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
            for _ in range(megabytes):
                conn.sendall(b"a" * (1 << 20))
            conn.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: what it said is below
        try:
            return conn.recv(200)
        except ConnectionResetError:
            return b""


def test_a_huge_request_header_is_refused_and_does_not_grow_the_server(server):
    if server.backend != "sqlite":
        pytest.skip("the header limit is the HTTP server's, the same on either database")
    before = _rss_mb(server.process.pid)
    for _ in range(4):
        answer = _huge_header(server.port, 64)
        assert answer == b"" or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), answer
    grown = _rss_mb(server.process.pid) - before
    assert grown < 20, f"the server grew by {grown:.0f} MB"
    with urllib.request.urlopen(server.url + "/health", timeout=10) as response:  # and it still serves
        assert response.status == 200
