"""The course's Airflow: every DAG imports cleanly, week 2's DAG backfills three months into the lake, the UI starts."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest

from zoomcamp import orchestration
from zoomcamp.stack import free_port

pytestmark = pytest.mark.stack  # starts, or needs, the local services

DAG_FILES = sorted(p for folder in orchestration.dag_folders() for p in folder.glob("*.py")
                   if not p.name.startswith("_"))


def test_there_are_dags():
    assert any(p.name == "lake_ingest.py" for p in DAG_FILES)


@pytest.fixture(scope="module")
def dagbags(airflow_home) -> dict[str, dict]:
    """Every DAG file loaded in Airflow's own DagBag, one file per bag, in the course's Airflow child process
    (importing Airflow costs seconds: paid once, not once per file)."""
    return orchestration.parse_dags(DAG_FILES, airflow_home=airflow_home)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: f"{p.parents[2].name}/{p.name}")
def test_dag_integrity(path, dagbags):
    """Each DAG file imports without errors in Airflow's own DagBag, defines exactly the DAG it is named after, and
    has the house conventions: retries, tags, no catchup surprise, no top-level library work."""
    found = dagbags[str(path)]
    assert found["errors"] == {}
    assert list(found["dags"]) == [path.stem]
    dag = found["dags"][path.stem]
    assert dag["retries"] and min(dag["retries"]) >= 1
    assert dag["tags"] and dag["catchup"] is False
    # Library imports inside tasks: the scheduler parses DAG files often and must not pay for (or fail on) them.
    top_level = {n.module or "" for n in ast.parse(path.read_text()).body if isinstance(n, ast.ImportFrom)}
    assert not any(m.startswith("zoomcamp") for m in top_level)


FAILING_DAG = """
from datetime import datetime
from airflow.sdk import dag, task

@dag(dag_id="always_fails", schedule=None, start_date=datetime(2021, 1, 1), catchup=False)
def always_fails():
    @task
    def fine():
        return 1

    @task
    def broken(value):
        raise ValueError("the data is wrong")

    broken(fine())

always_fails()
"""


def test_a_failing_dag_run_says_which_task_and_where_the_log_is(tmp_path, airflow_home):
    (tmp_path / "always_fails.py").write_text(FAILING_DAG)
    with pytest.raises(orchestration.DagRunFailed, match=r"2021-01-01: broken\)") as failure:
        orchestration.run_dag("always_fails", ["2021-01-01"], folder=tmp_path, airflow_home=airflow_home)
    assert "the data is wrong" in str(failure.value)  # the end of the log is in the message
    # The new home's metadata DB is (a copy of) the one template of this Airflow version, at the same migration.
    version = (airflow_home / "initialised-by").read_text()
    revision = "SELECT version_num FROM alembic_version"
    with closing(sqlite3.connect(orchestration.template_db(version))) as template, \
            closing(sqlite3.connect(airflow_home / "airflow.db")) as home:
        assert template.execute(revision).fetchall() == home.execute(revision).fetchall() != []


def test_a_fixed_dag_file_runs_in_the_same_kept_airflow_process(tmp_path, airflow_home):
    """run_dag keeps its Airflow child for the next call (importing Airflow costs seconds), and that child reads the
    DAG file again each time: the student's fix is what runs, not the version parsed before."""
    (tmp_path / "always_fails.py").write_text(FAILING_DAG)
    with pytest.raises(orchestration.DagRunFailed, match="the data is wrong"):
        orchestration.run_dag("always_fails", ["2021-01-02"], folder=tmp_path, airflow_home=airflow_home)
    child = orchestration._Child._current.process.pid
    (tmp_path / "always_fails.py").write_text(FAILING_DAG.replace('raise ValueError("the data is wrong")',
                                                                  "return value + 1"))
    runs = orchestration.run_dag("always_fails", ["2021-01-02"], folder=tmp_path, airflow_home=airflow_home)
    assert runs[0].tasks == {"fine": "success", "broken": "success"}
    assert orchestration._Child._current.process.pid == child


def test_unknown_dag():
    with pytest.raises(orchestration.DagRunFailed, match="lake_ingest"):
        orchestration.find_dag("no_such_dag")


def test_standalone_serves_the_ui_with_the_course_dags(settings):
    """`zoomcamp airflow standalone` as a student starts it: the UI's API answers healthy, and, logged in as the admin
    whose password standalone generated, lists every course DAG (parsed by its DAG processor)."""
    port = free_port()
    zoomcamp = Path(sys.executable).with_name("zoomcamp")
    process = subprocess.Popen([str(zoomcamp), "airflow", "standalone", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    home = Path(orchestration.environment(settings)["AIRFLOW_HOME"])
    passwords = home / "simple_auth_manager_passwords.json.generated"
    try:
        deadline, health, dags = time.monotonic() + 180, None, set()
        while time.monotonic() < deadline and health is None:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as r:
                    health = r.read().decode()
            except OSError:
                time.sleep(2)
        assert health and '"metadatabase":{"status":"healthy"}' in health.replace(" ", "")
        login = json.dumps({"username": "admin", "password": json.loads(passwords.read_text())["admin"]}).encode()
        request = urllib.request.Request(f"{url}/auth/token", data=login, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as r:
            token = json.loads(r.read())["access_token"]
        course = {p.stem for p in DAG_FILES}
        while time.monotonic() < deadline and not course <= dags:
            request = urllib.request.Request(f"{url}/api/v2/dags?limit=100",
                                             headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=10) as r:
                dags = {d["dag_id"] for d in json.loads(r.read())["dags"]}
            time.sleep(1)
        assert course <= dags
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=60)
