"""The `zoomcamp` command: --help everywhere, the stack and data commands, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from in_process import zoomcamp
from typer.testing import CliRunner

from zoomcamp.cli import app

ZOOMCAMP = str(Path(sys.executable).parent / "zoomcamp")


def all_commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name)
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            yield from all_commands(command, (*path, name))


COMMANDS = list(all_commands(typer.main.get_command(app)))


def run(*args: str, **env):
    """The command in this process (tests/in_process.py); the schema registry and Ctrl-C tests run it as a process."""
    return zoomcamp(*args, **env)


def test_every_command_is_covered():
    assert {("data", "sample"), ("data", "download"), ("stack", "up"), ("stack", "down"), ("stack", "status"),
            ("stack", "env"), ("doctor",)} <= set(COMMANDS)


@pytest.mark.parametrize("command", [(), *COMMANDS], ids=lambda c: " ".join(c) or "zoomcamp")
def test_help_on_every_command(command):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    # What to type, not typer's placeholders: no {TYPE} for a required argument, no YEAR-MONTH......
    assert "{" not in usage and "}" not in usage and "......" not in usage and "...]..." not in usage, usage


@pytest.mark.parametrize(("args", "message"), [
    (("data", "sample", "--bogus"), "error: no such option: --bogus"),
    (("data", "download"), "error: missing argument 'TYPE'"),
    (("data", "sample", "--rows", "many"), "error: invalid value for '--rows'"),
    (("nosuch",), "error: no such command 'nosuch'"),
], ids=["unknown option", "missing argument", "bad value", "unknown command"])
def test_bad_usage_is_one_line_that_says_what_to_do(tmp_path, args, message):
    """The course's one error style for bad arguments too: one line, exit 2, where to read how (no boxed panel)."""
    result = run(*args, ZOOMCAMP_HOME=str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    command = " ".join(a for a in args[:2] if a.isalpha() and a != "nosuch")
    assert result.stderr.startswith(message)
    assert result.stderr.rstrip().endswith(f"see `zoomcamp {command + ' ' if command else ''}--help`"), result.stderr


def test_a_group_without_a_command_shows_its_help():
    result = run("data")
    assert result.returncode == 2 and "Usage: zoomcamp data" in result.stdout + result.stderr
    assert "error:" not in result.stderr


@pytest.mark.stack
def test_stack_status_json_and_env():
    status = json.loads(run("stack", "status", "--json").stdout)
    assert status["postgres"]["running"] is True
    port = status["postgres"]["port"]
    env = run("stack", "env").stdout
    assert f"export PGPORT={port}" in env and "export PGHOST=127.0.0.1" in env
    # eval "$(zoomcamp stack env)"; psql  -- as the README says
    out = subprocess.run(["bash", "-c", f'eval "$({ZOOMCAMP} stack env)"; psql -tAc "select 1+1"'],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"


@pytest.mark.stack
def test_stack_up_twice_is_fine():
    result = run("stack", "up")
    assert result.returncode == 0 and "already running" in result.stdout


@pytest.mark.stack
def test_ingest_postgres_loads_then_an_append_of_the_same_file_loads_nothing():
    from zoomcamp import datasets, db

    path = str(datasets.trip_file("yellow", "2021-01"))
    rows = len(datasets.read_csv(path))
    db.execute("DROP TABLE IF EXISTS t_cli_ingest")
    first = CliRunner().invoke(app, ["ingest", "postgres", path, "--table", "t_cli_ingest"])
    again = CliRunner().invoke(app, ["ingest", "postgres", path, "--table", "t_cli_ingest", "--append"])
    assert first.exit_code == again.exit_code == 0, first.output + again.output
    assert f"{rows:,} rows loaded into t_cli_ingest" in first.output
    assert "t_cli_ingest already holds this file: nothing loaded" in again.output
    assert db.query("SELECT count(*) AS n FROM t_cli_ingest").loc[0, "n"] == rows


def test_data_sample_writes_the_files(tmp_path):
    result = run("data", "sample", "--rows", "100", "-m", "2020-12..2021-01", "-t", "fhv", ZOOMCAMP_HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "data" / "sample").iterdir())
    assert names == ["fhv_tripdata_2020-12.csv.gz", "fhv_tripdata_2020-12.parquet", "fhv_tripdata_2021-01.csv.gz",
                     "fhv_tripdata_2021-01.parquet", "manifest.json", "payment_type_lookup.csv", "taxi_zone_lookup.csv"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("data", "sample", "-t", "purple"), "unknown taxi type 'purple'"),
        (("data", "sample", "-m", "2021-13"), "'2021-13' is not a month: write it YYYY-MM"),
        (("data", "download", "yellow", "21-01"), "'21-01' is not a month: write it YYYY-MM"),
        (("data", "download", "yellow", "2021-1"), "'2021-1' is not a month: write it YYYY-MM, e.g. 2021-01"),
        (("data", "download", "yellow", "2008-12"), "'2008-12' is not a month the TLC publishes: its trip records "
                                                    "start in 2009-01"),
        (("data", "download", "purple", "2021-01"), "unknown taxi type 'purple'"),
        (("data", "path", "purple", "2021-01"), "unknown taxi type 'purple'"),
        (("lake", "upload", "nope.parquet", "--to", "gs://dez-homework"), "no such file: nope.parquet"),
        (("warehouse", "run", "nope.sql"), "nope.sql: no such file"),
        (("lake", "ingest", "yelow", "2021-01"), "unknown taxi type 'yelow' (did you mean yellow?); the lake takes "
                                                 "yellow, green, fhv, fhvhv"),
        (("lake", "ingest", "zones", "2021-01"), "the lake takes yellow, green, fhv, fhvhv"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, args, message):
    result = run(*args, ZOOMCAMP_HOME=str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.stack  # a server, from the real `zoomcamp` command
def test_schema_registry_serves_confluents_api_and_refuses_a_taken_port():
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        taken = run("schema-registry", "--port", str(port))
        assert taken.returncode == 2 and taken.stderr.startswith(f"error: schema-registry: port {port} is not free")
    served = subprocess.Popen([ZOOMCAMP, "schema-registry", "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert served.stdout.readline().startswith(f"schema registry on http://127.0.0.1:{port}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/subjects", timeout=10) as response:
            assert json.load(response) == []
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=10) as response:
            assert json.load(response) == {"compatibilityLevel": "BACKWARD"}
    finally:
        served.terminate()
        served.wait(timeout=30)


def test_a_broken_setting_is_one_clear_line(tmp_path):
    result = run("stack", "status", ZOOMCAMP_POSTGRES_PORT="abc")
    assert result.returncode == 2 and "ZOOMCAMP_POSTGRES_PORT" in result.stderr


def test_doctor_passes_on_this_machine():
    result = run("doctor")
    assert result.returncode == 0, result.stdout
    assert "PostgreSQL binaries" in result.stdout and "Java" in result.stdout and "GCS emulator" in result.stdout


def test_doctor_fails_without_postgresql(tmp_path):
    result = run("doctor", ZOOMCAMP_POSTGRES_BIN=str(tmp_path), ZOOMCAMP_HOME=str(tmp_path))
    assert result.returncode == 1 and "FAIL" in result.stdout


def test_ingest_without_the_stack_says_to_start_it_in_one_line(tmp_path):
    """A home whose stack never started (a student's first `zoomcamp ingest`): one line, exit 2 (not psycopg2's
    traceback about "port None")."""
    from zoomcamp import datasets

    trips = datasets.trip_file("yellow", "2021-01")  # the session's sample: a file the loader accepts
    result = run("ingest", "postgres", str(trips), "--table", "t", ZOOMCAMP_HOME=str(tmp_path / "home"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: PostgreSQL is not running") and "zoomcamp stack up" in result.stderr


@pytest.mark.stack  # the file is read once PostgreSQL answers
def test_ingest_refuses_a_file_that_is_not_parquet_a_folder_and_a_bad_table_name_in_one_line(tmp_path):
    fake = tmp_path / "yellow_tripdata_2021-01.parquet"
    fake.write_text("<html>not found</html>")  # what a failed download often leaves
    result = run("ingest", "postgres", str(fake), "--table", "t_fake")
    assert result.returncode == 2, result.stderr
    assert "yellow_tripdata_2021-01.parquet: not a readable parquet file" in result.stderr
    assert "Traceback" not in result.stderr
    from zoomcamp.errors import CourseError
    from zoomcamp.ingest import to_postgres

    # The same kind of one-line error (a CourseError: the CLI's exit 2), in process: two CLI starts fewer.
    with pytest.raises(CourseError, match="a folder, not a file"):
        to_postgres(tmp_path, "t_fake", progress=False)
    with pytest.raises(CourseError, match="use letters, digits and _"):
        to_postgres(fake, 'x"; drop', progress=False)


@pytest.mark.stack  # the real `zoomcamp` command, a long sample interrupted by SIGINT
def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    import signal
    import time

    process = subprocess.Popen([ZOOMCAMP, "data", "sample", "--rows", "3000000", "-m", "2021-01", "-t", "yellow"],
                               env={**os.environ, "ZOOMCAMP_HOME": str(tmp_path)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               # an xdist worker ignores SIGINT, and an ignored signal stays ignored across exec:
                               # give the command a terminal's default, as a student's shell does
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lookups = tmp_path / "data" / "sample" / "taxi_zone_lookup.csv"
    deadline = time.monotonic() + 60
    while not lookups.exists() and time.monotonic() < deadline:  # the trips are being generated now
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert stderr.strip().splitlines() == ["interrupted: the step under way was rolled back or left as it was; run "
                                           "the command again to finish"]
    assert not list((tmp_path / "data" / "sample").glob("yellow_*"))  # no half-written month


def test_progress_names_each_notebook(tmp_path):
    """Each mark says which notebook it is (its number), not only how many are done."""
    from zoomcamp import course
    from zoomcamp.settings import get_settings

    notebooks = [course.notebook_id(p) for p in course.notebooks(1)]
    assert len(notebooks) >= 3
    course.record(notebooks[1], settings=get_settings().replace(home=tmp_path))  # the second one only
    shown = run("progress", ZOOMCAMP_HOME=str(tmp_path), COLUMNS="200").stdout
    week1 = next(line for line in shown.splitlines() if "week_1_basics" in line)
    assert "· 01" in week1 and "✓ 02" in week1 and "· 03" in week1, shown
