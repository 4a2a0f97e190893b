"""The course as a whole: its weeks and notebooks, a student's progress, and the instructor's run and reset.

>>> from zoomcamp import course
>>> course.notebooks(1)                  # week 1's notebooks, in reading order
>>> course.record("week_1_basics/01_data_and_stack.ipynb")   # the last cell of every notebook does this
>>> course.progress()                    # what has been run, what comes next
>>> course.run_week(1, html_dir=Path("out"))   # execute a week's notebooks in order (a copy: sources untouched)
>>> course.scratch(3, "columnar")        # where a week-3 notebook writes its files (reset 3 removes it)
>>> course.reset(2)                      # drop what week 2 made (the lake's datasets), keep downloaded data

What each week owns (scratch folders, reset, homework questions) is in its module, ``zoomcamp.weeks.week_N``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
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

def week_number(week: int | str) -> int:
    """``3`` for ``3``, ``"3"`` or ``"week_3_warehouse"`` (a week the course has; else :class:`CourseNotFound`)."""
    return int(week_folder(week).name.split("_")[1])


def scratch(week: int | str, name: str, *, settings: Settings | None = None) -> Path:
    """The folder under the course home where a notebook of ``week`` writes its files called ``name``, as the week's
    module declares it (``SCRATCH`` in ``zoomcamp.weeks.week_N``): `zoomcamp reset` then removes it."""
    from . import weeks

    number = week_number(week)
    folders = getattr(weeks.get(number), "SCRATCH", {})
    if name not in folders:
        raise CourseNotFound(f"week {number} has no scratch folder {name!r}; its folders: "
                             f"{', '.join(folders) or 'none'} (SCRATCH in zoomcamp/weeks/week_{number}.py)")
    return (settings or get_settings()).home / folders[name]


def remove_folders(*folders: Path) -> list[str]:
    """Delete those of ``folders`` that exist; says which (what a reset prints)."""
    import shutil

    removed = []
    for folder in folders:
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(str(folder))
    return removed


def _reset_week(number: int, settings: Settings) -> list[str]:
    """What the week's module removes (its areas' ``clear()``), then its scratch folders."""
    from . import weeks

    module = weeks.get(number)
    if module is None:
        return []
    scratch_folders = getattr(module, "SCRATCH", {}).values()
    return module.reset(settings) + remove_folders(*(settings.home / f for f in scratch_folders))


def reset(week: int | str | None = None, *, settings: Settings | None = None) -> dict[int, list[str]]:
    """Put the local stack back to a clean state for one week (or every week): drop what its notebooks made —
    tables, lake datasets, warehouse tables, dbt targets, topics — and keep downloaded or generated data files.
    Starts the stack if needed. Never touches Google Cloud (``backend = "gcp"``) or an external Kafka cluster."""
    from . import stack, weeks

    settings = settings or get_settings()
    numbers = [week_number(week)] if week is not None else list(weeks.WEEKS)
    stack.up(settings=settings)
    return {n: _reset_week(n, settings) for n in numbers}
