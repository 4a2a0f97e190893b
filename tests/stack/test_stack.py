"""The local stack: a real PostgreSQL, idempotent up/down, status/env, and clear errors that change nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import pytest

from zoomcamp import db, stack
from zoomcamp.stack import StackError, claim_port
from zoomcamp.stack.postgres import Postgres


@pytest.mark.stack
def test_the_session_stack_is_a_real_postgres(settings):
    status = stack.get("postgres").status()
    assert status.running and status.details["port"]
    env = stack.env()
    conn = psycopg2.connect(host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"],
                            password=env["PGPASSWORD"], dbname=env["PGDATABASE"])
    with conn, conn.cursor() as cur:
        cur.execute("SELECT current_database(), current_user, version()")
        database, user, version = cur.fetchone()
    conn.close()
    assert (database, user) == (settings.postgres_db, settings.postgres_user)
    assert version.startswith("PostgreSQL")


@pytest.mark.stack
def test_psql_works_with_the_exported_environment():
    env = stack.env()
    out = subprocess.run(["psql", "-tAc", "SELECT 40 + 2"], env={"PATH": "/usr/bin:/bin", **env},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "42"


@pytest.mark.stack
def test_a_wrong_password_is_refused(settings):
    env = stack.env()
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"], password="wrong",
                         dbname=env["PGDATABASE"])


@pytest.mark.stack
def test_up_when_already_up_changes_nothing():
    # connect starts on demand only; kafka's pids are per broker (details["brokers"]), so .get
    before = {s.name: s.details.get("pid") for s in stack.status(stack.DEFAULT_SERVICES)}
    again = stack.up()
    assert [s.name for s in again] == stack.DEFAULT_SERVICES  # connect starts on demand only
    for status in again:
        assert status.running and "already running" in status.message
        assert status.details.get("pid") == before[status.name]


@pytest.mark.stack
def test_db_helpers_query_the_running_server():
    db.execute("DROP TABLE IF EXISTS helper_check")
    db.execute("CREATE TABLE helper_check AS SELECT generate_series(1, 10) AS n")
    assert db.query("SELECT sum(n) AS total FROM helper_check")["total"].item() == 55
    db.execute("DROP TABLE helper_check")


def test_a_configured_port_in_use_is_a_clear_error_and_creates_nothing(settings, scratch_home):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = Postgres(settings.replace(home=scratch_home, postgres_port=port))
        with pytest.raises(StackError, match=f"port {port} is in use by another program"):
            server.start()
    assert not (scratch_home / "stack").exists()


@pytest.mark.stack
def test_an_unconfigured_port_moves_to_a_free_one(settings, scratch_home):
    # The session's server holds its port; a second stack (another home) must pick another.
    taken = stack.get("postgres").status().details["port"]
    second = Postgres(settings.replace(home=scratch_home))
    second.write_state(port=taken)  # as if it had run there before
    try:
        status = second.start()
        assert status.running and status.details["port"] != taken
        stop = second.stop()
        assert not stop.running and stop.message == "stopped"
        assert "not running" in second.stop().message  # down twice is fine
    finally:
        second.stop()


def test_missing_postgresql_says_how_to_install_it(settings, scratch_home, tmp_path):
    server = Postgres(settings.replace(home=scratch_home, postgres_bin=tmp_path))
    with pytest.raises(StackError, match="apt-get install postgresql"):
        server.start()
    assert not (scratch_home / "stack").exists()


def test_unknown_service_is_refused():
    with pytest.raises(StackError, match="unknown service 'kafak'"):
        stack.up(["kafak"])


def test_a_home_closed_to_other_users_keeps_the_cluster_reachable(settings, tmp_path):
    # pytest's tmp_path sits in a folder only its owner can enter; the postgres user could not reach it.
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    folder = Postgres(settings.replace(home=closed / "home")).folder
    if os.geteuid() == 0:
        assert folder.parent == Path("/var/tmp") and folder.name.startswith("zoomcamp-postgres-")
    else:
        assert folder == closed / "home" / "stack" / "postgres"
    # A home every user can reach keeps its cluster inside. Not the project folder: a clone made under
    # `mktemp -d` as root sits in a folder closed to others, and its cluster rightly moves to /var/tmp.
    opened = Path(tempfile.mkdtemp(prefix="zoomcamp-open-", dir="/tmp"))
    try:
        opened.chmod(0o755)
        assert Postgres(settings.replace(home=opened / "home")).folder == opened / "home" / "stack" / "postgres"
    finally:
        opened.rmdir()



# --- nobody else on the machine gets in -------------------------------------------------------------------

def _psql_over_the_socket(server: Postgres, port, *, as_user: str | None = None) -> subprocess.CompletedProcess:
    """psql through the Unix socket, with no password at hand (-w: never prompt)."""
    command = ["psql", "-w", "-h", str(server.socket_dir), "-p", str(port), "-U", server.settings.postgres_user,
               "-d", server.settings.postgres_db, "-tAc", "SELECT 1"]
    if as_user:
        command = ["runuser", "-u", as_user, "--", *command]
    return subprocess.run(command, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"}, cwd="/",
                          capture_output=True, text=True)


@pytest.mark.stack  # the session's running PostgreSQL
def test_the_socket_is_closed_to_other_users_and_asks_everyone_for_the_password():
    server = stack.get("postgres")
    port = server.status().details["port"]
    mode = server.socket_dir.stat().st_mode
    assert oct(mode & 0o777) == oct(0o700)
    assert "trust" not in [line.split()[-1] for line in (server.data_dir / "pg_hba.conf").read_text().splitlines()
                           if line.strip() and not line.lstrip().startswith("#")]
    # Without the password, even the socket's owner (or root) is refused: no more `local trust`.
    refused = _psql_over_the_socket(server, port)
    assert refused.returncode != 0 and "password" in refused.stderr, refused.stderr
    if os.geteuid() == 0:
        # Another local user cannot even reach the socket (a student on a shared lab machine).
        other = _psql_over_the_socket(server, port, as_user="nobody")
        assert other.returncode != 0 and "Permission denied" in other.stderr, other.stderr
    # The course's own connections (the password, over TCP and over the socket) still work.
    ok = subprocess.run(["psql", "-tAc", "SELECT 1"], env={"PATH": "/usr/bin:/bin", **stack.env()},
                        capture_output=True, text=True)
    assert ok.stdout.strip() == "1", ok.stderr


def test_a_cluster_made_with_local_trust_is_closed_at_its_next_start(settings, tmp_path):
    server = Postgres(settings.replace(home=tmp_path / "home"))
    server.data_dir.mkdir(parents=True)
    hba = server.data_dir / "pg_hba.conf"
    hba.write_text("# TYPE DATABASE USER ADDRESS METHOD\n# local all all trust (a comment stays)\n"
                   "local   all             all                                     trust\n"
                   "host    all             all             127.0.0.1/32            scram-sha-256\n"
                   "local   replication     all                                     trust\n")
    hba.chmod(0o600)
    assert server._close_local_trust()
    lines = hba.read_text().splitlines()
    assert lines[1] == "# local all all trust (a comment stays)"
    assert lines[2].split() == ["local", "all", "all", "scram-sha-256"]
    assert lines[4].split() == ["local", "replication", "all", "scram-sha-256"]
    assert oct(hba.stat().st_mode & 0o777) == oct(0o600)
    assert not server._close_local_trust()  # once is enough


@pytest.mark.stack  # the session's running PostgreSQL
def test_the_password_is_this_homes_own_and_the_old_default_is_refused(settings):
    server = stack.get("postgres")
    env = stack.env()
    assert oct(server.password_file.stat().st_mode & 0o777) == oct(0o600)
    assert env["PGPASSWORD"] == server.password_file.read_text().strip() != "root"
    assert len(env["PGPASSWORD"]) >= 24
    # What any user of the machine could do before: 127.0.0.1 with the well-known password.
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host=env["PGHOST"], port=env["PGPORT"], user="root", password="root", dbname="postgres")
    if os.geteuid() == 0:  # another local user, with the course's own psql and the old password
        other = subprocess.run(["runuser", "-u", "nobody", "--", "psql", "-w", "-h", "127.0.0.1", "-p", env["PGPORT"],
                                "-U", "root", "-d", "postgres", "-tAc", "SELECT 1"],
                               env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PGPASSWORD": "root", "HOME": "/"},
                               cwd="/", capture_output=True, text=True)
        assert other.returncode != 0 and "password authentication failed" in other.stderr, other.stderr


@pytest.mark.stack  # starts a PostgreSQL server of its own
def test_a_cluster_made_with_the_old_password_gets_the_homes_own_at_its_next_start(settings, scratch_home):
    old = Postgres(settings.replace(home=scratch_home, postgres_password="root"))  # as every cluster was made
    try:
        port = old.start().details["port"]
        new = Postgres(settings.replace(home=scratch_home))
        assert not new.password_file.exists() and new.password == "root"  # until stack up
        new.start()  # already running: the password changes in place
        assert new.password_file.exists() and new.password != "root"
        psycopg2.connect(host="127.0.0.1", port=port, user="root", password=new.password, dbname="ny_taxi").close()
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(host="127.0.0.1", port=port, user="root", password="root", dbname="ny_taxi")
    finally:
        old.stop()


def test_two_homes_starting_at_once_never_pick_the_same_port():
    # Two test workers (or two checkouts) start their stacks at the same moment: 5432 is free for both until one
    # server listens. A claimed port is not handed to another owner; its own owner gets it again (a restart).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        candidate = probe.getsockname()[1]  # free, and nobody's claim yet
    first = claim_port(candidate, owner="home-a/postgres")
    second = claim_port(candidate, owner="home-b/postgres")
    assert first == candidate and second != candidate
    assert claim_port(candidate, owner="home-a/postgres") == candidate
    assert claim_port(candidate, owner="home-c/postgres", exclude={candidate}) != candidate
