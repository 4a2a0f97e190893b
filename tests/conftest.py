"""One isolated course home and one local stack for the whole test session.

The session gets its own ``ZOOMCAMP_HOME`` (``.zoomcamp-test/`` at the project root, git-ignored),
so tests never touch a student's data or running stack, and a small sample size. The stack is
started once before the first test and stopped after the last; notebooks executed by nbval run in
kernels that inherit these environment variables, so they find the same server.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_HOME = ROOT / ".zoomcamp-test"
SAMPLE_ROWS = 5_000


def pytest_configure(config):
    from zoomcamp.settings import load_settings

    # The JVM artifacts `make setup` resolved for this checkout (downloaded once, shared with the test home).
    os.environ["ZOOMCAMP_JVM_DIR"] = str(load_settings().jvm_path)
    os.environ["ZOOMCAMP_HOME"] = str(TEST_HOME)
    os.environ["ZOOMCAMP_SAMPLE_ROWS"] = str(SAMPLE_ROWS)
    os.environ["ZOOMCAMP_DATA_SOURCE"] = "sample"  # tests never reach the internet
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in ("ZOOMCAMP_CONFIG", "ZOOMCAMP_POSTGRES_PORT", "ZOOMCAMP_DATA_DIR", "ZOOMCAMP_BACKEND",
                 "ZOOMCAMP_KAFKA_BOOTSTRAP", "ZOOMCAMP_KAFKA_BROKERS", "ZOOMCAMP_KAFKA_PORT",
                 "ZOOMCAMP_CONNECT_PORT", "ZOOMCAMP_FLINK_PORT"):
        os.environ.pop(name, None)
    os.environ["ZOOMCAMP_CONFIG"] = str(TEST_HOME / "none.toml")  # ignore a student's zoomcamp.toml


def pytest_sessionstart(session):
    from zoomcamp import datasets, stack
    from zoomcamp.settings import get_settings, reload_settings

    reload_settings()
    TEST_HOME.mkdir(exist_ok=True)
    stack.down()  # a stack left over by an interrupted run
    remove_stack_files()
    # dlt's pipeline folders hold state (cursors) about the previous session's databases, which are gone.
    shutil.rmtree(get_settings().dlt_path, ignore_errors=True)
    stack.up()
    datasets.write_sample_lookups()
    datasets.write_sample_trips(["yellow", "green"], [datasets.Month(2021, 1)])


def pytest_sessionfinish(session, exitstatus):
    from zoomcamp import stack

    stack.down()
    remove_stack_files()


def remove_stack_files(settings=None) -> None:
    """Delete the services' files (as root they may live outside the home, see Postgres.folder)."""
    from zoomcamp import stack
    from zoomcamp.settings import get_settings

    settings = settings or get_settings()
    for name in stack.SERVICES:
        shutil.rmtree(stack.get(name, settings).folder, ignore_errors=True)
    shutil.rmtree(settings.stack_path, ignore_errors=True)


@pytest.fixture(scope="session")
def settings():
    from zoomcamp.settings import get_settings

    return get_settings()


@pytest.fixture
def scratch_settings(settings, tmp_path):
    """Settings with a fresh, empty home of their own (for data tests that must start from nothing)."""
    return settings.replace(home=tmp_path / "home")


@pytest.fixture
def scratch_home(settings):
    """A fresh, empty home for a second stack, removed afterwards with its services' files."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="scratch-", dir=TEST_HOME))
    path.chmod(0o755)
    yield path
    remove_stack_files(settings.replace(home=path))
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """A temporary AIRFLOW_HOME for the session: its SQLite metadata DB is created by the first DAG run."""
    return tmp_path_factory.mktemp("airflow")


@pytest.fixture
def write_answers(tmp_path):
    """Write a student's homework answers file (``{"q1": 1234, ...}``, dates as text) and return its path."""
    import yaml

    def write(answers: dict, name: str = "answers.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump({k: str(v) if hasattr(v, "isoformat") else v for k, v in answers.items()}))
        return path

    return write


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (registration and dashboard tests); skipped without it."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Debian's chromium is not installed: `make setup` installs it when run as root "
                    "(or: sudo apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        yield browser
        browser.close()
