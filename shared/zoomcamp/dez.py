"""DataTalksClub's Data Engineering Zoomcamp (DEZ) on this course's stack: what of a DEZ homework folder runs here.

>>> from zoomcamp import dez
>>> report = dez.check("~/de-zoomcamp/homework")      # what each file needs, and what to type instead
>>> report.services                                    # the stack's services those files use

``zoomcamp dez check [FOLDER] [--start]`` prints the same, and with ``--start`` starts those services. The rules
read files, nothing runs: each finds one kind of DEZ step (a dbt project, an external table over ``gs://``, a Spark
notebook reading TLC files, a Kafka producer, a Docker or Terraform or Kestra file, a download of the TLC's files)
and says whether it runs here as it is, runs with the course's command or variables instead, or cannot run offline,
and why. DEZ.md at the project root is the same guidance as a page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CourseError

RUNS = "runs"  # as it is, on the course's stack
INSTEAD = "runs with the course's command"
NOT_OFFLINE = "not offline"

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "target", "dbt_packages", "logs",
             ".ipynb_checkpoints", ".zoomcamp", "build"}
TEXT_SUFFIXES = {".py", ".ipynb", ".sql", ".yml", ".yaml", ".sh", ".tf", ".md", ".txt", ".json", ".scala", ".java"}
MAX_BYTES = 2_000_000  # a larger file is data, not code

TRIP_FILE = re.compile(r"\b(yellow|green|fhvhv|fhv)_tripdata_(\d{4})-(\d{2})\.(csv\.gz|csv|parquet)\b")


class DezError(CourseError, ValueError):
    pass


def dbt_commands(target: str = "dev") -> list[str]:
    """What builds a DEZ dbt project, from its folder, on the course's raw tables: the raw tables loaded, the
    course's profile and target exported (see :func:`zoomcamp.dbt.env`), then DEZ's own ``dbt build``."""
    return [f"zoomcamp dbt load-raw --target {target}", f'eval "$(zoomcamp dbt env --target {target})"', "dbt build"]


@dataclass
class Finding:
    area: str  # week / tool
    path: str  # relative to the folder checked
    verdict: str  # RUNS, INSTEAD or NOT_OFFLINE
    what: str  # one line: what to do here
    services: tuple[str, ...] = ()


@dataclass
class Report:
    folder: Path
    findings: list[Finding] = field(default_factory=list)

    @property
    def services(self) -> list[str]:
        from .stack import SERVICES

        wanted = {s for f in self.findings for s in f.services}
        return [name for name in SERVICES if name in wanted]

    def rows(self) -> list[dict]:
        return [f.__dict__ | {"services": list(f.services)} for f in self.findings]


def _text(path: Path) -> str:
    raw = path.read_text(errors="replace")
    if path.suffix == ".ipynb":  # the cells' code and markdown, not the outputs
        try:
            cells = json.loads(raw).get("cells", [])
        except (json.JSONDecodeError, AttributeError):
            return raw
        return "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source"))
                         for c in cells)
    return raw


def _files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if any(part in SKIP_DIRS for part in path.relative_to(folder).parts[:-1]):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name in ("Dockerfile",)) \
                and path.stat().st_size <= MAX_BYTES:
            yield path


def _trip_files(text: str) -> list[tuple[str, str, str]]:
    """The TLC files named in ``text``, as (kind, month, format downloaded): a ``.csv`` is a gunzipped backup."""
    return sorted({(m[1], f"{m[2]}-{m[3]}", "parquet" if m[4] == "parquet" else "csv.gz")
                   for m in TRIP_FILE.finditer(text)})


def _in_dbt_project(path: Path) -> bool:
    return any((parent / "dbt_project.yml").is_file() for parent in path.parents)


def _source_schemas(text: str) -> list[str]:
    """The ``schema`` of each source in a dbt properties file (as written: Jinja and all)."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    sources = doc.get("sources") if isinstance(doc, dict) else None
    return [str(source["schema"]) for source in sources or [] if isinstance(source, dict) and "schema" in source]


def _data_command(kind: str, month: str, fmt: str) -> str:
    if fmt == "parquet":
        return f"zoomcamp data download {kind} {month}"
    return f"zoomcamp data download {kind} {month} -f csv.gz"


def _rules(rel: str, path: Path, text: str) -> list[Finding]:
    found: list[Finding] = []
    name = path.name
    if name == "dbt_project.yml":
        profile = re.search(r"^profile:\s*['\"]?([\w-]+)", text, re.MULTILINE)
        found.append(Finding(
            "dbt (module 4)", rel, INSTEAD,
            "; ".join(dbt_commands("dev")) + f" (in {path.parent.name}/; --target duckdb for the DuckDB file; "
            + (f"its profile {profile[1]!r} is replaced by the course's)" if profile else "the course's profile)"),
            ("postgres",)))
    if path.suffix in (".yml", ".yaml") and _in_dbt_project(path) and re.search(r"^\s*sources\s*:", text, re.MULTILINE):
        for schema in _source_schemas(text):
            if "DBT_SCHEMA" in schema or "trips_data_all" in schema:
                continue
            words = " or ".join(repr(w) for w in re.sub(r"\{[{%].*?[%}]\}", " ", schema, flags=re.DOTALL).split())
            found.append(Finding(
                "dbt (module 4)", rel, INSTEAD,
                f"its raw tables' schema is {words}: the course's are in trips_data_all (change that line, or read "
                "env_var('DBT_SCHEMA', 'trips_data_all'), which zoomcamp dbt env sets)", ("postgres",)))
    if path.suffix in (".sql", ".py", ".ipynb", ".md") and re.search(r"CREATE\s+(OR\s+REPLACE\s+)?EXTERNAL\s+TABLE",
                                                                      text, re.IGNORECASE):
        found.append(Finding(
            "BigQuery (module 3)", rel, INSTEAD,
            "zoomcamp lake upload FILES --to gs://BUCKET, then zoomcamp warehouse run FILE.sql with its tables named "
            "zoomcamp.trips_data_all.* (external tables, PARQUET or CSV, become views over the GCS emulator's files)",
            ("gcs", "bigquery")))
    if path.suffix in (".py", ".ipynb") and re.search(r"\bpyspark\b|SparkSession", text):
        files = _trip_files(text)
        extra = "; data: " + ", ".join(_data_command(*f) for f in files) if files else ""
        found.append(Finding("Spark (module 5)", rel, RUNS,
                             "runs with the course's pyspark and Java (`zoomcamp doctor` checks them)" + extra))
    elif path.suffix in (".py", ".ipynb", ".sh") and (files := _trip_files(text)):
        found.append(Finding("data", rel, INSTEAD,
                             "the TLC files it reads: " + ", ".join(_data_command(*f) for f in files)
                             + " (real files; offline: zoomcamp data sample --months M --type T)"))
    flink = path.suffix in (".py", ".ipynb") and "pyflink" in text
    if flink:
        found.append(Finding("Flink (module 6)", rel, NOT_OFFLINE,
                             "Flink is not part of this course's stack (yet): its stream processing is Kafka Streams "
                             "and Spark's, week 6 notebooks 05 and 08", ("kafka",)))
    if path.suffix in (".py", ".ipynb") and re.search(r"^\s*(import dlt|from dlt)\b", text, re.MULTILINE):
        found.append(Finding("dlt (workshop)", rel, NOT_OFFLINE,
                             "dlt is not part of this course (yet); its ingestion is week 1 and 2's "
                             "(zoomcamp ingest postgres, zoomcamp lake ingest)"))
    if not flink and path.suffix in (".py", ".ipynb") and re.search(
            r"KafkaProducer|KafkaConsumer|confluent_kafka|bootstrap\.servers", text):
        port = re.search(r"localhost:(\d+)|127\.0\.0\.1:(\d+)", text)
        found.append(Finding(
            "Kafka (module 6)", rel, RUNS if not port else INSTEAD,
            "the course's broker is $KAFKA_BOOTSTRAP_SERVERS (eval \"$(zoomcamp stack env)\")"
            + (f"; it names {port[0]}: use that variable's address" if port else "")
            + ("; bootstrap_connected() shows False with kafka-python 3 (an upstream bug): the sends work"
               if "bootstrap_connected" in text else ""),
            ("kafka",)))
    if re.search(r"schema[._ ]?registry|:8081\b", text, re.IGNORECASE) and path.suffix in (".py", ".ipynb", ".java"):
        found.append(Finding(
            "Kafka (module 6)", rel, INSTEAD,
            "`zoomcamp schema-registry` (in a terminal of its own) serves the course's schema registry over "
            "Confluent's REST API on 8081", ("kafka",)))
    if re.search(r"postgresql(\+psycopg2?)?://|psycopg|pgcli|localhost:5432", text) and \
            path.suffix in (".py", ".ipynb", ".sh"):
        found.append(Finding(
            "PostgreSQL (module 1)", rel, INSTEAD,
            'eval "$(zoomcamp stack env)": PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE are the course\'s '
            "server (its port may not be 5432); or `zoomcamp ingest postgres FILE --table NAME`", ("postgres",)))
    if name.startswith(("docker-compose", "compose")) or name == "Dockerfile":
        found.append(Finding(
            "Docker (module 1)", rel, INSTEAD,
            "no Docker engine is needed: `zoomcamp stack up` runs PostgreSQL, the GCS and BigQuery emulators and "
            "Kafka on this machine (pgAdmin is not included: psql or the notebooks)", ("postgres",)))
    if path.suffix == ".tf":
        found.append(Finding("Terraform (module 1)", rel, NOT_OFFLINE,
                             "creates real GCP resources: needs a GCP project (week 1 notebook 06 shows the plan)"))
    if path.suffix in (".yml", ".yaml") and re.search(r"^namespace:", text, re.MULTILINE) and \
            re.search(r"^tasks:", text, re.MULTILINE):
        found.append(Finding("Kestra (module 2)", rel, INSTEAD,
                             "Kestra is not part of this course: the same pipeline in Airflow is week 2 notebook 04 "
                             "(`zoomcamp airflow test lake_ingest --months 2021-01..2021-03`)"))
    return found


def check(folder: str | Path = ".") -> Report:
    """What of ``folder`` (a DEZ homework or project folder) runs on the course's stack."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DezError(f"{folder}: no such folder (give your DEZ homework folder)")
    report = Report(folder.resolve())
    for path in _files(folder):
        try:
            text = _text(path)
        except OSError:
            continue
        report.findings.extend(_rules(str(path.relative_to(folder)), path, text))
    return report


def start(report: Report):
    """Start the stack's services the report's files need (already running ones are left as they are)."""
    from . import stack

    return stack.up(report.services) if report.services else []


__all__ = ["INSTEAD", "NOT_OFFLINE", "RUNS", "DezError", "Finding", "Report", "check", "dbt_commands", "start"]
