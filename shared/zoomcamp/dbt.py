"""Week 4's dbt project, run from Python: raw tables in, dbt commands run, artifacts read, lineage drawn.

>>> from zoomcamp import dbt
>>> dbt.load_raw("duckdb")                 # the raw green/yellow/fhv trips for a target
>>> run = dbt.run("build", target="duckdb")
>>> run.success, run.table()               # one row per model, seed, snapshot and test
>>> dbt.query("SELECT count(*) FROM dbt_dev.fact_trips", target="duckdb")

Targets (``week_4_analytics_engineering/taxi_rides_ny/profiles.yml``):

- ``dev``: the course's local PostgreSQL, found from the stack (``PG*`` variables, as ``zoomcamp stack env`` prints);
- ``duckdb``: a DuckDB file under the course home (``<home>/dbt/taxi_rides_ny.duckdb``);
- ``prod``: BigQuery, not run offline; :func:`check_prod_profile` checks its configuration.

The raw tables live in the schema ``trips_data_all`` (as the course's BigQuery dataset), named ``green_tripdata``,
``yellow_tripdata`` and ``fhv_tripdata``, with lower-case column names: PostgreSQL folds unquoted names to lower
case, so lower-case columns let the models' SQL be the same on every warehouse. The models go to ``dbt_dev``
(``DBT_TARGET_SCHEMA`` overrides). :func:`env` also exports ``DBT_SCHEMA``/``DBT_DATABASE`` as DataTalksClub's
projects read them: where the raw tables are.

dbt is run in this process with ``dbtRunner`` (a few seconds to import once, then well under a second per command
of overhead), with the profile's variables set for the duration of the call only.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import datasets
from .datasets.months import Month, parse_months
from .datasets.schemas import DUCKDB_TYPES, RAW_SCHEMA, columns, raw_table
from .errors import CourseError
from .settings import Settings, get_settings, project_root

PROJECT_DIR = project_root() / "week_4_analytics_engineering" / "taxi_rides_ny"
TARGETS = ("dev", "duckdb", "prod")
LOCAL_TARGETS = ("dev", "duckdb")
SCHEMA = "dbt_dev"  # where the models go (DBT_TARGET_SCHEMA overrides)
# The profile's variable for the models' schema. Not DBT_SCHEMA: DEZ's projects read DBT_SCHEMA (and DBT_DATABASE)
# as where the *raw* tables are (`schema: "{{ env_var('DBT_SCHEMA', 'trips_data_all') }}"` in their sources), so
# env() exports DBT_SCHEMA and DBT_DATABASE with that meaning, and a DEZ project finds the course's raw tables.
TARGET_SCHEMA_VARIABLE = "DBT_TARGET_SCHEMA"
PROFILE = "taxi_rides_ny"  # profiles.yml's profile (DEZ's projects name theirs `default`, or taxi_rides_ny)
DUCKDB_DATABASE = "taxi_rides_ny"  # DuckDB names a file's database after the file: taxi_rides_ny.duckdb
RAW_KINDS = ("green", "yellow", "fhv")
SEEDS = {"taxi_zone_lookup": "zones", "payment_type_lookup": "payment_types"}
# What the prod (BigQuery, method oauth = Application Default Credentials) output must set, after dbt-bigquery's
# profile documentation.
BIGQUERY_REQUIRED = ("type", "method", "project", "dataset", "threads")


class DbtError(CourseError, RuntimeError):
    """dbt could not run the command at all (a wrong profile, a SQL error while compiling, a missing database)."""


# --- where things are -----------------------------------------------------------------------------------------------

def duckdb_path(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).home / "dbt" / "taxi_rides_ny.duckdb"


def _check_target(target: str, local: bool = True) -> None:
    allowed = LOCAL_TARGETS if local else TARGETS
    if target not in allowed:
        raise DbtError(f"unknown target {target!r}; choose one of: {', '.join(allowed)}")


def env(target: str = "dev", settings: Settings | None = None) -> dict[str, str]:
    """The environment variables ``profiles.yml`` reads for ``target`` (``dev`` needs the stack running), and dbt's
    own ``DBT_PROFILES_DIR``/``DBT_PROFILE``/``DBT_TARGET``: after ``eval "$(zoomcamp dbt env --target T)"`` a plain
    ``dbt build`` in any project folder (the course's, or a DEZ one) runs on T with the course's profile, whatever
    the project names its profile or its default target (DEZ 2026's ``dev`` is DuckDB; the course's is PostgreSQL)."""
    from . import stack

    _check_target(target, local=False)
    settings = settings or get_settings()
    variables = {"DBT_DUCKDB_PATH": str(duckdb_path(settings)), TARGET_SCHEMA_VARIABLE: models_schema(),
                 # what DEZ's sources read: where the raw tables are
                 "DBT_SCHEMA": RAW_SCHEMA, "DBT_DATABASE": DUCKDB_DATABASE,
                 # dbt's own: a plain `dbt build`, in this project or a DEZ one, uses this profile and this target
                 "DBT_PROFILES_DIR": str(PROJECT_DIR), "DBT_PROFILE": PROFILE, "DBT_TARGET": target}
    if target == "duckdb":  # DuckDB creates its file on first use, but not the folder it goes in
        duckdb_path(settings).parent.mkdir(parents=True, exist_ok=True)
    if target == "dev":
        pg = stack.env(["postgres"], settings)
        if not pg:
            raise DbtError("target dev needs the local PostgreSQL: start it with `zoomcamp stack up` (or stack.up())")
        variables.update({k: v for k, v in pg.items() if k.startswith("PG")})
        variables["DBT_DATABASE"] = pg["PGDATABASE"]
    if target == "prod":
        variables.update({"DBT_BQ_PROJECT": settings.gcp_project or "", "DBT_BQ_LOCATION": settings.gcp_region,
                          "DBT_BQ_DATASET": settings.dbt_dataset,
                          "DBT_DATABASE": settings.gcp_project or "", "GCP_PROJECT_ID": settings.gcp_project or "",
                          "DBT_SCHEMA": settings.bq_dataset})
    return variables


def models_schema() -> str:
    """The schema the course's models go to: ``dbt_dev``, or ``$DBT_TARGET_SCHEMA``."""
    return os.environ.get(TARGET_SCHEMA_VARIABLE) or SCHEMA


@contextlib.contextmanager
def _environ(variables: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- raw data and seeds ---------------------------------------------------------------------------------------------

def _months(months: Iterable[Month | str]) -> list[Month]:
    parsed = parse_months(months)
    if not parsed:
        raise DbtError("give at least one month, e.g. ['2021-01']")
    return parsed


def _select_lower(kind: str) -> str:
    return ", ".join(f'"{c.name}" AS {c.name.lower()}' for c in columns(kind, fmt="csv"))


def _load_postgres(files: dict[str, list[Path]], settings: Settings, progress: bool) -> dict[str, int]:
    """Each file through the course's loader into a landing table, then one table per kind with lower-case
    columns, filled in one transaction (a failure leaves the old table as it was)."""
    import psycopg2
    from psycopg2 import sql

    from . import ingest
    from .stack.postgres import Postgres

    dsn = Postgres(settings).url()
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn, conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(RAW_SCHEMA)))
    # The loader writes unqualified names: point its connection's search_path at the raw schema.
    landing_dsn = f"{dsn}?options=-csearch_path%3D{RAW_SCHEMA}"
    rows = {}
    for kind, paths in files.items():
        table = raw_table(kind)
        landing = [f"{table}__landing_{i}" for i in range(len(paths))]
        for path, name in zip(paths, landing, strict=True):
            ingest.to_postgres(path, name, kind=kind, dsn=landing_dsn, progress=progress)
        with contextlib.closing(psycopg2.connect(dsn)) as conn, conn, conn.cursor() as cur:
            union = " UNION ALL ".join(
                f"SELECT {_select_lower(kind)} FROM {RAW_SCHEMA}.{name}" for name in landing)
            cur.execute("SELECT to_regclass(%s)", (f"{RAW_SCHEMA}.{table}",))
            if cur.fetchone()[0] is None:
                cur.execute(f"CREATE TABLE {RAW_SCHEMA}.{table} AS {union}")
            else:  # emptied and refilled, not dropped: dbt's staging views depend on it
                cur.execute(f"TRUNCATE {RAW_SCHEMA}.{table}")
                cur.execute(f"INSERT INTO {RAW_SCHEMA}.{table} {union}")
            for name in landing:
                cur.execute(f"DROP TABLE {RAW_SCHEMA}.{name}")
                # The quarantine stays only if it holds something to look at.
                cur.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{name}_quarantine")
                if cur.fetchone()[0] == 0:
                    cur.execute(f"DROP TABLE {RAW_SCHEMA}.{name}_quarantine")
            cur.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{table}")
            rows[table] = cur.fetchone()[0]
    return rows


def _load_duckdb(files: dict[str, list[Path]], settings: Settings) -> dict[str, int]:
    import duckdb

    path = duckdb_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = {}
    with contextlib.closing(duckdb.connect(str(path))) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
        for kind, paths in files.items():
            table = raw_table(kind)
            types = {c.name.lower(): DUCKDB_TYPES[c.type] for c in columns(kind, fmt="csv")}
            # Types from the schema table, not guessed; only an empty field is missing.
            con.execute(
                f"CREATE OR REPLACE TABLE {RAW_SCHEMA}.{table} AS SELECT * FROM read_csv(?, header = true, "
                f"columns = {types!r}, nullstr = '', timestampformat = '%Y-%m-%d %H:%M:%S')",
                [[str(p) for p in paths]],
            )
            rows[table] = con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{table}").fetchone()[0]
    return rows


def load_raw(target: str = "dev", months: Iterable[Month | str] = ("2021-01",), kinds: Iterable[str] = RAW_KINDS,
             *, progress: bool = False, settings: Settings | None = None) -> dict[str, int]:
    """(Re)build the raw tables ``trips_data_all.<kind>_tripdata`` of ``target`` from the months' files (sample or
    downloaded, by ``settings.data_source``): each table holds exactly those months, so a re-run changes nothing.
    Returns the rows per table."""
    _check_target(target)
    settings = settings or get_settings()
    months = _months(months)
    kinds = list(kinds)
    for kind in kinds:
        if kind not in ("green", "yellow", "fhv"):
            raise DbtError(f"the dbt project reads green, yellow and fhv trips, not {kind!r}")
    files = {kind: [datasets.trip_file(kind, m, "csv.gz", settings=settings) for m in months] for kind in kinds}
    if target == "dev":
        return _load_postgres(files, settings, progress)
    return _load_duckdb(files, settings)


def write_seeds(settings: Settings | None = None, project_dir: Path = PROJECT_DIR) -> list[Path]:
    """The seed CSVs (zone lookup, payment types) from the course's data, with lower-case headers, written into the
    project's ``seeds/`` only when their content changes (dbt then sees nothing new)."""
    settings = settings or get_settings()
    sources = {"zones": datasets.zones_file(settings=settings),
               "payment_types": datasets.payment_types_file(settings=settings)}
    paths = []
    for seed, kind in SEEDS.items():
        frame = datasets.read_csv(sources[kind], kind)
        frame.columns = [c.lower() for c in frame.columns]
        text = frame.to_csv(index=False, lineterminator="\n")
        path = project_dir / "seeds" / f"{seed}.csv"
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        paths.append(path)
    return paths


def reset(target: str = "dev", *, raw: bool = True, settings: Settings | None = None) -> None:
    """A clean database for ``target``: drop the models' schema (and with ``raw`` the raw tables too)."""
    _check_target(target)
    settings = settings or get_settings()
    schema = models_schema()
    # The models' schema, the one `--store-failures` writes to, and the raw tables.
    schemas = [schema, f"{schema}_dbt_test__audit"] + ([RAW_SCHEMA] if raw else [])
    if target == "dev":
        from . import db

        for schema in schemas:
            db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', settings=settings)
    else:
        import duckdb

        _release_duckdb()
        path = duckdb_path(settings)
        if path.exists():
            with contextlib.closing(duckdb.connect(str(path))) as con:
                for schema in schemas:
                    con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def query(sql: str, target: str = "dev", settings: Settings | None = None) -> pd.DataFrame:
    """Run a SELECT on ``target``'s database (the stack's PostgreSQL, or the DuckDB file) and return a DataFrame."""
    _check_target(target)
    settings = settings or get_settings()
    if target == "dev":
        from . import db

        return db.query(sql, settings=settings)
    import duckdb

    _release_duckdb()
    path = duckdb_path(settings)
    if not path.exists():
        raise DbtError(f"{path} does not exist yet: load the raw data first (dbt.load_raw('duckdb'))")
    with contextlib.closing(duckdb.connect(str(path))) as con:
        return con.execute(sql).df()


# --- running dbt ----------------------------------------------------------------------------------------------------

@dataclass
class DbtRun:
    """The outcome of one dbt command: ``success`` (every node passed), the nodes' results, the wall time."""

    command: list[str]
    success: bool
    seconds: float
    results: list[dict] = field(default_factory=list)  # one per node: name, resource_type, status, ...
    result: Any = None  # what dbtRunner returned (e.g. the list of names for `ls`)
    invocation_id: str = ""  # dbt's ID of this command (fact_trips records it per row)

    def table(self) -> pd.DataFrame:
        columns_ = ["name", "resource_type", "status", "rows", "message", "seconds"]
        frame = pd.DataFrame(self.results, columns=[*columns_, "unique_id"])[columns_]
        return frame.astype({"rows": "Int64"})

    def status(self, name: str) -> str:
        """The status of the one node named ``name`` (a model, seed, test ...)."""
        found = [r["status"] for r in self.results if r["name"] == name]
        if len(found) != 1:
            raise KeyError(f"{name}: {len(found)} results with that name in this run")
        return found[0]

    def failed(self) -> list[str]:
        """The names of the nodes that failed or errored (tests that found bad rows, models that did not build)."""
        return sorted(r["name"] for r in self.results if r["status"] in ("fail", "error", "runtime error"))

    def __str__(self) -> str:
        counts = pd.Series([r["status"] for r in self.results], dtype="object").value_counts()
        text = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no nodes"
        return f"dbt {' '.join(self.command)}: {'OK' if self.success else 'FAILED'} ({text}) in {self.seconds:.1f} s"


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open in the process after a command: close it, so that other processes
    (a notebook's kernel, the DuckDB CLI) and our own connections can open the file."""
    import sys

    module = sys.modules.get("dbt.adapters.duckdb.connections")
    if module is None:
        return
    manager = module.DuckDBConnectionManager
    with manager._LOCK:
        if manager._ENV is not None:
            with contextlib.suppress(Exception):
                manager._ENV.close()
            manager._ENV = None
    gc.collect()


def ensure_deps(project_dir: Path = PROJECT_DIR) -> bool:
    """Install the packages of ``packages.yml`` unless they are there (dbt refuses to run without them).
    Returns whether ``dbt deps`` ran."""
    if (project_dir / "dbt_packages" / "taxi_utils" / "dbt_project.yml").is_file():
        return False
    run("deps", project_dir=project_dir)
    return True


PARTIAL_PARSE = "partial_parse.msgpack"


def _parse_cache(project_dir: Path, target: str, vars: dict | None, settings: Settings) -> Path:
    """Where the home keeps the last partial-parse state of ``project_dir`` on ``target`` with ``vars`` (dbt parses
    everything again when the vars differ: one state per vars, so a run with vars does not spoil the others')."""
    key = json.dumps([str(project_dir.resolve()), vars or {}], sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return settings.home / "dbt" / "parse-cache" / f"{project_dir.name}-{target}-{digest}.msgpack"


def _restore_parse(project_dir: Path, target: str, vars: dict | None, target_path: Path, settings: Settings) -> None:
    """The artifacts folder gets the last parse state of this project, target and vars, so dbt re-reads only the
    files that changed instead of the whole project (~2.5 CPU-s): in a fresh folder (a temporary ``target_path``,
    ``target/`` after a clean), and in ``target/`` after a run on the other target or with other vars, which would
    otherwise make the next run parse everything, twice. dbt checks the state itself (file hashes, vars, profile,
    env vars) and parses everything again when it does not match."""
    cached = _parse_cache(project_dir, target, vars, settings)
    if cached.is_file():
        _copy_atomically(cached, Path(target_path) / PARTIAL_PARSE)


def _copy_atomically(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(f".{os.getpid()}.partial")
    shutil.copyfile(source, partial)
    partial.replace(destination)  # a reader never sees half a file


def _keep_parse(project_dir: Path, target: str, vars: dict | None, target_path: Path, settings: Settings) -> None:
    state = Path(target_path) / PARTIAL_PARSE
    if state.is_file():
        _copy_atomically(state, _parse_cache(project_dir, target, vars, settings))


def _node_result(result) -> dict:
    node = result.node
    response = getattr(result, "adapter_response", None) or {}
    rows = response.get("rows_affected") if isinstance(response, dict) else None
    if str(node.resource_type) in ("test", "unit_test") or (rows is not None and rows < 0):
        rows = None  # a test's "rows" is its own query's; a view has none
    message = result.message
    if getattr(result, "failures", None):
        message = f"{result.failures} failing rows"
    if getattr(result, "max_loaded_at", None) is not None:  # source freshness
        rows, message = None, f"newest record {result.max_loaded_at:%Y-%m-%d %H:%M}, {result.age / 86400:,.0f} days old"
    return {"name": node.name, "resource_type": str(node.resource_type), "status": str(result.status),
            "rows": rows, "message": message, "seconds": round(result.execution_time, 2),
            "unique_id": node.unique_id}


def run(*args: str, target: str = "dev", vars: dict | None = None, project_dir: Path = PROJECT_DIR,
        target_path: Path | None = None, echo: bool = False, settings: Settings | None = None) -> DbtRun:
    """Run one dbt command (``run("build")``, ``run("build", "--select", "fact_trips+")``, ``run("ls")``) on
    ``target`` and return its results. A command whose tests fail returns ``success=False``; a command dbt cannot
    run at all raises :class:`DbtError`. ``echo=True`` shows dbt's own log lines."""
    from dbt.cli.main import dbtRunner

    _check_target(target, local=False)
    settings = settings or get_settings()
    command = list(args)
    if not command:
        raise DbtError("give a dbt command, e.g. run('build')")
    if command[0] != "deps":
        ensure_deps(project_dir)
        write_seeds(settings, project_dir)
    full = [*command, "--project-dir", str(project_dir)]
    if command[0] not in ("deps", "clean"):
        full += ["--profiles-dir", str(project_dir), "--target", target]
        if vars:
            full += ["--vars", json.dumps(vars)]
    if target_path is not None and command[0] != "deps":
        full += ["--target-path", str(target_path)]
    if not echo:
        full = ["--log-level", "none", *full]
    variables = env(target, settings) if command[0] not in ("deps", "clean") else {}
    variables["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    parses = command[0] not in ("deps", "clean")
    if parses:
        _restore_parse(project_dir, target, vars, target_path or project_dir / "target", settings)
    _release_duckdb()
    started = time.perf_counter()
    with _environ(variables):
        try:
            outcome = dbtRunner().invoke(full)
        finally:
            _release_duckdb()
    if parses:
        _keep_parse(project_dir, target, vars, target_path or project_dir / "target", settings)
    seconds = time.perf_counter() - started
    from dbt_common.invocation import get_invocation_id

    if outcome.exception is not None:
        first = str(outcome.exception).strip().splitlines()
        raise DbtError(f"dbt {' '.join(command)} ({target}) could not run: {' '.join(first)[:800]}")
    results = []
    if hasattr(outcome.result, "results"):
        results = [_node_result(r) for r in outcome.result.results if hasattr(r, "node")]
    return DbtRun(command, bool(outcome.success), seconds, results, outcome.result, get_invocation_id())


# --- artifacts ------------------------------------------------------------------------------------------------------

def _artifact(name: str, project_dir: Path, target_path: Path | None) -> dict:
    path = (target_path or project_dir / "target") / name
    if not path.is_file():
        hint = "dbt docs generate" if name == "catalog.json" else "a dbt command (e.g. run('parse'))"
        raise DbtError(f"{path} does not exist yet: run {hint} first")
    return json.loads(path.read_text())


def manifest(project_dir: Path = PROJECT_DIR, target_path: Path | None = None) -> dict:
    """``target/manifest.json``: every node of the project, its SQL, config and dependencies."""
    return _artifact("manifest.json", project_dir, target_path)


def catalog(project_dir: Path = PROJECT_DIR, target_path: Path | None = None) -> dict:
    """``target/catalog.json`` (from ``dbt docs generate``): what the database holds for each node."""
    return _artifact("catalog.json", project_dir, target_path)


def compiled_sql(model: str, project_dir: Path = PROJECT_DIR, target_path: Path | None = None) -> str:
    """The SQL dbt sent for ``model`` (Jinja rendered, refs resolved), from ``target/compiled``."""
    folder = (target_path or project_dir / "target") / "compiled" / "taxi_rides_ny"
    found = sorted(folder.rglob(f"{model}.sql"))
    if not found:
        raise DbtError(f"no compiled SQL for {model!r} under {folder}: run dbt compile (or build) first")
    return found[0].read_text()


def model_sql(model: str, project_dir: Path = PROJECT_DIR) -> str:
    """The SQL as written, from ``models/``."""
    found = sorted((project_dir / "models").rglob(f"{model}.sql"))
    if not found:
        raise DbtError(f"no model named {model!r} in {project_dir / 'models'}")
    return found[0].read_text()


def lineage(manifest_: dict, *, tests: bool = False) -> Any:
    """The project's DAG as a networkx DiGraph: sources, seeds, models, snapshots (and tests), edges upstream ->
    downstream, each node with ``kind`` (its resource type, or the model's materialization) and ``label``."""
    import networkx as nx

    graph = nx.DiGraph()
    for uid, source in manifest_.get("sources", {}).items():
        graph.add_node(uid, kind="source", label=f"{source['source_name']}.{source['name']}")
    for uid, node in manifest_.get("nodes", {}).items():
        kind = node["resource_type"]
        if kind not in ("model", "seed", "snapshot") and not (tests and kind == "test"):
            continue
        if kind == "model":
            kind = node["config"]["materialized"]
        graph.add_node(uid, kind=kind, label=node["name"])
        for parent in node.get("depends_on", {}).get("nodes", []):
            graph.add_edge(parent, uid)
    return graph.subgraph([n for n in graph if "kind" in graph.nodes[n]]).copy()


COLOURS = {"source": "#9ecae1", "seed": "#c7e9c0", "view": "#fdd0a2", "ephemeral": "#f0f0f0",
           "table": "#fdae6b", "incremental": "#e6550d", "snapshot": "#bcbddc", "test": "#fee0d2"}


def draw_lineage(manifest_: dict, ax=None, *, title: str = "taxi_rides_ny lineage"):
    """The lineage graph as a picture (matplotlib): one column per depth, coloured by materialization."""
    import matplotlib.pyplot as plt
    import networkx as nx
    from matplotlib.patches import Patch

    graph = lineage(manifest_)
    # Longest path from a root: a node sits right of everything it reads.
    depth: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        depth[node] = max((depth[p] + 1 for p in graph.predecessors(node)), default=0)
    columns_: dict[int, list[str]] = {}
    for node in graph:
        columns_.setdefault(depth[node], []).append(node)
    # First column by kind and name; each next one in the mean order of its parents (fewer crossing arrows).
    order: dict[str, float] = {}

    def key(node: str) -> tuple:
        parents = [order[p] for p in graph.predecessors(node)]
        return (sum(parents) / len(parents) if parents else -1, graph.nodes[node]["kind"], graph.nodes[node]["label"])

    for x in sorted(columns_):
        columns_[x].sort(key=key)
        order.update({node: i for i, node in enumerate(columns_[x])})
    position = {}
    for x, nodes in columns_.items():
        for i, node in enumerate(nodes):
            position[node] = (x * 3.2, -(i - (len(nodes) - 1) / 2) * 1.0)
    if ax is None:
        height = max(len(v) for v in columns_.values()) if columns_ else 1
        _, ax = plt.subplots(figsize=(3.2 * (len(columns_) or 1) + 1, 0.9 * height + 1.5))
    boxes = {}
    for node, (x, y) in position.items():
        data = graph.nodes[node]
        boxes[node] = ax.text(x, y, data["label"], ha="center", va="center", fontsize=8, bbox={
            "boxstyle": "round,pad=0.4", "fc": COLOURS.get(data["kind"], "white"), "ec": "#555555"})
    for parent, child in graph.edges:  # from the right edge of one box to the left edge of the next
        ax.annotate("", xy=(0, 0.5), xycoords=boxes[child], xytext=(1, 0.5), textcoords=boxes[parent],
                    arrowprops={"arrowstyle": "-|>", "color": "#777777", "shrinkA": 5, "shrinkB": 5, "lw": 1})
    kinds = sorted({graph.nodes[n]["kind"] for n in graph})
    ax.legend(handles=[Patch(fc=COLOURS.get(k, "white"), ec="#555555", label=k) for k in kinds],
              loc="upper left", bbox_to_anchor=(0, -0.02), ncol=len(kinds), fontsize=8, frameon=False)
    xs = [p[0] for p in position.values()] or [0]
    ys = [p[1] for p in position.values()] or [0]
    ax.set_xlim(min(xs) - 1.6, max(xs) + 1.6)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.set_axis_off()
    ax.set_title(title)
    return ax


# --- prod (BigQuery), checked without running -----------------------------------------------------------------------

def prod_profile(project_dir: Path = PROJECT_DIR, environ: dict[str, str] | None = None) -> dict:
    """The ``prod`` output of ``profiles.yml`` rendered the way dbt renders it (``env_var`` and all), with
    ``environ`` standing in for the environment."""
    import yaml
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    raw = yaml.safe_load((project_dir / "profiles.yml").read_text())
    output = raw["taxi_rides_ny"]["outputs"]["prod"]
    with _environ(environ or {}):
        set_invocation_context(dict(os.environ))  # what env_var() reads, as dbt sets it for each command
        try:
            return ProfileRenderer({}).render_data(output)
        except Exception as exc:  # dbt's Jinja errors: a required env_var missing, say
            message = " ".join(line.strip() for line in str(exc).strip().splitlines())
            raise DbtError(f"profiles.yml, output prod: {message}") from None


def check_prod_profile(project_dir: Path = PROJECT_DIR, environ: dict[str, str] | None = None) -> dict:
    """Validate the BigQuery target without connecting: it renders, names every required field, and its
    types are right. Returns the rendered output; raises :class:`DbtError` naming what is wrong."""
    environ = environ or {"DBT_BQ_PROJECT": "my-project"}
    output = prod_profile(project_dir, environ)
    missing = [key for key in BIGQUERY_REQUIRED if output.get(key) in (None, "")]
    if missing:
        raise DbtError(f"profiles.yml, output prod: missing {', '.join(missing)}")
    if output["type"] != "bigquery" or output["method"] not in ("oauth", "service-account", "service-account-json"):
        raise DbtError(f"profiles.yml, output prod: not a BigQuery output ({output['type']}, {output['method']})")
    if not str(output["threads"]).isdigit():
        raise DbtError(f"profiles.yml, output prod: threads must be a number, not {output['threads']!r}")
    return output


def docs_site(settings: Settings | None = None) -> Path:
    """Where :func:`publish_docs` puts the data catalog: ``<home>/dbt/docs/index.html``."""
    return (settings or get_settings()).home / "dbt" / "docs" / "index.html"


def publish_docs(project_dir: Path = PROJECT_DIR, settings: Settings | None = None) -> Path:
    """Publish the page ``dbt docs generate --static`` wrote (one self-contained HTML file: manifest and catalog
    inside) as the data catalog, at :func:`docs_site`: any web server or bucket can serve it as it is. Taught in
    week 4's notebook 06 (the ``dbt_production`` DAG)."""
    source = project_dir / "target" / "static_index.html"
    if not source.is_file():
        raise DbtError(f"{source} does not exist yet: run dbt docs generate --static first")
    site = docs_site(settings)
    site.parent.mkdir(parents=True, exist_ok=True)
    partial = site.with_suffix(".partial")
    shutil.copyfile(source, partial)
    partial.replace(site)  # atomic: a reader of the catalog never sees half a page
    return site


def clean(project_dir: Path = PROJECT_DIR) -> None:
    """Remove what dbt wrote in the project (target/, logs/, dbt_packages/)."""
    for name in ("target", "logs", "dbt_packages"):
        shutil.rmtree(project_dir / name, ignore_errors=True)
