"""The course as a whole: its weeks and notebooks, a student's progress, and the instructor's run and reset.

>>> from zoomcamp import course
>>> course.notebooks(1)                  # week 1's notebooks, in reading order
>>> course.record("week_1_basics/01_data_and_stack.ipynb")   # the last cell of every notebook does this
>>> course.progress()                    # what has been run, what comes next
>>> course.run_week(1, html_dir=Path("out"))   # execute a week's notebooks in order (a copy: sources untouched)
>>> course.reset(2)                      # drop what week 2 made (the lake's datasets), keep downloaded data
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .errors import CourseError
from .settings import Settings, get_settings, project_root

PROGRESS_FILE = "progress.json"
# Set for the kernels of run_week: an instructor's run (`zoomcamp run 1 --html`) does not mark notebooks as done.
NOT_A_STUDENT = "ZOOMCAMP_INSTRUCTOR_RUN"


class CourseNotFound(CourseError, ValueError):
    pass


def weeks() -> dict[int, Path]:
    """``{1: .../week_1_basics, 2: ...}`` for every week folder."""
    found = {}
    for folder in project_root().glob("week_*"):
        match = re.match(r"week_(\d+)_", folder.name)
        if match and folder.is_dir():
            found[int(match[1])] = folder
    return dict(sorted(found.items()))


def week_folder(week: int | str) -> Path:
    number = int(str(week).removeprefix("week_").split("_")[0]) if str(week).strip() else -1
    folders = weeks()
    if number not in folders:
        raise CourseNotFound(f"no week {week}: the course has weeks {', '.join(map(str, folders))}")
    return folders[number]


def notebooks(week: int | str) -> list[Path]:
    """A week's notebooks in reading order (``01_...``, ``02_...``)."""
    return sorted(week_folder(week).glob("[0-9][0-9]_*.ipynb"))


def notebook_id(path: Path) -> str:
    """``week_1_basics/01_data_and_stack.ipynb``: how progress names a notebook."""
    path = Path(path).resolve()
    return f"{path.parent.name}/{path.name}"


# --- progress ------------------------------------------------------------------------------------------------

def progress_file(settings: Settings) -> Path:
    """Where the notebooks run to their end are recorded (one file per course home)."""
    return settings.home / PROGRESS_FILE


def _load(settings: Settings) -> dict[str, str]:
    try:
        return json.loads(progress_file(settings).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def record(notebook: str, *, settings: Settings | None = None) -> str:
    """Mark ``notebook`` (``week_1_basics/01_data_and_stack.ipynb``) as run to its last cell. Called by the last cell
    of every notebook, so a notebook that stopped on an error is not recorded."""
    settings = settings or get_settings()
    if os.environ.get(NOT_A_STUDENT):  # an instructor's `zoomcamp run`: the student's progress stays theirs
        return f"{notebook} ran (an instructor's run: progress not recorded)"
    done = _load(settings)
    done[notebook] = datetime.now(UTC).isoformat(timespec="seconds")
    path = progress_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(done, indent=2, sort_keys=True))
    tmp.replace(path)
    following = next_notebook(settings=settings)
    return f"{notebook} done" + (f"; next: {following}" if following else "; that was the last notebook of the course")


@dataclass
class WeekProgress:
    week: int
    folder: str
    done: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)


def progress(settings: Settings | None = None) -> list[WeekProgress]:
    """Per week: the notebooks run to the end, and the ones not yet."""
    done = _load(settings or get_settings())
    table = []
    for number, folder in weeks().items():
        names = [notebook_id(p) for p in notebooks(number)]
        table.append(WeekProgress(number, folder.name, [n for n in names if n in done],
                                  [n for n in names if n not in done]))
    return table


def next_notebook(settings: Settings | None = None) -> str | None:
    """The first notebook, in course order, not run yet."""
    for week in progress(settings):
        if week.todo:
            return week.todo[0]
    return None


# --- run (instructors) ---------------------------------------------------------------------------------------

class NotebookFailed(CourseError, RuntimeError):
    pass


@dataclass
class NotebookRun:
    notebook: str
    seconds: float
    html: Path | None = None


def _kernel_config(sockets: str):
    """Kernels talking over local Unix sockets where there are some (no TCP ports, no plain-text warning on every
    start); nbclient's default elsewhere (TCP on 127.0.0.1)."""
    from traitlets.config import Config

    config = Config()
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(Path(sockets) / "kernel")
    return config


def run_week(week: int | str, *, html_dir: Path | None = None, progress_bar: bool = True,
             timeout: int = 600) -> list[NotebookRun]:
    """Execute a week's notebooks in order, each in a fresh kernel in its own folder, against the local stack; the
    committed files are not modified. Stops at the first failure with :class:`NotebookFailed` naming the cell and the
    error. With ``html_dir``, writes an executed HTML copy of each notebook there (for sharing)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from tqdm.auto import tqdm

    paths = notebooks(week)
    if not paths:
        raise CourseNotFound(f"week {week} has no notebooks yet")
    if html_dir is not None:
        html_dir = Path(html_dir)
        html_dir.mkdir(parents=True, exist_ok=True)
    results = []
    before = os.environ.get(NOT_A_STUDENT)
    os.environ[NOT_A_STUDENT] = "1"  # the kernels inherit it: their course.record() writes nothing
    with (tqdm(paths, desc=f"week {week}", unit="notebook", disable=not progress_bar) as bar,
          tempfile.TemporaryDirectory(prefix="zoomcamp-kernels-") as sockets, _restore_env(NOT_A_STUDENT, before)):
        for path in bar:
            bar.set_postfix_str(path.name)
            nb = nbformat.read(path, as_version=4)
            started = time.perf_counter()
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3", config=_kernel_config(sockets),
                                    resources={"metadata": {"path": str(path.parent)}})
            try:
                client.execute()
            except CellExecutionError as exc:
                cell = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(
                    o.get("output_type") == "error" for o in c.get("outputs", []))), None)
                source = nb.cells[cell].source if cell is not None else ""
                error = next((f"{o['ename']}: {o['evalue']}" for c in nb.cells for o in c.get("outputs", [])
                              if o.get("output_type") == "error"), str(exc).strip().splitlines()[-1])
                raise NotebookFailed(f"{notebook_id(path)} failed in cell {cell}:\n{source}\n-> {error}") from None
            html = None
            if html_dir is not None:
                from nbconvert import HTMLExporter

                html = html_dir / path.with_suffix(".html").name
                # Titled after the notebook (every copy was titled "Notebook").
                html.write_text(HTMLExporter().from_notebook_node(nb, resources={"metadata": {"name": path.stem}})[0])
            results.append(NotebookRun(notebook_id(path), time.perf_counter() - started, html))
    return results


@contextlib.contextmanager
def _restore_env(name: str, value: str | None):
    try:
        yield
    finally:
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# --- reset (instructors) -------------------------------------------------------------------------------------

def _in_the_cloud(settings: Settings) -> bool:
    """``backend = "gcp"``: the lake and the warehouse are the student's on Google Cloud, which reset never touches
    (it puts the *local* stack back; `terraform destroy` is the cloud's reset)."""
    return settings.backend == "gcp"


def _public_tables(settings: Settings) -> list[str]:
    """The tables in the course database's ``public`` schema (weeks 1 and 6 load theirs there)."""
    from . import db

    return db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                    settings=settings)["tablename"].tolist()


def _reset_week_1(settings: Settings) -> list[str]:
    """Every table the week-1 notebooks load into the course database's public schema (all of them but week 6's
    sink tables: week 1 loads tables under names of the student's choosing)."""
    from . import db

    tables = [t for t in _public_tables(settings) if t not in _week_6_tables()]
    for table in tables:
        db.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE', settings=settings)
    return [f"table {t}" for t in tables]


def _reset_week_2(settings: Settings) -> list[str]:
    """The lake's datasets and bookkeeping (the bucket stays), and the Airflow run history."""
    import shutil

    from .lake import Lake

    removed = []
    on_gcs = (settings.lake_url or "gs://").startswith(("gs://", "gcs://"))
    if not (_in_the_cloud(settings) and on_gcs):  # a bucket on Google Cloud is left alone
        lake = Lake(settings)
        for entry in lake.fs.ls(lake.root, detail=False, refresh=True) if lake.fs.exists(lake.root) else []:
            lake.fs.rm(entry, recursive=True)
            removed.append(lake.protocol + entry)
    airflow = settings.home / "airflow"
    if airflow.exists():
        shutil.rmtree(airflow)
        removed.append(str(airflow))
    removed += _reset_week_2_dlt(settings)
    return removed


# The PostgreSQL schemas week 2's dlt lessons load (notebooks 06 and 07), with dlt's staging schemas for merges.
WEEK_2_DLT_SCHEMAS = ("rides_api", "rides_incremental")


def _reset_week_2_dlt(settings: Settings) -> list[str]:
    """What dlt made in week 2: its PostgreSQL schemas, and its folder (pipelines' state, the DuckDB file)."""
    import shutil

    from . import db

    removed = []
    present = set(db.query("SELECT nspname FROM pg_namespace", settings=settings)["nspname"])
    for schema in WEEK_2_DLT_SCHEMAS:
        for name in (schema, f"{schema}_staging"):
            if name in present:
                db.execute(f'DROP SCHEMA "{name}" CASCADE', settings=settings)
                removed.append(f"schema {name}")
    if settings.dlt_path.exists():
        shutil.rmtree(settings.dlt_path)
        removed.append(str(settings.dlt_path))
    return removed


def _reset_week_3(settings: Settings) -> list[str]:
    """The tables and views of the warehouse dataset (``bq_dataset``; the dataset itself stays) and the notebooks'
    local layout files. The reference project's raw tables share that dataset on the emulator: week 7 loads them
    again on its next run."""
    import shutil

    from google.api_core.exceptions import NotFound

    from . import warehouse

    if _in_the_cloud(settings):
        return []
    wh = warehouse.Warehouse(settings)
    dataset = f"{wh.project}.{wh.dataset}"
    try:
        tables, models = list(wh.client.list_tables(dataset)), list(wh.client.list_models(dataset))
    except NotFound:
        tables, models = [], []
    removed = []
    for model in models:  # notebook 06's BigQuery ML model
        wh.client.delete_model(f"{dataset}.{model.model_id}")
        removed.append(f"model {wh.dataset}.{model.model_id}")
    for table in tables:
        table_id = f"{dataset}.{table.table_id}"
        if table.table_type == "VIEW":  # the emulator fails (HTTP 500) deleting a view as a table
            wh.client.query(f"DROP VIEW `{table_id}`").result()
        else:
            wh.client.delete_table(table_id)
        removed.append(f"{table.table_type.lower()} {wh.dataset}.{table.table_id}")
    for folder in (settings.home / "tmp" / "week3_columnar", settings.home / "tmp" / "week3_layouts"):
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(str(folder))
    return removed


def _reset_week_4(settings: Settings) -> list[str]:
    from . import dbt

    removed = []
    for target in ("dev", "duckdb"):
        dbt.reset(target, settings=settings)
        removed.append(f"dbt target {target}: schemas and raw tables")
    dbt.clean()
    return removed + ["dbt target/, logs/, dbt_packages/"]


def _reset_week_5(settings: Settings) -> list[str]:
    """The standalone Spark cluster (stopped), the lake folder Spark reads (when it is the course's own, not
    ``lake_url``), the notebooks' and jobs' Spark outputs and logs, and the warehouse's report table."""
    import shutil

    from . import db
    from . import spark as zspark

    removed = []
    if zspark.Cluster(settings).stop().message.startswith("stopped"):
        removed.append("the standalone Spark cluster (stopped)")
    own_lake = settings.home / "lake-local"
    folders = [settings.home / "spark"] + ([own_lake] if zspark.local_lake_url(settings) == str(own_lake) else [])
    for folder in folders:
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(str(folder))
    schema = zspark.WAREHOUSE_TABLE.split(".")[0]
    if not db.query("SELECT 1 FROM pg_namespace WHERE nspname = :s", {"s": schema}, settings=settings).empty:
        db.execute(f"DROP SCHEMA {schema} CASCADE", settings=settings)
        removed.append(f"schema {schema} ({zspark.WAREHOUSE_TABLE})")
    return removed


def _week_6_tables() -> tuple[str, ...]:
    """The library's sink tables, notebook 06's own sink (the one that writes rows twice after a crash) and notebook
    11's Flink table."""
    from .streaming.sink import OFFSETS_TABLE, RIDES, ZONE_HOURS

    return RIDES.name, ZONE_HOURS.name, OFFSETS_TABLE, "my_rides", "flink_zone_windows"


def _reset_week_6(settings: Settings) -> list[str]:
    """The broker's topics and consumer groups (on the course's own broker only: an external cluster's topics may
    not be ours), the sink tables in PostgreSQL, and the stream processors' local state."""
    import shutil

    from . import db, streaming
    from .stack.kafka import Kafka

    removed = []
    if not Kafka(settings).external:
        for group in streaming.consumer_groups(settings):
            streaming.forget_group(group, settings)
            removed.append(f"consumer group {group}")
        removed += [f"topic {t}" for t in streaming.delete_topics(streaming.topics(settings), settings)]
    present = set(_public_tables(settings))
    for table in _week_6_tables():
        if table in present:
            db.execute(f'DROP TABLE "{table}"', settings=settings)
            removed.append(f"table {table}")
    for state in (settings.home / "streaming", settings.home / "flink"):  # Flink: the job's checkpoints
        if state.exists():
            shutil.rmtree(state)
            removed.append(str(state))
    return removed


def _reset_week_7(settings: Settings) -> list[str]:
    """The reference project's warehouse and dbt files (its lake months are week 2's lake)."""
    import shutil

    folder = settings.home / "project"
    if not folder.exists():
        return []
    shutil.rmtree(folder)
    return [str(folder)]


# Week number -> what resetting it removes. Weeks add theirs as they land.
RESETS: dict[int, Callable[[Settings], list[str]]] = {1: _reset_week_1, 2: _reset_week_2, 3: _reset_week_3,
                                                       4: _reset_week_4, 5: _reset_week_5, 6: _reset_week_6,
                                                       7: _reset_week_7}


def reset(week: int | str | None = None, *, settings: Settings | None = None) -> dict[int, list[str]]:
    """Put the local stack back to a clean state for one week (or every week): drop what its notebooks made —
    tables, lake datasets, warehouse tables, dbt targets, topics — and keep downloaded or generated data files.
    Starts the stack if needed. Never touches Google Cloud (``backend = "gcp"``) or an external Kafka cluster."""
    from . import stack

    settings = settings or get_settings()
    numbers = [int(week_folder(week).name.split("_")[1])] if week is not None else list(RESETS)
    stack.up(settings=settings)
    return {n: RESETS[n](settings) if n in RESETS else [] for n in numbers}
