"""One isolated course home per test process, and its local stack started only when a test needs it.

The session gets its own ``ZOOMCAMP_HOME`` (``.zoomcamp-test/`` at the project root, git-ignored; under
pytest-xdist each worker has ``.zoomcamp-test/gw0``, ``gw1``, ...), so tests never touch a student's data or running
stack, nor each other's, and a small sample size. The stack (PostgreSQL, the GCS and BigQuery emulators, Kafka) is
started by the first test that needs it -- a test marked ``stack`` or requesting the ``stack`` fixture, or a notebook
cell -- and stopped after the last test: ``pytest -m "not stack"`` never starts it. Notebooks executed by nbval run
in kernels that inherit these environment variables, so they find their worker's server.

Under xdist (``make test`` runs ``-n 2 --dist loadgroup``), items that must not run side by side form one work
unit (``group_of``, scheduled by ``GroupScheduling``) and so run on one worker, in collection order: each week's
notebooks (one kernel each, in reading order, building on each other), and the tests and notebooks that write into
the same folder of the checkout (GROUPS).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1 ... under pytest-xdist; None in a plain run
TEST_HOME = ROOT / ".zoomcamp-test" / WORKER if WORKER else ROOT / ".zoomcamp-test"
SAMPLE_ROWS = 5_000

# Items that write into the same folder of the checkout run on one worker, one after the other (their week's
# notebooks join the group too). Members: a test file, a test file's test (``file::name``, parameters ignored), or a
# folder (``tests/<area>``, a week). Tests live in tests/<area>/ (as the library's areas): tests/test_schedule.py checks
# that every member still exists, so moving a test file cannot silently split its group.
GROUPS = {
    # week 7's rubric self-check: folders of its own (tmp_path), no dbt run; apart from the dbt unit, the longest
    "tests/project/test_project.py (rubric)": [
        f"tests/project/test_project.py::{name}" for name in (
            "test_the_template_scores_its_skeleton_and_points_at_what_is_left",
            "test_broken_parts_score_zero_and_say_what_to_fix", "test_check_cli_prints_the_score_table",
            "test_terraform_schemas_are_the_course_schemas")],
    # dbt's project folder (target/, logs/, dbt_packages/ under week_4_analytics_engineering/taxi_rides_ny)
    "dbt": ["tests/dbt/test_dbt.py", "tests/project/test_project.py",
            "tests/spark/test_spark.py::test_report_equals_the_dbt_mart", "week_4_analytics_engineering",
            "week_7_project"],
    # the `zoomcamp registration serve` processes (one per database) both files use (registration_server)
    "registration servers": ["tests/registration/test_registration_server.py",
                             "tests/registration/test_platform_server.py"],
    # week 6's Kafka Streams project: Maven builds into week_6_streaming/java/target
    "week_6_streaming": ["tests/streaming/test_kafka_streams.py", "week_6_streaming"],
}


def pytest_configure(config):
    from zoomcamp.settings import load_settings

    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(GroupScheduling(), "zoomcamp-group-scheduling")

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


def _is_xdist_controller(config) -> bool:
    """The process that hands items to pytest-xdist's workers runs none itself: it needs no home nor stack."""
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def pytest_sessionstart(session):
    from zoomcamp import datasets
    from zoomcamp.settings import get_settings, reload_settings

    reload_settings()
    if _is_xdist_controller(session.config):
        return
    TEST_HOME.mkdir(parents=True, exist_ok=True)
    # dlt's pipeline folders hold state (cursors) about the previous session's databases, which are gone.
    shutil.rmtree(get_settings().dlt_path, ignore_errors=True)
    datasets.write_sample_lookups()
    datasets.write_sample_trips(["yellow", "green"], [datasets.Month(2021, 1)])


_stack_started = False


def start_stack() -> None:
    """Start this session's stack once (after stopping one an interrupted run left behind)."""
    global _stack_started
    if _stack_started:
        return
    from zoomcamp import stack

    stack.down()  # a stack left over by an interrupted run
    remove_stack_files()
    _stack_started = True  # from here on, the session's end stops whatever did start
    stack.up()


def group_of(nodeid: str) -> str:
    """The work unit an item belongs to under xdist: GROUPS, else its week's notebooks, else its test file."""
    path, _, rest = nodeid.partition("::")
    name = f"{path}::{rest.split('[')[0]}"
    for group, members in GROUPS.items():
        if any(name == m or path == m or path.startswith(m + "/") for m in members):
            return group
    if path.startswith("week_"):
        return path.split("/")[0]  # a week's notebooks: one worker, in order
    return path  # a test file's module fixtures (a Spark session, a dbt build) start once, on one worker


class GroupScheduling:
    """pytest-xdist's scheduler for ``--dist loadgroup``: whole work units (``group_of``) to one worker each, the
    largest first. (xdist's own loadgroup reads ``xdist_group`` marks by renaming items, which pytest 9.2 ignores:
    every item then was its own unit, and a week's notebooks ran on both workers at once.)"""

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config, log):
        if config.getvalue("dist") != "loadgroup":
            return None
        from xdist.scheduler import LoadScopeScheduling

        class Scheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return group_of(nodeid)

        return Scheduling(config, log)


def _is_notebook_cell(item) -> bool:
    return item.path.suffix == ".ipynb"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        if _is_notebook_cell(item) or "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)


def pytest_runtest_setup(item):
    # The fast loop (`-m "not stack"`) starts nothing: an unmarked test that needs the stack fails there, loudly, and
    # gets its mark. Every other run starts the stack before its first test, marked or not, so a missing mark never
    # makes a full run depend on which test a worker happened to run first.
    if item.get_closest_marker("stack") or "not stack" not in (item.config.option.markexpr or ""):
        start_stack()


def pytest_sessionfinish(session, exitstatus):
    from zoomcamp import stack
    from zoomcamp.settings import get_settings

    # What the session started, and what a test started in the session's home (`zoomcamp stack up` from the CLI).
    if _stack_started or (not _is_xdist_controller(session.config) and get_settings().stack_path.exists()):
        stack.down()
        remove_stack_files()


# Seconds per work unit (setup + call + teardown of its items), printed after the slowest items: the budget of
# `make test` is the sum over units divided by the workers, so this says where a minute can be won.
_unit_seconds: dict[str, float] = {}
_worker_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report):
    _unit_seconds[group_of(report.nodeid)] = _unit_seconds.get(group_of(report.nodeid), 0.0) + report.duration
    worker = getattr(report, "node", None)
    name = getattr(worker, "gateway", None) and worker.gateway.id or "main"
    _worker_seconds[name] = _worker_seconds.get(name, 0.0) + report.duration


@pytest.hookimpl(wrapper=True)  # after the slowest items: the last lines of a run
def pytest_terminal_summary(terminalreporter):
    yield
    if not _unit_seconds:
        return
    terminalreporter.section("slowest work units (seconds of their items)")
    for unit, seconds in sorted(_unit_seconds.items(), key=lambda kv: -kv[1])[:12]:
        terminalreporter.write_line(f"{seconds:8.1f}s  {unit}")
    terminalreporter.write_line("per worker: " + ", ".join(f"{w} {s:.0f}s" for w, s in sorted(_worker_seconds.items())))


def remove_stack_files(settings=None) -> None:
    """Delete the services' files (as root they may live outside the home, see Postgres.folder)."""
    from zoomcamp import stack
    from zoomcamp.settings import get_settings

    settings = settings or get_settings()
    for name in stack.SERVICES:
        shutil.rmtree(stack.get(name, settings).folder, ignore_errors=True)
    shutil.rmtree(settings.stack_path, ignore_errors=True)


@pytest.fixture(scope="session")
def stack():
    """The session's local stack (PostgreSQL, GCS and BigQuery emulators, Kafka), started on first use."""
    from zoomcamp import stack as services

    start_stack()
    return services


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


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def registration_server(request, tmp_path_factory):
    """``zoomcamp registration serve`` as its own process on each database, shared by test_registration_server.py
    and test_platform_server.py: one start-up per database, not per file (one xdist unit: GROUPS)."""
    from registration_support import started  # tests/registration/ is on sys.path once its tests are collected

    running = started(request.param, tmp_path_factory.mktemp(f"registration-{request.param}"))
    yield running
    running.stop()


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
