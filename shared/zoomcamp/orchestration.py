"""Airflow on this machine: every week's DAGs, a SQLite metadata database in the course home, no examples.

>>> from zoomcamp import orchestration
>>> orchestration.run_dag("lake_ingest_yellow", ["2021-01-01", "2021-02-01"])   # dag.test() per logical date
>>> orchestration.standalone(port=8080)                                          # the UI on 127.0.0.1

DAGs live in ``week_*/airflow/dags/<dag_id>.py`` (one DAG per file, named after it). Airflow reads its configuration
when it is imported, so DAG runs happen in a child process with the environment below (``AIRFLOW_HOME`` in
``<home>/airflow``, one DAG bundle per week), kept for the next run, parse or description (``_Child``). Each run's
full log goes to ``<home>/airflow/logs/``; a failure raises :class:`DagRunFailed` with the failed tasks and the end
of that log.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import CourseError
from .settings import Settings, get_settings, project_root

RESULT_PREFIX = "ZOOMCAMP-DAG-RESULT "
BUNDLES = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"


class DagRunFailed(CourseError, RuntimeError):
    pass


@dataclass
class DagRun:
    dag_id: str
    logical_date: str
    state: str
    tasks: dict[str, str]  # task id -> final state


def dag_folders(extra: Path | None = None) -> list[Path]:
    """Every week's DAG folder (and ``extra``, e.g. a student's own folder)."""
    return sorted(project_root().glob("week_*/airflow/dags")) + ([Path(extra).resolve()] if extra else [])


def find_dag(dag_id: str, extra: Path | None = None) -> Path:
    """The file of ``dag_id`` (``week_*/airflow/dags/<dag_id>.py``, or ``<extra>/<dag_id>.py``)."""
    for folder in dag_folders(extra):
        if (folder / f"{dag_id}.py").is_file():
            return folder / f"{dag_id}.py"
    known = sorted(p.stem for folder in dag_folders() for p in folder.glob("*.py") if not p.stem.startswith("_"))
    raise DagRunFailed(f"no DAG {dag_id!r}: the course's DAGs are {', '.join(known) or 'none yet'}")


def environment(settings: Settings | None = None, *, port: int | None = None, extra: Path | None = None,
                airflow_home: Path | None = None) -> dict[str, str]:
    """The environment Airflow runs with (on top of this process's, which carries the ZOOMCAMP_* settings).
    ``airflow_home`` defaults to ``<home>/airflow`` (tests give a temporary one)."""
    settings = settings or get_settings()
    home = Path(airflow_home or settings.home / "airflow")
    bundles = [{"name": folder.parents[1].name if folder.name == "dags" else folder.name,
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(folder), "refresh_interval": 30}} for folder in dag_folders(extra)]
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        BUNDLES: json.dumps(bundles),
        "AIRFLOW__CORE__PARALLELISM": "4",  # a laptop, not a cluster
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "ZOOMCAMP_HOME": str(settings.home),
    }
    if port is not None:
        env["AIRFLOW__API__HOST"] = "127.0.0.1"
        env["AIRFLOW__API__PORT"] = str(port)
        # Workers reach the API server through this URL: it must follow the port.
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
    return env


def clear(settings: Settings | None = None) -> list[str]:
    """Remove ``<home>/airflow``: the run history, logs and metadata database (made again by the next run)."""
    import shutil

    home = (settings or get_settings()).home / "airflow"
    if not home.exists():
        return []
    shutil.rmtree(home)
    return [str(home)]


def run_dag(dag_id: str, logical_dates: list[str], *, settings: Settings | None = None, folder: Path | None = None,
            airflow_home: Path | None = None, timeout: float = 900) -> list[DagRun]:
    """Taught in week_2_ingestion/04_airflow.ipynb.

    Run ``dag_id`` once per logical date with ``dag.test()`` (all tasks in one process, in order, with the real
    operators) — how a DAG is tested and how a backfill is done on a laptop. Raises :class:`DagRunFailed` when a
    run does not succeed."""
    settings = settings or get_settings()
    find_dag(dag_id, folder)
    logs = Path(airflow_home or settings.home / "airflow") / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / f"test-{dag_id}.log"
    env = environment(settings, extra=folder, airflow_home=airflow_home)
    answer = _Child.get(env).ask({"op": "run", "dag_id": dag_id, "dates": logical_dates, "folder": str(folder or ""),
                                  "log": str(log_file), "bundles": env[BUNDLES]}, timeout)
    output = log_file.read_text(errors="replace")
    runs = [DagRun(**run) for run in answer.get("runs", [])]
    failed = [r for r in runs if r.state != "success"]
    if answer.get("code") != 0 or failed or len(runs) != len(logical_dates):
        tail = "\n".join(output.splitlines()[-25:])
        which = "; ".join(f"{r.logical_date}: {', '.join(t for t, s in r.tasks.items() if s != 'success')}"
                          for r in failed)
        raise DagRunFailed(f"{dag_id} did not succeed ({which or answer.get('error') or 'exit code 1'}); "
                           f"full log: {log_file}\n{tail}")
    return runs


def describe_dag(dag_id: str, *, settings: Settings | None = None, airflow_home: Path | None = None) -> dict:
    """A DAG's shape as Airflow parsed it: schedule, tags, and each task's operator, retries and downstream tasks."""
    settings = settings or get_settings()
    find_dag(dag_id)
    home = Path(airflow_home or settings.home / "airflow")
    (home / "logs").mkdir(parents=True, exist_ok=True)
    log_file = home / "logs" / f"describe-{dag_id}.log"
    answer = _Child.get(environment(settings, airflow_home=airflow_home)).ask(
        {"op": "describe", "dag_id": dag_id, "log": str(log_file)}, timeout=600)
    if answer.get("code") != 0 or "shape" not in answer:
        output = log_file.read_text(errors="replace") if log_file.is_file() else ""
        raise DagRunFailed(f"could not parse {dag_id}: {(answer.get('error') or '')} {output.strip()[-1500:]}")
    return answer["shape"]


def parse_dags(files: list[Path], *, settings: Settings | None = None, airflow_home: Path | None = None) -> dict:
    """Each file in its own Airflow DagBag: per file (its path as given), its import errors (file -> message) and
    its DAGs (id -> tasks, retries per task, tags, catchup). Used by the rubric's check of a project and the DAG
    integrity tests; nothing is written to the metadata DB."""
    settings = settings or get_settings()
    home = Path(airflow_home or settings.home / "airflow")
    (home / "logs").mkdir(parents=True, exist_ok=True)
    log_file = home / "logs" / "parse.log"
    answer = _Child.get(environment(settings, airflow_home=airflow_home)).ask(
        {"op": "parse", "files": [str(f) for f in files], "log": str(log_file)}, timeout=600)
    if answer.get("code") != 0 or "parsed" not in answer:
        output = log_file.read_text(errors="replace") if log_file.is_file() else ""
        raise DagRunFailed(f"could not parse the DAG files: {(answer.get('error') or '')} {output.strip()[-500:]}")
    return answer["parsed"]


class _Child:
    """The Airflow process that runs this process's DAG runs and parses, kept for the next ones.

    Importing Airflow costs ~5 CPU-s and the first ``dag.test()`` 3-6 more (its in-process task API): a notebook
    that parses a DAG and then runs it twice paid them three times with a child per call. One child per
    environment (Airflow reads its configuration on import), the last one used kept; it reads requests on stdin
    and exits when this process closes it (this process ends, or another environment is asked for). The DAG
    bundles are the exception: a run sends its own (a student's extra folder), read by Airflow at each dag.test().
    A task's side effects (imports, logging) stay in the child, as they would in a long-lived Airflow worker."""

    _current: _Child | None = None

    def __init__(self, env: dict[str, str]):
        self.env = self.key(env)
        self.process = subprocess.Popen([sys.executable, "-m", "zoomcamp.orchestration", "--serve"],
                                        env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, cwd=project_root())

    @staticmethod
    def key(env: dict[str, str]) -> dict[str, str]:
        """What the child was started with: this process's environment too (a test or a notebook that changes a
        ZOOMCAMP_* variable gets a new child, as it got a new process per call before)."""
        return {k: v for k, v in {**os.environ, **env}.items() if k not in (BUNDLES, "PYTEST_CURRENT_TEST")}

    @classmethod
    def get(cls, env: dict[str, str]) -> _Child:
        current = cls._current
        if current is None or current.env != cls.key(env) or current.process.poll() is not None:
            if current is not None:
                current.stop()
            cls._current = current = cls(env)
        return current

    def ask(self, request: dict, timeout: float) -> dict:
        import select

        line, reason = b"", "no answer"
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            if select.select([self.process.stdout], [], [], timeout)[0]:
                line = self.process.stdout.readline()
            else:
                reason = f"no answer within {timeout:.0f} s"
        except BrokenPipeError:
            pass
        except BaseException:  # Ctrl-C while it runs: its answer would be read as the next request's
            self.process.kill()
            self.stop()
            raise
        if not line:  # it died or hangs: stopped, and the next call starts a new one
            self.process.kill()
            self.stop()
            return {"code": 1, "error": f"the Airflow process ended with {reason}"}
        return json.loads(line)

    def stop(self) -> None:
        if _Child._current is self:
            _Child._current = None
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@atexit.register
def _stop_child() -> None:
    if _Child._current is not None:
        _Child._current.stop()


def plot_dag(shape: dict, ax=None):
    """Draw a DAG from :func:`describe_dag` left to right: each task in the column of its longest path from a root."""
    import matplotlib.pyplot as plt

    tasks = shape["tasks"]
    upstream = {t: [u for u, info in tasks.items() if t in info["downstream"]] for t in tasks}
    depth: dict[str, int] = {}

    def level(task: str) -> int:
        if task not in depth:
            depth[task] = 1 + max((level(u) for u in upstream[task]), default=-1)
        return depth[task]

    columns: dict[int, list[str]] = {}
    for task in tasks:
        columns.setdefault(level(task), []).append(task)
    where = {t: (x, -y) for x, names in columns.items() for y, t in enumerate(names)}
    if ax is None:
        _, ax = plt.subplots(figsize=(2.6 * len(columns), 0.9 * max(map(len, columns.values())) + 0.6))
    for task, info in tasks.items():
        for child in info["downstream"]:
            ax.annotate("", xy=where[child], xytext=where[task],
                        arrowprops={"arrowstyle": "->", "color": "grey", "shrinkA": 38, "shrinkB": 38})
    for task, (x, y) in where.items():
        ax.text(x, y, task, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "#e8f0fe", "edgecolor": "#4a6fa5"})
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylim(-max(map(len, columns.values())) + 0.4, 0.6)
    ax.set_title(f"{shape['dag_id']} ({shape['schedule']})")
    ax.axis("off")
    return ax


def alerts_file(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).home / "airflow" / "alerts.jsonl"


def alert_on_failure(context) -> None:
    """An ``on_failure_callback``: one JSON line per failed task in :func:`alerts_file`, and an error in the task's
    log. It stands in for what a team would wire here (a Slack webhook, e-mail, PagerDuty): the same context, one
    call. Taught in week 4's notebook 06 (the ``dbt_production`` DAG)."""
    import logging

    ti = context["ti"]
    alert = {"dag_id": ti.dag_id, "task_id": ti.task_id, "logical_date": str(context.get("logical_date")),
             "error": str(context.get("exception") or "")[:500]}
    logging.getLogger("zoomcamp.alerts").error("ALERT %s", json.dumps(alert))
    path = alerts_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as file:
        file.write(json.dumps(alert) + "\n")


def alerts(settings: Settings | None = None) -> list[dict]:
    """The alerts :func:`alert_on_failure` wrote, oldest first."""
    path = alerts_file(settings)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def standalone(port: int = 8080, settings: Settings | None = None) -> int:
    """``airflow standalone`` (scheduler, API server and UI) on 127.0.0.1:``port`` with the course's DAGs; returns
    its exit code when stopped with Ctrl-C. The admin password is printed by Airflow on first start."""
    settings = settings or get_settings()
    bin_dir = str(Path(sys.executable).parent)  # standalone starts its parts as `airflow ...` from PATH
    env = {**os.environ, **environment(settings, port=port), "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    return subprocess.call([str(Path(bin_dir) / "airflow"), "standalone"], env=env)


def template_db(version: str) -> Path:
    """Where a new metadata DB of Airflow ``version`` is kept once made: beside that Airflow, in this virtualenv."""
    return Path(sys.prefix) / "share" / "zoomcamp" / f"airflow-{version}.db"


def _copy_db(source: Path, target: Path) -> None:
    """SQLite's own backup: the DB is in WAL mode, where a copy of the file alone could miss pages."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


def _ensure_db() -> None:
    """Create the metadata DB on first use, or migrate it after an Airflow upgrade (parsing a DAG needs it too).

    Creating one costs seconds of CPU, so the first new DB of each Airflow version is saved as a template and every
    later new home (a test's, a notebook's) gets a copy of it."""
    import fcntl

    from airflow import __version__
    from airflow.utils import db

    home = Path(os.environ["AIRFLOW_HOME"])
    stamp, database = home / "initialised-by", home / "airflow.db"
    if stamp.is_file() and stamp.read_text() == __version__:
        return
    template = template_db(__version__)
    if stamp.is_file() or database.is_file():  # an older Airflow's DB: migrate it in place
        db.initdb()
    else:
        template.parent.mkdir(parents=True, exist_ok=True)
        with open(template.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one process makes the template, the others wait and copy it
            if not template.is_file():
                db.initdb()
                partial = template.with_suffix(".partial")
                _copy_db(database, partial)
                os.replace(partial, template)
            else:
                _copy_db(template, database)
    stamp.write_text(__version__)


def _describe(dag_id: str) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    _ensure_db()
    path = find_dag(dag_id)
    dag = DagBag(str(path.parent)).get_dag(dag_id)
    return {"dag_id": dag.dag_id, "schedule": str(dag.schedule), "tags": sorted(dag.tags),
            "catchup": dag.catchup, "start_date": str(dag.start_date),
            "tasks": {t.task_id: {"operator": type(t).__name__, "retries": t.retries,
                                  "downstream": sorted(t.downstream_task_ids)} for t in dag.tasks}}


def _parse(files: list[str]) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    parsed = {}
    for path in files:
        bag = DagBag(path)
        parsed[path] = {"errors": {k: str(v) for k, v in bag.import_errors.items()},
                        "dags": {d.dag_id: {"tasks": len(d.tasks), "retries": [t.retries for t in d.tasks],
                                            "tags": sorted(d.tags), "catchup": d.catchup}
                                 for d in bag.dags.values()}}
    return parsed


def _run(dag_id: str, logical_dates: list[str], folder: str = "") -> list[dict]:
    """In the child process: create or migrate the metadata DB when needed, then dag.test() each date."""
    import logging

    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    _ensure_db()
    logging.getLogger("airflow").setLevel(logging.WARNING)
    path = find_dag(dag_id, Path(folder) if folder else None)
    bag = DagBag(str(path.parent))  # read again for each request: the file may have changed
    if bag.import_errors:
        raise DagRunFailed("; ".join(f"{file}: {error}" for file, error in bag.import_errors.items()))
    dag = bag.get_dag(dag_id)
    runs = []
    for date in logical_dates:
        run = dag.test(logical_date=pendulum.parse(date, tz="UTC"))
        tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        runs.append({"dag_id": dag_id, "logical_date": date, "state": str(run.state), "tasks": tasks})
        print(RESULT_PREFIX + json.dumps(runs[-1]), flush=True)
    return runs


def _serve() -> int:
    """The child's loop: one JSON request a line on stdin, its output into the request's log file, one JSON answer
    a line on the original stdout; ends when stdin closes."""
    import traceback

    answers = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    for line in sys.stdin:
        request = json.loads(line)
        with open(request["log"], "w") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                if request["op"] == "describe":
                    answer = {"code": 0, "shape": _describe(request["dag_id"])}
                elif request["op"] == "parse":
                    answer = {"code": 0, "parsed": _parse(request["files"])}
                else:
                    os.environ[BUNDLES] = request["bundles"]
                    answer = {"code": 0, "runs": _run(request["dag_id"], request["dates"], request["folder"])}
            except BaseException as error:  # noqa: BLE001 -- a task's sys.exit too: answer, and stay
                traceback.print_exc()
                answer = {"code": 1, "error": (str(error).splitlines() or [type(error).__name__])[0][:300]}
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
