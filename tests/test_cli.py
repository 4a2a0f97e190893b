"""The `zoomcamp` command: --help everywhere, the stack and data commands, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from zoomcamp.cli import app

ZOOMCAMP = str(Path(sys.executable).parent / "zoomcamp")


def all_commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name)
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            yield from all_commands(command, (*path, name))


COMMANDS = list(all_commands(typer.main.get_command(app)))


def run(*args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([ZOOMCAMP, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_every_command_is_covered():
    assert {("data", "sample"), ("data", "download"), ("stack", "up"), ("stack", "down"), ("stack", "status"),
            ("stack", "env"), ("doctor",)} <= set(COMMANDS)


@pytest.mark.parametrize("command", [(), *COMMANDS], ids=lambda c: " ".join(c) or "zoomcamp")
def test_help_on_every_command(command):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


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
        (("data", "sample", "-m", "2021-13"), "'2021-13' is not a month"),
        (("data", "download", "yellow", "21-01"), "'21-01' is not a month"),
        (("data", "download", "purple", "2021-01"), "unknown taxi type 'purple'"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, args, message):
    result = run(*args, ZOOMCAMP_HOME=str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


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
