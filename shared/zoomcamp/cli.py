"""The ``zoomcamp`` command: argument parsing and output only; the work is in the library modules."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand

from . import stack
from .errors import CourseError
from .settings import get_settings

try:  # typer vendors click (0.29 on); before, it used click itself
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors



class _Command(TyperCommand):
    """A command whose usage line shows what to type: ``TYPE [YEAR-MONTH...]``, where typer writes ``{TYPE}`` for a
    required argument (and ``[YEAR-MONTH...]...`` for a metavar that already says it repeats)."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument" and not getattr(param, "hidden", False):
                name = param.metavar or (param.name or "").upper()
                if param.nargs != 1 and not name.endswith("..."):
                    name += "..."
                pieces.append(name if param.required else f"[{name}]")
        return pieces


class _Typer(typer.Typer):
    """typer.Typer whose commands are :class:`_Command` (unless one asks for another class)."""

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or _Command, **kwargs)


app = _Typer(help="The Data Engineering Zoomcamp course toolkit.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
data_app = _Typer(help="NYC TLC data: a deterministic sample, or the real files.", no_args_is_help=True)
stack_app = _Typer(help="The local services (PostgreSQL, ...): up, down, status, env.", no_args_is_help=True)
ingest_app = _Typer(help="Load data into the course's databases.", no_args_is_help=True)
dbt_app = _Typer(help="Week 4's dbt project: raw tables, profile variables, dbt commands.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(stack_app, name="stack")
app.add_typer(ingest_app, name="ingest")
lake_app = _Typer(help="The data lake: partitioned parquet in GCS (the local emulator by default).",
                       no_args_is_help=True)
app.add_typer(lake_app, name="lake")
airflow_app = _Typer(help="Airflow on this machine with the course's DAGs (week_*/airflow/dags).",
                          no_args_is_help=True)
app.add_typer(airflow_app, name="airflow")
app.add_typer(dbt_app, name="dbt")
registration_app = _Typer(help="The course's registration web app (registration/).", no_args_is_help=True)
app.add_typer(registration_app, name="registration")
spark_app = _Typer(help="Spark (week 5): a standalone cluster on this machine, spark-submit.",
                        no_args_is_help=True)
app.add_typer(spark_app, name="spark")
project_app = _Typer(help="Week 7's reference project: the pipeline, its dashboard, the rubric self-check.",
                          no_args_is_help=True)
app.add_typer(project_app, name="project")
jvm_app = _Typer(help="The course's JVM artifacts (Kafka, Connect plugins, connectors) from Maven Central.",
                      no_args_is_help=True)
app.add_typer(jvm_app, name="jvm")
dez_app = _Typer(help="DataTalksClub's Zoomcamp (DEZ): what of your DEZ homework runs on this course's stack.",
                      no_args_is_help=True)
app.add_typer(dez_app, name="dez")
warehouse_app = _Typer(help="The warehouse (week 3): BigQuery SQL files on the emulator or BigQuery.",
                            no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")
api_app = _Typer(help="Week 2's rides API (paginated JSON, failures on demand) and its dlt pipeline.",
                      no_args_is_help=True)
app.add_typer(api_app, name="api")

out = Console()
err = Console(stderr=True)


# --- data -----------------------------------------------------------------------------------------

@data_app.command("sample")
def data_sample(
    months: Annotated[
        list[str], typer.Option("--months", "-m", help="YYYY-MM or YYYY-MM..YYYY-MM (repeatable)")
    ] = ["2021-01"],  # noqa: B006
    types: Annotated[
        list[str], typer.Option("--type", "-t", help="yellow, green, fhv, fhvhv (repeatable)")
    ] = ["yellow", "green"],  # noqa: B006
    rows: Annotated[int | None, typer.Option(help="rows per file (default: settings.sample_rows)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (default: settings.sample_seed)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print nothing when all is well")] = False,
):
    """Generate TLC-shaped sample files (CSV.gz + parquet, real file names) and the lookups."""
    from . import datasets

    if rows is not None and rows < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--rows")
    parsed = parse_months(months)
    for kind in types:  # validate everything before writing anything
        datasets.trip_file_name(kind, parsed[0])
    # Rows given here are the student's choice, kept by later implicit uses (lake ingest, notebooks).
    rows = get_settings().sample_rows if rows is None else rows
    paths = datasets.write_sample_lookups() + datasets.write_sample_trips(types, parsed, rows=rows, seed=seed)
    if not quiet:
        table = Table("file", "size", title=f"sample data in {datasets.sample_dir()}")
        for path in paths:
            table.add_row(path.name, f"{path.stat().st_size / 1e3:,.0f} kB")
        out.print(table)


@data_app.command("path")
def data_path(
    taxi_type: Annotated[str, typer.Argument(metavar="TYPE", help="yellow, green, fhv or fhvhv")],
    months: Annotated[list[str], typer.Argument(metavar="YEAR-MONTH...", help="e.g. 2021-01 or 2024-01..2024-06")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv.gz or parquet")] = "csv.gz",
    copy_to: Annotated[Path | None, typer.Option("--copy-to", help="copy the files into this folder")] = None,
):
    """Print the local path of each month's file, made or downloaded first as data_source says; --copy-to puts
    copies where a DEZ notebook or script reads them: zoomcamp data path fhvhv 2021-01 --copy-to ."""
    import shutil

    from . import datasets

    if copy_to is not None and not copy_to.is_dir():
        raise CourseError(f"{copy_to}: no such folder")
    for month in parse_months(months):
        path = datasets.trip_file(taxi_type, month, fmt)
        if copy_to is not None:
            path = Path(shutil.copyfile(path, copy_to / path.name))
        print(path)


@data_app.command("download")
def data_download(
    taxi_type: Annotated[str, typer.Argument(metavar="TYPE", help="yellow, green, fhv, fhvhv or zones")],
    months: Annotated[
        list[str] | None, typer.Argument(metavar="YEAR-MONTH...", help="e.g. 2021-01 or 2021-01..2021-03")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="parquet (TLC) or csv.gz (DataTalksClub backup)")
    ] = "parquet",
    verify: Annotated[bool, typer.Option(help="re-check cached files' SHA-256")] = False,
):
    """Download real TLC files (resumable, cached, checksummed) into the data folder."""
    from . import datasets

    if taxi_type == "zones":
        paths = [datasets.download("zones", verify=verify)]
    else:
        if not months:
            raise typer.BadParameter("give at least one month, e.g. 2021-01", param_hint="YEAR-MONTH")
        datasets.columns(taxi_type)  # unknown type: fail before any request
        paths = [datasets.download(taxi_type, m, fmt, verify=verify) for m in parse_months(months)]
    for path in paths:
        out.print(f"{path}  ({path.stat().st_size / 1e6:,.1f} MB)")


@data_app.command("schema")
def data_schema(kind: Annotated[str, typer.Argument(help="yellow, green, fhv, fhvhv, zones, payment_types")]):
    """Print the columns and types of a TLC file kind (as the library defines them)."""
    from . import datasets

    table = Table("column", "type", "in", title=f"{kind} schema")
    datasets.columns(kind)  # an unknown kind is one line
    for col in datasets.SCHEMAS[kind]:
        table.add_row(col.name, col.type, "CSV and parquet" if col.in_csv and col.in_parquet
                      else "parquet only" if col.in_parquet else "CSV only")
    out.print(table)


# --- stack ----------------------------------------------------------------------------------------

def _print_statuses(statuses) -> None:
    for s in statuses:
        colour = "green" if s.running else "yellow"
        out.print(f"[bold]{s.name}[/bold]: [{colour}]{s.message}[/{colour}]")


@stack_app.command("up")
def stack_up(services: Annotated[list[str] | None,
                                  typer.Argument(help="services (default: all but connect and flink)")] = None):
    """Start the local services (idempotent: running ones are left as they are)."""
    _print_statuses(stack.up(services))
    out.print("connect with: eval \"$(zoomcamp stack env)\"; psql")


@stack_app.command("down")
def stack_down(services: Annotated[list[str] | None, typer.Argument(help="services (default: all)")] = None):
    """Stop the local services (their data is kept)."""
    _print_statuses(stack.down(services))


@stack_app.command("status")
def stack_status(as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False):
    """Show each service's state and connection details."""
    statuses = stack.status()
    if as_json:
        print(json.dumps({s.name: s.as_dict() for s in statuses}, indent=2))
        return
    table = Table("service", "state", "details")
    for s in statuses:
        details = ", ".join(f"{k}={v}" for k, v in s.details.items() if k in ("host", "port", "pid", "url"))
        table.add_row(s.name, ("[green]" if s.running else "[yellow]") + s.message, details)
    out.print(table)


@stack_app.command("env")
def stack_env():
    """Print `export` lines for the running services: eval "$(zoomcamp stack env)"."""
    variables = stack.env()
    if not variables:
        err.print("nothing is running: start the stack with `zoomcamp stack up`")
        raise typer.Exit(1)
    for key, value in variables.items():
        print(f"export {key}={shlex.quote(value)}")


# --- ingest ---------------------------------------------------------------------------------------

@ingest_app.command("postgres")
def ingest_postgres(
    file: Annotated[Path, typer.Argument(help="a TLC file, e.g. yellow_tripdata_2021-01.csv.gz or .parquet")],
    table: Annotated[str, typer.Option("--table", help="target table")],
    append: Annotated[
        bool, typer.Option("--append/--replace", help="add rows, or replace the table (default)")
    ] = False,
    kind: Annotated[str | None, typer.Option(help="file kind if the name does not tell (yellow, zones, ...)")] = None,
):
    """Load a TLC CSV, CSV.gz or parquet file into the local PostgreSQL (streamed COPY, typed, malformed rows
    quarantined, re-runs safe)."""
    from .ingest import to_postgres

    print(to_postgres(file, table, kind=kind, mode="append" if append else "replace"))


# --- lake -----------------------------------------------------------------------------------------

@lake_app.command("ingest")
def lake_ingest(
    taxi_type: Annotated[str, typer.Argument(metavar="TYPE", help="yellow, green, fhv or fhvhv")],
    months: Annotated[list[str], typer.Argument(metavar="YEAR-MONTH...", help="e.g. 2021-01 or 2021-01..2021-03")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="source when downloading: csv.gz (DataTalksClub backup) or parquet")
    ] = "csv.gz",
    keep_raw: Annotated[bool, typer.Option(help="also upload the source files as they are, to raw/<type>/")] = False,
):
    """Download (or sample) months, convert them to typed parquet and publish them as hive partitions
    (re-running a month replaces exactly that month)."""
    from .lake import Lake, check_trip_kind

    check_trip_kind(taxi_type)  # before the months: a typo'd type is the first thing to fix
    parsed = parse_months(months)
    lake = Lake()
    for result in lake.ingest(taxi_type, parsed, fmt=fmt, keep_raw=keep_raw):
        out.print(str(result), highlight=False, soft_wrap=True)


@lake_app.command("upload")
def lake_upload(
    files: Annotated[list[Path], typer.Argument(help="local files")],
    to: Annotated[str, typer.Option("--to", help="gs://BUCKET or gs://BUCKET/folder (made if missing)")],
):
    """Copy files into a bucket (the GCS emulator, or GCS with backend = gcp), as DEZ's upload scripts do:
    zoomcamp lake upload yellow_tripdata_2024-0*.parquet --to gs://my-bucket"""
    from .lake import Lake

    if not to.startswith("gs://") or len(to) <= len("gs://"):
        raise typer.BadParameter("a gs://BUCKET[/folder] URL", param_hint="--to")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise CourseError(f"no such file: {', '.join(missing)}")
    lake = Lake(url=to.rstrip("/"))
    for f in files:
        lake.fs.put_file(str(f), lake.path(f.name))
        print(lake.uri(f.name))


@lake_app.command("check")
def lake_check(
    types: Annotated[list[str] | None, typer.Option("--type", "-t", help="types to check (default: all)")] = None,
    months: Annotated[
        list[str] | None, typer.Option("--months", "-m", help="months expected (default: first to last found)")
    ] = None,
):
    """List which type/months are present, missing or damaged; exit code 1 when any is not present."""
    from .lake import Lake

    lake = Lake()
    states = lake.check(types or None, parse_months(months) if months else None)
    table = Table("type", "month", "state", "rows", "detail", title=f"lake {lake.url}")
    colours = {"present": "green", "missing": "yellow", "damaged": "red"}
    for s in states:
        table.add_row(s.kind, s.month, f"[{colours[s.state]}]{s.state}", "" if s.rows is None else f"{s.rows:,}",
                      s.detail)
    out.print(table)
    if not states:
        out.print("the lake is empty: `zoomcamp lake ingest yellow 2021-01` writes a month")
    if leftovers := lake.leftovers():
        out.print(f"{len(leftovers)} unfinished upload(s) in _incoming/ (invisible to readers; "
                  "the next ingest of that month removes them)")
    if not states or any(s.state != "present" for s in states):
        raise typer.Exit(1)


@lake_app.command("crawl")
def lake_crawl(
    register: Annotated[bool, typer.Option(help="also record each dataset in the lake's _catalog/")] = False,
):
    """Infer and print each dataset's schema and partitions (what a Glue crawler does)."""
    from .lake import Lake

    lake = Lake()
    found = lake.crawl()
    if not found:
        out.print(f"the lake {lake.url} has no datasets yet")
    for info in found:
        schema = Table("column", "type", title=f"{info.name}: {info.rows:,} rows in {len(info.partitions)} partitions")
        for f in info.schema:
            schema.add_row(f.name, escape(str(f.type)))  # timestamp[us] is not markup
        out.print(schema)
        parts = Table("partition", "files", "rows", "MB")
        for p in info.partitions:
            parts.add_row(p["partition"], str(p["files"]), f"{p['rows']:,}", f"{p['bytes'] / 1e6:,.2f}")
        out.print(parts)
        if register:
            lake.register(info.name)
            out.print(f"registered {info.name} in {lake.uri('_catalog', info.name + '.json')}")


# --- airflow --------------------------------------------------------------------------------------

@airflow_app.command("test")
def airflow_test(
    dag_id: Annotated[str, typer.Argument(help="e.g. lake_ingest")],
    dates: Annotated[
        list[str] | None, typer.Option("--date", "-d", help="logical date YYYY-MM-DD (repeatable)")
    ] = None,
    months: Annotated[
        list[str] | None, typer.Option("--months", "-m", help="a backfill: one run per month, e.g. 2021-01..2021-03")
    ] = None,
):
    """Run a DAG with dag.test() for each logical date (a local backfill); exit code 1 if a run fails."""
    from datetime import date

    from .orchestration import run_dag

    logical = []
    for text in dates or []:
        try:
            logical.append(date.fromisoformat(text).isoformat())
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a date like 2021-01-01", param_hint="--date") from None
    logical += [f"{m}-01" for m in parse_months(months or [])]
    if not logical:
        raise typer.BadParameter("give --date YYYY-MM-DD or --months YYYY-MM[..YYYY-MM]", param_hint="--date")
    for run in run_dag(dag_id, logical):
        out.print(f"{run.dag_id} {run.logical_date}: [green]{run.state}[/green] ({len(run.tasks)} tasks)")


@airflow_app.command("standalone")
def airflow_standalone(port: Annotated[int, typer.Option(help="the UI's port on 127.0.0.1")] = 8080):
    """Start Airflow's scheduler, API server and UI on 127.0.0.1 (Ctrl-C stops it)."""
    from .orchestration import standalone
    from .stack import port_is_free

    if port in (8793, 8794):
        raise typer.BadParameter("Airflow's own log servers use 8793 and 8794; choose another", param_hint="--port")
    if not port_is_free(port):
        raise typer.BadParameter(f"port {port} is in use; choose another with --port", param_hint="--port")
    raise typer.Exit(standalone(port))

# --- dbt -------------------------------------------------------------------------------------------

TargetOption = Annotated[str, typer.Option("--target", "-t", help="dev (local PostgreSQL) or duckdb")]


@dbt_app.command("env")
def dbt_env(target: TargetOption = "dev"):
    """Print `export` lines for profiles.yml: eval "$(zoomcamp dbt env)", then run dbt in the project folder."""
    from . import dbt

    for key, value in dbt.env(target).items():
        print(f"export {key}={shlex.quote(value)}")


@dbt_app.command("load-raw")
def dbt_load_raw(
    target: TargetOption = "dev",
    months: Annotated[
        list[str], typer.Option("--months", "-m", help="YYYY-MM or YYYY-MM..YYYY-MM (repeatable)")
    ] = ["2021-01"],  # noqa: B006
):
    """(Re)build the raw tables trips_data_all.{green,yellow,fhv}_tripdata that the dbt project reads."""
    from . import dbt

    for table, rows in dbt.load_raw(target, parse_months(months), progress=True).items():
        print(f"{rows:,} rows in {dbt.RAW_SCHEMA}.{table} ({target})")


@dbt_app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt_run(ctx: typer.Context, target: TargetOption = "dev"):
    """Run a dbt command on the project with the profile's variables set: zoomcamp dbt run -t duckdb build"""
    from . import dbt

    if not ctx.args:
        raise typer.BadParameter("give a dbt command, e.g. build", param_hint="ARGS")
    result = dbt.run(*ctx.args, target=target, echo=True)
    raise typer.Exit(0 if result.success else 1)


# --- api ------------------------------------------------------------------------------------------

@api_app.command("serve")
def api_serve(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8090,
    faults: Annotated[
        str | None, typer.Option(help='failures, e.g. "429:5,500:7,slow:11" (default: the api_faults setting)')
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="publish only the rides that ended by this ISO time (default: all)")
    ] = None,
    slow_seconds: Annotated[float, typer.Option(help="how long a slow page takes")] = 1.5,
):
    """Serve the course's rides as a paginated JSON API: GET /rides?page=N, ?since=ISO-time (Ctrl+C stops it)."""
    from .api import serve

    serve(port, faults=faults, until=until, slow_seconds=slow_seconds, announce=print)


@api_app.command("load")
def api_load(
    url: Annotated[str, typer.Argument(help="the API's address, e.g. http://127.0.0.1:8090")],
    destination: Annotated[str, typer.Option("--to", help="duckdb, postgres or lake")] = "duckdb",
    name: Annotated[str | None, typer.Option(help="pipeline name (default: rides_<destination>)")] = None,
    dataset: Annotated[str, typer.Option(help="dataset (schema) to load into")] = "rides_api",
):
    """Load the rides API with dlt (incremental: a second run loads only what changed)."""
    from . import api_pipeline

    info = api_pipeline.load(url, destination, name=name, dataset=dataset)
    rows = api_pipeline.loaded_rows(info)
    out.print(", ".join(f"{table}: {n:,} rows" for table, n in rows.items()) or "nothing new")


# --- registration ---------------------------------------------------------------------------------

@registration_app.command("serve")
def registration_serve(
    host: Annotated[str, typer.Option(help="address to listen on (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    rate_limit: Annotated[
        int | None, typer.Option(help="submissions per client IP per minute, 0 = none (default: settings)")
    ] = None,
    behind_proxy: Annotated[
        bool, typer.Option(help="trust X-Forwarded-For/-Proto on requests with the proxy secret (see README)")
    ] = False,
):
    """Run the registration app (migrates its database first; Ctrl+C stops it)."""
    from registration.app import serve

    serve(host, port, rate_limit=rate_limit, behind_proxy=behind_proxy, announce=print)


@registration_app.command("hash-password")
def registration_hash_password(
    stdin: Annotated[bool, typer.Option("--stdin", help="read the password from standard input")] = False,
):
    """Make the instructor password's hash for ZOOMCAMP_REGISTRATION_PASSWORD_HASH (printed on stdout)."""
    from registration.security import hash_password

    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Instructor password", hide_input=True, confirmation_prompt=True)
    hashed = hash_password(password)
    print(hashed)
    err.print("Set it (single quotes keep the shell out of it), then restart the app:\n"
              f"    export ZOOMCAMP_REGISTRATION_PASSWORD_HASH='{hashed}'\n"
              f"or in zoomcamp.toml:\n    [registration]\n    password_hash = \"{hashed}\"",
              markup=False, highlight=False, soft_wrap=True)


# --- the course: progress, homework, run, reset ------------------------------------------------------------------

def _notebook_number(notebook: str) -> str:
    """``week_1_basics/01_data_and_stack.ipynb`` -> ``01`` (the whole name if it has no number)."""
    name = notebook.rsplit("/", 1)[-1]
    return name.split("_", 1)[0] if name[:1].isdigit() else name.removesuffix(".ipynb")


@app.command("progress")
def show_progress():
    """Which notebooks you have run to the end, week by week, and what comes next."""
    from .course import next_notebook, progress

    table = Table("week", "done", "notebooks", title="your progress",
                  caption="✓ done, · not yet; each notebook by its number (01 is the week's 01_*.ipynb)")
    for week in progress():
        # Each mark with its notebook's number: which one is done is there to read, not to count.
        marks = "  ".join(f"[green]✓ {_notebook_number(n)}[/green]" if n in week.done
                          else f"[dim]· {_notebook_number(n)}[/dim]" for n in sorted(week.done + week.todo))
        table.add_row(week.folder, f"{len(week.done)}/{len(week.done) + len(week.todo)}", marks)
    out.print(table)
    following = next_notebook()
    out.print(f"next: {following}" if following else "every notebook is done: on to the project (week 7)!")


homework_app = _Typer(help="Each week's homework, checked against the data you loaded.", no_args_is_help=True)
app.add_typer(homework_app, name="homework")


@homework_app.command("check")
def homework_check(
    week: Annotated[int, typer.Argument(help="week number")],
    answers: Annotated[Path | None, typer.Option(help="answers file (default: the week's answers.yaml)")] = None,
):
    """Grade your answers.yaml: the expected answers are computed from your own loaded data."""
    from .homework import grade, questions

    grades = grade(week, answers)
    table = Table("question", "your answer", "expected", "", title=f"week {week} homework")
    for g in grades:
        mark = "[green]✓" if g.correct else "[red]✗"
        # A wrong answer shows no expected value, but a hint when there is one (the date's format, a typo'd id).
        expected = escape(g.note) if g.note or g.expected is None else (escape(str(g.expected)) if g.correct else "")
        shown = escape(str(g.given)) if g.given is not None else "[dim]not answered"
        table.add_row(g.question, shown, expected, mark)
    out.print(table)
    score = sum(g.correct for g in grades)
    out.print(f"score: {score}/{len(questions(week))}")
    if score < len(grades):
        raise typer.Exit(1)


@homework_app.command("submit")
def homework_submit(
    week: Annotated[int, typer.Argument(help="week number")],
    answers: Annotated[Path | None, typer.Option(help="answers file (default: the week's answers.yaml)")] = None,
    link: Annotated[list[str] | None, typer.Option(help="a learning-in-public post (repeat for several)")] = None,
    time_spent: Annotated[float | None, typer.Option(help="hours you spent on it")] = None,
    comments: Annotated[str | None, typer.Option(help="problems or comments for the instructors")] = None,
):
    """Hand your answers.yaml in to the course platform (platform_url, with the API token platform_token);
    handing in again before the deadline replaces your answers."""
    from registration.client import submit_homework

    from .course import week_folder
    from .homework import ANSWERS_FILE, questions, read_answers

    questions(week)  # a week without homework says so before anything is sent
    s = get_settings()
    given = read_answers(Path(answers or week_folder(week) / ANSWERS_FILE))
    stored = submit_homework(s.platform_url, s.platform_token, week, given, link or [], time_spent, comments)
    out.print(f"week {week}: {len(stored['answers'])} answers handed in to {s.platform_url} at "
              f"{stored['submitted_at'][:19]} UTC; you can replace them until {stored['deadline'][:16]} UTC")


@app.command("run")
def run_week_command(
    week: Annotated[int, typer.Argument(help="week number")],
    html: Annotated[Path | None, typer.Option(help="also write executed HTML copies into this folder")] = None,
):
    """Execute a week's notebooks in order against the local stack (the files are not modified); stop at the
    first failure and show the cell and the error."""
    from .course import run_week

    for r in run_week(week, html_dir=html):
        out.print(f"[green]✓[/green] {r.notebook} ({r.seconds:.0f} s)" + (f" -> {r.html}" if r.html else ""))


@app.command("update")
def update_command():
    """Get the course's latest version (git pull): notebooks you changed are kept as my_<name> beside the new ones."""
    from .update import update

    kept = update()
    for k in kept:
        out.print(f"kept your {k.original} as {k.copy}", highlight=False, soft_wrap=True)
    out.print("up to date with the course" + (f" ({len(kept)} of your notebooks kept)" if kept else ""))


@app.command("reset")
def reset_command(
    week: Annotated[int | None, typer.Argument(help="week number (default: every week)")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
):
    """Put the local stack back to a clean state for a week (tables, lake datasets, dbt targets); downloaded and
    generated data files are kept."""
    from .course import reset

    what = f"week {week}" if week is not None else "every week"
    if not yes and not typer.confirm(f"drop what {what} made in the local stack?", default=False):
        raise typer.Exit(1)
    for number, removed in reset(week).items():
        summary = f"removed {len(removed)}: " + ", ".join(removed) if removed else "nothing to remove"
        out.print(f"week {number}: {summary}", highlight=False, soft_wrap=True)


# --- spark -----------------------------------------------------------------------------------------

@spark_app.command("cluster-up")
def spark_cluster_up(
    cores: Annotated[int, typer.Option(help="cores the worker offers")] = 1,
    memory: Annotated[str, typer.Option(help="memory the worker offers, e.g. 1g")] = "1g",
):
    """Start a standalone master and one worker on 127.0.0.1 (then: export ZOOMCAMP_SPARK_MASTER=<url>)."""
    from .spark import Cluster

    status = Cluster(cores=cores, memory=memory).start()
    out.print(f"spark: {status.message}")
    out.print(f"use it: export ZOOMCAMP_SPARK_MASTER={status.details['url']}")


@spark_app.command("cluster-down")
def spark_cluster_down():
    """Stop the standalone master and worker."""
    from .spark import Cluster

    out.print(f"spark: {Cluster().stop().message}")


@spark_app.command("cluster-status")
def spark_cluster_status():
    """Is the standalone cluster running, with how many workers and cores."""
    from .spark import Cluster

    status = Cluster().status()
    out.print(f"spark: {status.message}")
    if not status.running:
        raise typer.Exit(1)


@spark_app.command("submit", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def spark_submit(
    ctx: typer.Context,
    script: Annotated[Path, typer.Argument(help="a PySpark script, e.g. week_5_batch/jobs/revenue_report.py")],
    master: Annotated[str | None, typer.Option(help="default: settings.spark_master")] = None,
):
    """spark-submit a script with this machine's settings; arguments after the script go to it."""
    from .spark import submit

    done = submit(script, ctx.args, master=master)
    out.print(str(done))


# --- project --------------------------------------------------------------------------------------

@project_app.command("run")
def project_run(
    months: Annotated[
        list[str], typer.Option("--months", "-m", help="YYYY-MM or YYYY-MM..YYYY-MM (repeatable)")
    ] = ["2021-01"],  # noqa: B006
):
    """Run the whole chain for the months: lake -> warehouse -> dbt -> dashboard data (each step idempotent)."""
    from . import project

    report = project.run(parse_months(months), progress=True,
                         announce=lambda line: out.print(line, highlight=False, soft_wrap=True))
    out.print(f"done in {report.seconds:.1f} s; see it with `zoomcamp project dashboard`")


@project_app.command("dashboard")
def project_dashboard(port: Annotated[int, typer.Option(help="the dashboard's port on 127.0.0.1")] = 8501):
    """Serve the Streamlit dashboard on 127.0.0.1 (Ctrl-C stops it)."""
    from . import project
    from .stack import port_is_free

    if not port_is_free(port):
        raise typer.BadParameter(f"port {port} is in use; choose another with --port", param_hint="--port")
    out.print(f"the dashboard: http://127.0.0.1:{port}")
    raise typer.Exit(project.dashboard(port))


@project_app.command("plan")
def project_plan():
    """Where each step reads and writes with the settings in force (local, or GCP with backend = "gcp")."""
    from . import project

    frame = project.plan()
    table = Table("step", "where", "what", title=f"backend {get_settings().backend}")
    for row in frame.itertuples(index=False):
        table.add_row(row.step, escape(row.where), escape(row.what))
    out.print(table)
    if get_settings().backend == "gcp":
        project.check_gcp()
        out.print("[green]the GCP configuration is complete[/green] (checked without connecting)")


@project_app.command("check")
def project_check(path: Annotated[Path, typer.Argument(help="your project's folder")]):
    """Check a project folder against the peer-review rubric's checkable parts and print a score table."""
    from . import project

    result = project.check(path)
    table = Table("criterion", "points", "found", "to do", title=f"rubric self-check: {path}")
    for c in result.criteria:
        colour = "green" if c.points == c.max_points else "yellow" if c.points else "red"
        table.add_row(c.name, f"[{colour}]{c.points}/{c.max_points}", escape(c.found), escape(c.todo))
    out.print(table)
    out.print(f"[bold]total {result.total}/{result.max_total}[/bold] on the checkable parts; reviewers judge the "
              "rest (see week_7_project/README.md, 'Peer review')")


# --- jvm -----------------------------------------------------------------------------------------

@jvm_app.command("setup")
def jvm_setup(quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only when something was done")] = False):
    """Resolve shared/jvm/pom.xml's artifacts into <home>/jvm, checked against jvm.lock (offline once done)."""
    from . import jvm

    result = jvm.setup()
    if result.resolved or not quiet:
        verb = "resolved" if result.resolved else "already complete:"
        out.print(f"jvm: {verb} {result.jars} jars in {result.lib}")
    built = jvm.prepare_projects()  # their dependencies into <jvm>/m2: later builds run offline
    if built or not quiet:
        out.print(f"jvm: built {', '.join(built)} (later builds offline)" if built
                  else f"jvm: {', '.join(jvm.JAVA_PROJECTS)} already prepared")
    archives = jvm.setup_archives()  # class-data sharing: Spark's JVMs start with half the CPU
    if archives or not quiet:
        out.print(f"jvm: made the class-data archives of {', '.join(archives)}" if archives
                  else f"jvm: class-data archives of {', '.join(jvm.CDS_ARCHIVES)} already made")


@jvm_app.command("lock")
def jvm_lock():
    """Re-resolve shared/jvm/pom.xml and rewrite shared/jvm/jvm.lock (after changing a version there)."""
    from . import jvm

    out.print(f"jvm: wrote {jvm.write_lock()}")


@jvm_app.command("classpath")
def jvm_classpath(bundle: Annotated[str, typer.Argument(help="kafka, debezium-postgres, jdbc-sink, spark-kafka")]):
    """Print a bundle's class path (for java -cp)."""
    from . import jvm

    print(":".join(str(p) for p in jvm.classpath(bundle)))


# --- doctor / settings ----------------------------------------------------------------------------

@app.command()
def doctor():
    """Check this machine (Python, Java, PostgreSQL, disk, ports) and say what to fix."""
    from .doctor import run_checks

    checks = run_checks()
    table = Table("check", "", "detail", "how to fix")
    for c in checks:
        mark = "[green]ok" if c.ok else ("[red]FAIL" if c.required else "[yellow]warn")
        table.add_row(c.name, mark, c.detail, "" if c.ok else c.fix)
    out.print(table)
    if any(c.required and not c.ok for c in checks):
        raise typer.Exit(1)


# --- warehouse ------------------------------------------------------------------------------------

@warehouse_app.command("run")
def warehouse_run(
    sql_file: Annotated[Path, typer.Argument(help="a file of BigQuery SQL statements, each ending with ;")],
):
    """Run every statement of a SQL file (a DEZ homework's, say) on the warehouse — the emulator bridges what it
    lacks, external tables included — and print the rows of each SELECT."""
    from . import warehouse

    if not sql_file.is_file():
        raise CourseError(f"{sql_file}: no such file")
    wh = warehouse.Warehouse()
    wh.create_dataset()  # the course's dataset (trips_data_all), as week 3's notebooks make it
    for statement in warehouse.statements(sql_file.read_text()):
        job = wh.execute(statement)
        if job.statement_type == "SELECT":
            print(warehouse.to_frame(job).to_string(index=False))


# --- DEZ ------------------------------------------------------------------------------------------

@dez_app.command("check")
def dez_check(
    folder: Annotated[Path, typer.Argument(help="your DEZ homework or project folder")] = Path("."),
    start: Annotated[bool, typer.Option("--start", help="start the stack's services those files need")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="the findings as JSON")] = False,
):
    """Read a DEZ homework folder and say, file by file, what runs here, what to type instead, what cannot run
    offline; --start starts the services it needs. See DEZ.md."""
    from . import dez

    report = dez.check(folder)
    started = dez.start(report) if start else []
    if as_json:
        print(json.dumps({"folder": str(report.folder), "services": report.services, "findings": report.rows(),
                          "started": [s.name for s in started]}, indent=2))
        return
    if not report.findings:
        out.print(f"nothing DEZ-shaped found in {escape(str(report.folder))}")
    for f in report.findings:  # a list, not a table: the advice is a command to copy, whole
        out.print(f"[bold]{escape(f.path)}[/bold]  {f.area}: {f.verdict}", highlight=False)
        out.print(f"    {escape(f.what)}", highlight=False, soft_wrap=True)
    if report.services:
        out.print(f"services these files use: {', '.join(report.services)}"
                  + ("" if start else " (zoomcamp dez check --start starts them)"))
    for status in started:
        out.print(f"{status.name}: {status.message}")


@app.command("schema-registry")
def schema_registry(port: Annotated[int, typer.Option(help="the port (Confluent's is 8081)")] = 8081):
    """Serve the course's schema registry over Confluent's REST API on 127.0.0.1 (in the foreground; Ctrl-C stops
    it; schemas are kept in memory), for clients such as DEZ's Avro example (confluent_kafka.schema_registry)."""
    from .streaming.registry_server import serve

    try:
        server = serve(port)
    except OSError as exc:
        raise CourseError(f"schema-registry: port {port} is not free ({exc.strerror}): "
                          "choose another, --port N") from None
    import threading

    out.print(f"schema registry on {server.url} (Ctrl-C stops it)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


@app.command("settings")
def show_settings():
    """Show the settings in force (environment > zoomcamp.toml > defaults)."""
    s = get_settings()
    table = Table("setting", "value")
    for name in s.__dataclass_fields__:
        value = getattr(s, name)
        if name.endswith("database_url") and value:
            value = re.sub(r"//([^/:@]*):[^/@]*@", r"//\1:***@", value)  # the URL's password
        table.add_row(name, "***" if ("password" in name or name.endswith("_token")) and value else str(value))
    out.print(table)


def parse_months(values: list[str]):
    """``datasets.parse_months``, imported when a command needs it: the datasets package imports pandas and pyarrow
    (~3 s of CPU), which most commands, and every ``--help``, never use."""
    from .datasets import parse_months as parse

    return parse(values)


def _usage_error(exc: click_errors.UsageError) -> str:
    """A bad command line in the course's one error style: what is wrong, and where to read how (one line)."""
    text = " ".join(exc.format_message().split()).rstrip(".")
    if text[:1].isupper() and text[1:2].islower():  # "No such option" -> "no such option", not "PGPORT" -> "pGPORT"
        text = text[0].lower() + text[1:]
    command = exc.ctx.command_path if exc.ctx is not None else "zoomcamp"
    return f"{text}; see `{command} --help`"


def main() -> None:
    try:
        # standalone_mode=False: click's errors come here instead of typer's boxed panel (see below), and an exit
        # code comes back instead of SystemExit.
        code = app(standalone_mode=False, prog_name="zoomcamp")  # the same name however it was started
    except click_errors.NoArgsIsHelpError as exc:  # `zoomcamp data`: its help (printed already with rich)
        if exc.format_message().strip():
            exc.show()
        sys.exit(2)
    except click_errors.UsageError as exc:  # unknown option or command, missing argument, bad value
        err.print(f"[red]error:[/red] {escape(_usage_error(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Abort:  # end of input at a prompt
        err.print("[red]error:[/red] aborted: nothing was changed", highlight=False, soft_wrap=True)
        sys.exit(1)
    except click_errors.ClickException as exc:
        err.print(f"[red]error:[/red] {escape(' '.join(exc.format_message().split()))}", highlight=False,
                  soft_wrap=True)
        sys.exit(exc.exit_code)
    except CourseError as exc:  # something the user can fix: one line, exit code 2, no traceback
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (KeyboardInterrupt, SystemExit) as exc:
        # Ctrl-C (typer turns it into exit code 130, silently): say so in one line. Loads and publishes are
        # all-or-nothing, so the step under way changed nothing.
        if isinstance(exc, SystemExit) and exc.code != 130:
            raise
        err.print("interrupted: the step under way was rolled back or left as it was; run the command again to "
                  "finish", highlight=False, soft_wrap=True)
        sys.exit(130)
    if code == 130:  # Ctrl-C: typer turns KeyboardInterrupt into exit code 130 (returned here, not raised)
        err.print("interrupted: the step under way was rolled back or left as it was; run the command again to "
                  "finish", highlight=False, soft_wrap=True)
    sys.exit(code if isinstance(code, int) else 0)
