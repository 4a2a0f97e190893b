"""One settings object for the whole course: where data lives, which ports, which backend.

Each value comes from, in order of precedence:

1. an environment variable ``ZOOMCAMP_<NAME>`` (e.g. ``ZOOMCAMP_POSTGRES_PORT=5433``),
2. the config file ``zoomcamp.toml`` at the project root (or the file named by ``ZOOMCAMP_CONFIG``),
   where ``[postgres] port = 5433`` sets ``postgres_port``,
3. the defaults below.

Notebooks call :func:`get_settings` instead of writing hosts, ports or paths.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import CourseError

ENV_PREFIX = "ZOOMCAMP_"
BACKENDS = ("local", "gcp")
DATA_SOURCES = ("sample", "download")
# local, local[4], local[*], local[4,2] (with retries), spark://host:port, yarn, k8s://host:port
SPARK_MASTER = re.compile(r"local(\[(\d+|\*)(,\d+)?\])?|spark://\S+|yarn|k8s://\S+")


class SettingsError(CourseError, ValueError):
    """A setting has a value the course cannot use; the message says which and where from."""


def project_root() -> Path:
    """The course checkout: the folder holding ``pyproject.toml`` and ``shared/``.

    With the editable install that ``make setup`` makes, that is two levels above this package;
    otherwise (a plain ``pip install``) the current working directory stands in.
    """
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").is_file() and (here / "shared").is_dir():
        return here
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    # Where everything the course writes goes: data/, stack/ (git-ignored).
    home: Path = field(default_factory=lambda: project_root() / ".zoomcamp")
    # Where TLC files (downloaded or generated) are kept; defaults to <home>/data.
    data_dir: Path | None = None
    # local: PostgreSQL + emulators on this machine; gcp: real GCS + BigQuery (Application Default Credentials).
    backend: str = "local"
    # sample: the deterministic generator (offline); download: the real TLC files.
    data_source: str = "sample"
    sample_rows: int = 20_000
    sample_seed: int = 42

    # PostgreSQL (week 1 on). Port None = 5432 if free, else any free port (the stack records it).
    postgres_port: int | None = None
    postgres_user: str = "root"
    # None = a random password made for this home at the first `zoomcamp stack up`, kept owner-only in
    # <home>/stack/postgres.password (`zoomcamp stack env` exports it as PGPASSWORD). A fixed, well-known password
    # ("root", the docker-compose course's) let every user of a shared machine in as superuser over 127.0.0.1.
    postgres_password: str | None = None
    postgres_db: str = "ny_taxi"
    # Folder with initdb/pg_ctl; None = PATH, then /usr/lib/postgresql/<newest>/bin.
    postgres_bin: Path | None = None

    # Where the real data comes from (overridable for mirrors, and for tests on 127.0.0.1).
    tlc_base_url: str = "https://d37ci6vzurychx.cloudfront.net"
    backup_base_url: str = "https://github.com/DataTalksClub/nyc-tlc-data/releases/download"
    download_timeout: float = 30.0

    # The local GCS emulator (week 2 on). None = 4443 if free, else any free port.
    gcs_port: int | None = None
    # Where the data lake is (week 2 on). None = the bucket gcs_bucket (or "zoomcamp-lake") on the local GCS
    # emulator, or on real GCS when backend = "gcp"; "gs://bucket/prefix" = that bucket; a folder path = a local lake.
    lake_url: str | None = None

    # Apache Kafka (week 6), in KRaft mode. kafka_port = the first broker's port: None = 9092 if free, else any
    # free port. kafka_brokers = how many brokers (3: replication factor 3 and min.insync.replicas=2 by default).
    kafka_port: int | None = None
    kafka_brokers: int = 1
    # "host:port[,host:port]" of a Kafka cluster to use instead of the course's brokers (e.g. the 3-broker cluster
    # of week_6_streaming/docker-compose.yaml: "localhost:19092,localhost:29092,localhost:39092").
    kafka_bootstrap: str | None = None
    # Kafka Connect's REST API (week 6, started on demand: zoomcamp stack up connect). None = 8083 if free, else any.
    connect_port: int | None = None
    # A standalone Flink cluster's REST API and web UI (week 6, on demand: zoomcamp stack up flink). None = 8081 if
    # free, else any free port.
    flink_port: int | None = None

    # Real GCP, used when backend = "gcp".
    gcp_project: str | None = None
    gcp_region: str = "europe-west1"
    gcs_bucket: str | None = None
    # With backend = "gcp": endpoints that stand in for Google's ("http://127.0.0.1:4443"), used with anonymous
    # credentials, i.e. emulators (the course's tests run the gcp code paths on its own:
    # tests/course/test_gcp_backend.py).
    # None = Google's endpoints with Application Default Credentials. [gcs] endpoint, [bq] endpoint in zoomcamp.toml.
    gcs_endpoint: str | None = None
    bq_endpoint: str | None = None
    bq_dataset: str = "trips_data_all"
    # The dataset dbt's prod target builds its models into (`zoomcamp dbt env --target prod` exports it).
    dbt_dataset: str = "production"
    # The local BigQuery emulator (week 3 on). None = 9050 if free, else any free port.
    bq_port: int | None = None

    # The registration app (registration/, `zoomcamp registration serve`); [registration] in zoomcamp.toml.
    # A SQLAlchemy URL; None = the SQLite file <home>/registration/registration.db.
    registration_database_url: str | None = None
    # From `zoomcamp registration hash-password`; unset = the instructor page is off (there is no default).
    registration_password_hash: str | None = None
    # Cohorts offered on the form: comma-separated, or a TOML list.
    registration_cohorts: str = "2026"
    # Submissions per client IP per minute; 0 = no limit.
    registration_rate_limit: int = 10
    # The course platform `zoomcamp homework submit N` hands answers in to ([platform] in zoomcamp.toml), and the
    # API token from its account page.
    platform_url: str = "http://127.0.0.1:8000"
    platform_token: str | None = None

    # The JVM artifacts (Kafka, Connect plugins, Spark's and Flink's connectors) that `make setup` resolves from
    # Maven Central (shared/jvm/); None = <home>/jvm. Shared by every home on the machine that names it.
    jvm_dir: Path | None = None

    # Week 2's rides API (`zoomcamp api serve`, zoomcamp.api): how many yellow rides of 2021-01 it serves, and the
    # failures it injects, e.g. "429:5,500:7,slow:11" = every 5th request a 429, every 7th a 500, every 11th slow.
    api_rides: int = 5_000
    api_faults: str = ""

    # Spark (week 5): where SparkSessions and spark-submit send work. local[*] = this process, one thread per core;
    # spark://127.0.0.1:7077 = a standalone cluster (zoomcamp spark cluster-up); yarn on Dataproc.
    spark_master: str = "local[*]"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise SettingsError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.data_source not in DATA_SOURCES:
            raise SettingsError(
                f"data_source must be one of {', '.join(DATA_SOURCES)}, not {self.data_source!r}"
            )
        for name in ("postgres_port", "gcs_port", "bq_port", "kafka_port", "connect_port", "flink_port"):
            port = getattr(self, name)
            if port is not None and not 0 < port < 65536:
                raise SettingsError(f"{name} must be between 1 and 65535, not {port}")
        if not 1 <= self.kafka_brokers <= 5:
            raise SettingsError(f"kafka_brokers must be between 1 and 5, not {self.kafka_brokers}")
        if not SPARK_MASTER.fullmatch(self.spark_master):
            raise SettingsError("spark_master must be local[*], local[N], spark://host:port, yarn or k8s://..., "
                                f"not {self.spark_master!r}")
        for server in self.kafka_bootstrap.split(",") if self.kafka_bootstrap else ():
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise SettingsError(f"kafka_bootstrap must be host:port[,host:port...], not {self.kafka_bootstrap!r}")
        if self.api_rides < 1:
            raise SettingsError(f"api_rides must be at least 1, not {self.api_rides}")
        if self.sample_rows < 1:
            raise SettingsError(f"sample_rows must be at least 1, not {self.sample_rows}")
        for name in ("gcs_endpoint", "bq_endpoint"):
            url = getattr(self, name)
            if url is not None and not re.fullmatch(r"https?://[^/\s]+/?", url):
                raise SettingsError(f"{name} must be a URL such as http://127.0.0.1:4443, not {url!r}")
        if self.backend == "gcp" and not (self.gcp_project and self.gcs_bucket):
            raise SettingsError(
                "backend = 'gcp' needs gcp_project and gcs_bucket "
                "(ZOOMCAMP_GCP_PROJECT, ZOOMCAMP_GCS_BUCKET or [gcp] project/[gcs] bucket in zoomcamp.toml)"
            )

    @property
    def data_path(self) -> Path:
        return self.data_dir or self.home / "data"

    @property
    def stack_path(self) -> Path:
        return self.home / "stack"

    @property
    def dlt_path(self) -> Path:
        """dlt's folders (pipelines' working state, its config), instead of ~/.dlt: see zoomcamp.api_pipeline."""
        return self.home / "dlt"

    @property
    def jvm_path(self) -> Path:
        return self.jvm_dir or self.home / "jvm"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _convert(name: str, raw: Any, source: str) -> Any:
    """Turn a raw env/config value into the field's type, with an error naming its source."""
    kind = str(Settings.__dataclass_fields__[name].type)
    if raw is None:
        return None
    try:
        if "Path" in kind:
            return Path(os.path.expanduser(str(raw))).resolve()
        if "int" in kind:
            return None if raw == "" else int(raw)
        if "float" in kind:
            return float(raw)
        if isinstance(raw, list):  # a TOML list for a comma-separated setting
            return ",".join(str(item) for item in raw)
    except ValueError:
        raise SettingsError(f"{source}: {name} must be a number, not {raw!r}") from None
    return str(raw)


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}_"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_file() -> Path:
    return Path(os.environ.get(ENV_PREFIX + "CONFIG") or project_root() / "zoomcamp.toml")


def load_settings(environ: dict[str, str] | None = None, config: Path | None = None) -> Settings:
    """Build settings from the environment, the config file and the defaults (in that order)."""
    environ = dict(os.environ if environ is None else environ)
    path = config or config_file()
    names = set(Settings.__dataclass_fields__)
    values: dict[str, Any] = {}

    if path.is_file():
        try:
            table = _flatten(tomllib.loads(path.read_text()))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML ({exc})") from None
        for key, raw in table.items():
            if key not in names:
                raise SettingsError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(names))})")
            values[key] = _convert(key, raw, str(path))

    for name in names:
        var = ENV_PREFIX + name.upper()
        if var in environ:
            values[name] = _convert(name, environ[var], var)

    return Settings(**values)


@lru_cache(maxsize=1)
def _cached() -> Settings:
    return load_settings()


def get_settings() -> Settings:
    """The settings in force (read once per process; :func:`reload_settings` re-reads them)."""
    return _cached()


def reload_settings() -> Settings:
    _cached.cache_clear()
    return _cached()
