"""The capstone's peer-review rubric, and a self-check of a project folder against its checkable parts.

>>> from zoomcamp import rubric
>>> result = rubric.check("week_7_project/template")   # also: zoomcamp project check PATH
>>> result.table()                                       # one row per criterion: points, max, found, to do

What a machine can check, it checks for real: the README's sections, Terraform files that parse (python-hcl2),
Airflow DAG files that import in Airflow's own DagBag, a dbt project that ``dbt parse`` accepts (in a copy, offline),
partitioning and clustering declared somewhere, a dashboard app that compiles and has two tiles or more. What only a
person can judge (is the problem clear, do the tiles make sense, does it run on a fresh machine) stays with the
reviewers: the table says so. ``TODO`` markers left in a criterion's files halve its points: the template is full of
them on purpose.

Where the parts are: ``zoomcamp-project.toml`` in the folder may name them (paths relative to it; every key
optional); whatever it does not name is searched for in the folder.

.. code-block:: toml

    readme = "README.md"
    terraform = ["terraform"]
    dags = ["airflow/dags"]
    dbt = ["dbt"]
    dashboard = ["dashboard/app.py"]
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import CourseError

MANIFEST = "zoomcamp-project.toml"
SKIP = {".git", ".venv", "venv", "node_modules", "dbt_packages", "target", "logs", "__pycache__", ".terraform",
        ".ipynb_checkpoints"}
TODO = re.compile(r"\bTODO\b")
CLOUD_PREFIXES = ("google_", "aws_", "azurerm_")
CHART_CALLS = re.compile(r"\b(?:st\.(?:altair_chart|line_chart|bar_chart|area_chart|scatter_chart|plotly_chart|"
                         r"pyplot|vega_lite_chart|bokeh_chart|pydeck_chart|map)|dcc\.Graph)\s*\(")
LOOKER = re.compile(r"https://(?:lookerstudio|datastudio)\.google\.com/\S+")
PARTITION = re.compile(r"partition[ _]by|time_partitioning|range_partitioning|TimePartitioning|partition_by",
                       re.IGNORECASE)
CLUSTER = re.compile(r"cluster[ _]by|clustering_fields|\bclustering\b|cluster_by", re.IGNORECASE)

# The rubric (after the Data Engineering Zoomcamp's peer review): criterion -> (max points, what earns them).
RUBRIC = {
    "Problem description": (2, "0: not described; 1: described, but not clearly; 2: well described, clear"),
    "Cloud and IaC": (4, "0: local only; 2: on a cloud; 4: on a cloud, with infrastructure as code"),
    "Data ingestion (batch or stream)": (
        4, "0: none; 2: some steps orchestrated or streamed; 4: an end-to-end pipeline (several steps in a DAG, "
           "into the lake) or a stream with producers and consumers"),
    "Data warehouse": (4, "0: none; 2: tables, not optimized; 4: partitioned and clustered tables, the choice "
                          "explained"),
    "Transformations": (4, "0: none; 2: simple SQL; 4: dbt, Spark or similar"),
    "Dashboard": (4, "0: none; 2: one tile; 4: two tiles or more"),
    "Reproducibility": (4, "0: no instructions; 2: instructions, incomplete or not working; 4: clear instructions, "
                           "it runs"),
}


class RubricError(CourseError, ValueError):
    pass


@dataclass
class Criterion:
    name: str
    points: int
    max_points: int
    found: str
    todo: str = ""


@dataclass
class CheckResult:
    path: Path
    criteria: list[Criterion] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(c.points for c in self.criteria)

    @property
    def max_total(self) -> int:
        return sum(c.max_points for c in self.criteria)

    def points(self, name: str) -> int:
        return next(c.points for c in self.criteria if c.name == name)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([vars(c) for c in self.criteria],
                            columns=["name", "points", "max_points", "found", "todo"])


# --- finding the parts ----------------------------------------------------------------------------------------------

def _files(root: Path, pattern: str) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP and not d.startswith("."))
        found += [Path(dirpath) / f for f in sorted(filenames) if Path(f).match(pattern)]
    return found


def _manifest(root: Path) -> dict:
    path = root / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path}: not valid TOML ({exc})") from None
    return data


def _named(root: Path, manifest: dict, key: str) -> list[Path] | None:
    """The paths ``zoomcamp-project.toml`` gives for ``key`` (None: not given, search instead)."""
    if key not in manifest:
        return None
    value = manifest[key]
    paths = [root / p for p in ([value] if isinstance(value, str) else value)]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise RubricError(f"{root / MANIFEST}: {key} names {', '.join(missing)}, which does not exist")
    return [p.resolve() for p in paths]


def _expand(paths: list[Path], pattern: str) -> list[Path]:
    return [f for p in paths for f in ([p] if p.is_file() else _files(p, pattern))]


def _todos(files: list[Path], root: Path) -> list[str]:
    found = []
    for path in files:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        found += [f"{_rel(path, root)}:{i}" for i, line in enumerate(lines, 1) if TODO.search(line)]
    return found


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return os.path.relpath(path.resolve(), root)


def _with_todos(criterion: Criterion, files: list[Path], root: Path) -> Criterion:
    """Halve the points while TODO markers are left in the criterion's files, and say where they are."""
    todos = _todos(files, root)
    if todos and criterion.points:
        criterion.points //= 2
        where = ", ".join(todos[:4]) + (f" and {len(todos) - 4} more" if len(todos) > 4 else "")
        criterion.todo = "; ".join(filter(None, [criterion.todo, f"finish the TODOs: {where}"]))
    return criterion


# --- the README -----------------------------------------------------------------------------------------------------

def _sections(text: str) -> dict[str, str]:
    """Markdown sections: heading (lower case) -> body, up to the next heading of the same or a higher level."""
    sections, lines = {}, text.splitlines()
    headings, fenced = [], False
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced  # a '#' line inside a code block is a shell comment, not a heading
        elif not fenced and (m := re.match(r"^(#{1,6})\s+(.*)$", line)):
            headings.append((i, len(m.group(1)), m.group(2).strip().lower()))
    for n, (i, level, title) in enumerate(headings):
        end = next((j for j, lvl, _ in headings[n + 1:] if lvl <= level), len(lines))
        sections[title] = "\n".join(lines[i + 1:end])
    return sections


def _readme(root: Path, manifest: dict) -> Path | None:
    named = _named(root, manifest, "readme")
    if named:
        return named[0]
    return next((p for p in sorted(root.iterdir()) if p.name.lower() == "readme.md"), None)


def _problem(readme: Path | None, root: Path) -> Criterion:
    top = RUBRIC["Problem description"][0]
    if readme is None:
        return Criterion("Problem description", 0, top, "no README.md", "write a README.md that describes the problem")
    sections = _sections(readme.read_text())
    title, body = next(((t, b) for t, b in sections.items() if "problem" in t), (None, ""))
    words = len(re.findall(r"\w+", body))
    if title is None:
        return Criterion("Problem description", 1, top, f"{readme.name}, no 'Problem' section",
                         "add a '## Problem description' section: what data, what question, who uses the answer")
    criterion = Criterion("Problem description", 2 if words >= 50 else 1, top,
                          f"section '{title}', {words} words (reviewers judge how clear it is)",
                          "" if words >= 50 else "say more: at least 50 words on the data, the question and the users")
    return _with_todos(criterion, [readme], root)


def _reproducibility(readme: Path | None, root: Path) -> Criterion:
    top = RUBRIC["Reproducibility"][0]
    if readme is None:
        return Criterion("Reproducibility", 0, top, "no README.md", "write step-by-step instructions in a README.md")
    sections = _sections(readme.read_text())
    words = ("run", "reproduc", "setup", "set up", "getting started", "how to", "install")
    found = [(t, b) for t, b in sections.items() if any(w in t for w in words)]
    if not found:
        return Criterion("Reproducibility", 0, top, f"{readme.name}, no 'How to run' section",
                         "add a '## How to run' section with the exact commands, in order")
    title, body = found[0]
    if "```" not in body:
        return _with_todos(Criterion("Reproducibility", 2, top, f"section '{title}', no commands",
                                     "give the commands in a code block (```bash ... ```)"), [readme], root)
    blocks = body.count("```") // 2
    criterion = Criterion("Reproducibility", top, top,
                          f"section '{title}' with {blocks} code block(s) (reviewers run them)")
    return _with_todos(criterion, [readme], root)


# --- cloud and IaC, the warehouse -----------------------------------------------------------------------------------

def _unquote(value):
    return value.strip('"') if isinstance(value, str) else value


def _terraform(files: list[Path], root: Path) -> tuple[dict[str, dict], list[str]]:
    """Every resource of the files (``type.name`` -> body) and the files that do not parse."""
    import hcl2

    resources, errors = {}, []
    for path in files:
        try:
            with open(path) as f:
                parsed = hcl2.load(f)
        except Exception as exc:  # python-hcl2 raises lark's errors: report, not crash
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            errors.append(f"{_rel(path, root)}: {first[:160]}")
            continue
        for block in parsed.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    resources[f"{_unquote(kind)}.{_unquote(name)}"] = body
    return resources, errors


def _cloud(tf_files: list[Path], resources: dict, errors: list[str], readme: Path | None, root: Path) -> Criterion:
    top = RUBRIC["Cloud and IaC"][0]
    if errors:
        return Criterion("Cloud and IaC", 0, top, f"{len(tf_files)} Terraform file(s), {len(errors)} do not parse",
                         "fix: " + "; ".join(errors[:3]))
    cloud = sorted(r for r in resources if r.startswith(CLOUD_PREFIXES))
    if cloud:
        shown = ", ".join(cloud[:5]) + (f" and {len(cloud) - 5} more" if len(cloud) > 5 else "")
        return _with_todos(Criterion("Cloud and IaC", top, top, f"Terraform parses: {shown}"), tf_files, root)
    text = readme.read_text().lower() if readme else ""
    if any(word in text for word in ("gcp", "google cloud", "bigquery", "aws", "azure")):
        return Criterion("Cloud and IaC", 2, top, "a cloud is mentioned, no Terraform resources for it",
                         "describe the bucket and dataset in Terraform (*.tf)")
    return Criterion("Cloud and IaC", 0, top, "no Terraform files", "create the cloud resources with Terraform")


def _without_comments(text: str) -> str:
    """Code without its comments (SQL ``--``, Python and YAML ``#``, Jinja ``{# #}``): an example in a comment is
    not a table."""
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL)
    return "\n".join(re.split(r"\s*(?:--|#)", line, maxsplit=1)[0] for line in text.splitlines())


def _warehouse(root: Path, resources: dict, files: list[Path]) -> Criterion:
    top = RUBRIC["Data warehouse"][0]
    tables = {name: body for name, body in resources.items() if name.startswith("google_bigquery_table.")}
    partitioned = [n for n, b in tables.items() if "time_partitioning" in b or "range_partitioning" in b]
    clustered = [n for n, b in tables.items() if "clustering" in b]
    evidence = [f"Terraform: {', '.join(sorted(set(partitioned) & set(clustered)))} partitioned and clustered"] if (
        set(partitioned) & set(clustered)) else []
    if not evidence:
        code = {f: _without_comments(f.read_text(errors="replace")) for f in files}
        part = [f for f in files if PARTITION.search(code[f])]
        clus = [f for f in files if CLUSTER.search(code[f])]
        if part and clus:
            evidence = [f"partitioning in {_rel(part[0], root)}, clustering in {_rel(clus[0], root)}"]
        elif part or clus or partitioned or clustered:
            which = "partitioning" if (part or partitioned) else "clustering"
            return Criterion("Data warehouse", 2, top, f"{which} only",
                             "partition the warehouse table (by day of pickup, say) and cluster it by what the "
                             "dashboard filters or groups on")
    if not evidence:
        return Criterion("Data warehouse", 0, top, "no partitioned or clustered table found",
                         "load the data into a partitioned, clustered warehouse table and explain the choice")
    return Criterion("Data warehouse", top, top, evidence[0] + " (reviewers judge the choice)")


# --- ingestion: Airflow DAGs ----------------------------------------------------------------------------------------

def _fingerprint(files: list[Path]) -> tuple:
    return tuple((str(f), hashlib.sha256(f.read_bytes()).hexdigest()) for f in sorted(files))


# Results per content: a second check of unchanged files (a notebook re-checking after one edit) is instant.
_DAGS_SEEN: dict[tuple, dict] = {}
_DBT_SEEN: dict[tuple, tuple[bool, str]] = {}


def import_dags(files: list[Path]) -> dict[str, dict]:
    """Import DAG files in Airflow's DagBag (in the course's Airflow child process, ``orchestration.parse_dags``):
    per file, the DAGs found with their task counts, and the import errors (the last line of each)."""
    if not files:
        return {}
    key = _fingerprint(files)
    if key not in _DAGS_SEEN:
        _DAGS_SEEN[key] = _import_dags(files)
    return _DAGS_SEEN[key]


def _import_dags(files: list[Path]) -> dict[str, dict]:
    from .orchestration import DagRunFailed, parse_dags

    try:
        parsed = parse_dags(files)
    except DagRunFailed as error:
        raise RubricError(f"could not run Airflow to import the DAGs: {str(error)[-500:]}") from None
    return {path: {"errors": {k: (v.strip().splitlines() or [""])[-1] for k, v in info["errors"].items()},
                   "dags": {dag: shape["tasks"] for dag, shape in info["dags"].items()}}
            for path, info in parsed.items()}


def _is_dag_file(path: Path) -> bool:
    text = path.read_text(errors="replace")
    return "airflow" in text and ("@dag" in text or "DAG(" in text)


def _ingestion(dag_files: list[Path], py_files: list[Path], root: Path) -> Criterion:
    top = RUBRIC["Data ingestion (batch or stream)"][0]
    name = "Data ingestion (batch or stream)"
    if dag_files:
        imported = import_dags(dag_files)
        errors = [f"{_rel(Path(p), root)}: {msg}" for p, info in imported.items() for msg in info["errors"].values()]
        if errors:
            return Criterion(name, 0, top, f"{len(dag_files)} DAG file(s), import errors",
                             "fix: " + "; ".join(errors[:2]))
        dags = {dag: tasks for info in imported.values() for dag, tasks in info["dags"].items()}
        if not dags:
            return Criterion(name, 0, top, "DAG files define no DAG", "call the @dag function at the end of the file")
        biggest = max(dags.values())
        found = ", ".join(f"{d} ({t} tasks)" for d, t in sorted(dags.items()))
        criterion = Criterion(name, top if biggest >= 2 else 2, top, f"Airflow DAGs import: {found}",
                              "" if biggest >= 2 else "orchestrate the whole chain: several tasks, into the lake")
        return _with_todos(criterion, dag_files, root)
    streaming = [p for p in py_files if re.search(r"^\s*(?:from|import)\s+(?:kafka|quixstreams|confluent_kafka)\b",
                                                    p.read_text(errors="replace"), re.MULTILINE)]
    if streaming:
        return Criterion(name, 2, top, f"streaming code in {_rel(streaming[0], root)} (reviewers judge it)",
                         "show the producers and consumers running end to end in the README")
    return Criterion(name, 0, top, "no Airflow DAG and no streaming code",
                     "orchestrate the ingestion (an Airflow DAG) or stream it (Kafka)")


# --- transformations: dbt -------------------------------------------------------------------------------------------

def parse_dbt(folder: Path) -> tuple[bool, str]:
    """``dbt parse`` on a copy of the dbt project, offline, with a throw-away DuckDB profile (nothing is written into
    ``folder``). Returns (parsed, what was found or what failed)."""
    key = _fingerprint([f for f in _files(Path(folder), "*") if f.is_file()])
    if key not in _DBT_SEEN:
        _DBT_SEEN[key] = _parse_dbt(Path(folder))
    return _DBT_SEEN[key]


def _parse_dbt(folder: Path) -> tuple[bool, str]:
    import yaml
    from dbt.cli.main import dbtRunner

    folder = folder.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        copy = work / folder.name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(*SKIP, ".user.yml"))
        try:
            config = yaml.safe_load((copy / "dbt_project.yml").read_text()) or {}
        except yaml.YAMLError as exc:
            return False, f"dbt_project.yml is not valid YAML ({str(exc).splitlines()[0]})"
        profile = config.get("profile") or "default"
        (work / "profiles.yml").write_text(yaml.safe_dump({profile: {"target": "check", "outputs": {
            "check": {"type": "duckdb", "path": str(work / "check.duckdb"), "threads": 1}}}}))
        packages = _localise_packages(copy, folder)
        (copy / "package-lock.yml").unlink(missing_ok=True)  # resolved again for the rewritten paths
        common = ["--log-level", "none"]
        paths = ["--project-dir", str(copy), "--profiles-dir", str(work), "--log-path", str(work / "logs")]
        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        if packages:
            outcome = dbtRunner().invoke([*common, "deps", "--project-dir", str(copy)])
            if not outcome.success:
                return False, f"dbt deps failed ({_first_line(outcome.exception) or 'packages not reachable'})"
        outcome = dbtRunner().invoke([*common, "parse", *paths, "--target-path", str(work / "target"),
                                      "--no-partial-parse"])
        if not outcome.success:
            return False, f"dbt parse failed: {_first_line(outcome.exception) or 'see `dbt parse`'}"
        nodes = outcome.result.nodes.values()
        models = sum(1 for n in nodes if str(n.resource_type) == "model")
        tests = sum(1 for n in nodes if str(n.resource_type) in ("test", "unit_test"))
        return True, f"dbt project {config.get('name', folder.name)} parses: {models} models, {tests} tests"


def _first_line(exc) -> str:
    text = " ".join(str(exc or "").split())
    return text[:200]


def _localise_packages(copy: Path, original: Path) -> bool:
    """Point the copy's local packages (``local: ../pkg``) at their real folders; returns whether it has any
    packages at all."""
    import yaml

    found = False
    for name in ("packages.yml", "dependencies.yml"):
        path = copy / name
        if not path.is_file():
            continue
        data = yaml.safe_load(path.read_text()) or {}
        for package in data.get("packages", []) or []:
            found = True
            if "local" in package:
                package["local"] = str((original / package["local"]).resolve())
        path.write_text(yaml.safe_dump(data))
    return found


def _transformations(dbt_projects: list[Path], py_files: list[Path], sql_files: list[Path], root: Path) -> Criterion:
    top = RUBRIC["Transformations"][0]
    if dbt_projects:
        results = [(p, *parse_dbt(p)) for p in dbt_projects]
        failed = [(p, d) for p, ok, d in results if not ok]
        if failed:
            return Criterion("Transformations", 0, top, f"{_rel(failed[0][0], root)}: {failed[0][1]}",
                             "make `dbt parse` pass (run it in the dbt project's folder)")
        files = [f for p in dbt_projects for f in _files(p, "*.sql") + _files(p, "*.yml")]
        return _with_todos(Criterion("Transformations", top, top, "; ".join(d for _, _, d in results)), files, root)
    spark = [p for p in py_files if re.search(r"^\s*(?:from|import)\s+pyspark\b", p.read_text(errors="replace"),
                                              re.MULTILINE)]
    if spark:
        return Criterion("Transformations", top, top, f"Spark code in {_rel(spark[0], root)} (reviewers judge it)")
    if sql_files:
        return Criterion("Transformations", 2, top, f"{len(sql_files)} SQL file(s)",
                         "define the transformations in dbt (or Spark): tested, documented, in order")
    return Criterion("Transformations", 0, top, "no dbt project, Spark job or SQL",
                     "transform the raw data (dbt or Spark) into what the dashboard needs")


# --- the dashboard --------------------------------------------------------------------------------------------------

def _dashboard(apps: list[Path], readme: Path | None, root: Path) -> Criterion:
    top = RUBRIC["Dashboard"][0]
    for app in apps:
        try:
            compile(app.read_text(), str(app), "exec")  # syntax only: nothing is run or written
        except SyntaxError as exc:
            return Criterion("Dashboard", 0, top, f"{_rel(app, root)} does not compile",
                             f"fix: line {exc.lineno}: {exc.msg}")
    if apps:
        tiles = sum(len(CHART_CALLS.findall(app.read_text())) for app in apps)
        criterion = Criterion("Dashboard", top if tiles >= 2 else 2 if tiles else 0, top,
                              f"{', '.join(_rel(a, root) for a in apps)}: {tiles} chart(s) (reviewers open it)",
                              "" if tiles >= 2 else "show two tiles: one over time, one by category")
        return _with_todos(criterion, apps, root)
    link = LOOKER.search(readme.read_text()) if readme else None
    if link:
        return Criterion("Dashboard", top, top, f"Looker Studio link {link.group(0)[:60]} (reviewers open it)")
    return Criterion("Dashboard", 0, top, "no dashboard app and no Looker Studio link",
                     "build a dashboard with two tiles (Streamlit, or Looker Studio with its link in the README)")


# --- the check ------------------------------------------------------------------------------------------------------

def check(path: Path | str) -> CheckResult:
    """Score a project folder against the rubric's checkable parts (see the module).
    Taught in week_7_project/03_your_project.ipynb."""
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise RubricError(f"{path} is not a folder: give the folder of your project")
    manifest = _manifest(root)
    readme = _readme(root, manifest)
    tf_named = _named(root, manifest, "terraform")
    tf_files = _expand(tf_named, "*.tf") if tf_named is not None else _files(root, "*.tf")
    py_files = _files(root, "*.py")
    dags_named = _named(root, manifest, "dags")
    dag_files = ([f for f in _expand(dags_named, "*.py") if not f.name.startswith("_")] if dags_named is not None
                 else [f for f in py_files if _is_dag_file(f)])
    dbt_named = _named(root, manifest, "dbt")
    dbt_projects = dbt_named if dbt_named is not None else [p.parent for p in _files(root, "dbt_project.yml")]
    dash_named = _named(root, manifest, "dashboard")
    apps = (_expand(dash_named, "*.py") if dash_named is not None else
            [p for p in py_files if re.search(r"^\s*(?:import streamlit|from dash\b|import dash\b)",
                                              p.read_text(errors="replace"), re.MULTILINE)])
    sql_files = _files(root, "*.sql") + [f for p in (dbt_named or []) for f in _files(p, "*.sql")]
    resources, tf_errors = _terraform(tf_files, root)
    warehouse_files = [*sql_files, *[f for f in py_files if f not in apps],
                       *[f for p in dbt_projects for f in _files(p, "*.yml")]]
    result = CheckResult(root)
    result.criteria = [
        _problem(readme, root),
        _cloud(tf_files, resources, tf_errors, readme, root),
        _ingestion(dag_files, py_files, root),
        _warehouse(root, resources, warehouse_files),
        _transformations(dbt_projects, py_files, sql_files, root),
        _dashboard(apps, readme, root),
        _reproducibility(readme, root),
    ]
    return result


__all__ = ["MANIFEST", "RUBRIC", "CheckResult", "Criterion", "RubricError", "check", "import_dags", "parse_dbt"]
