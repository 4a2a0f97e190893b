"""The data warehouse (week 3): BigQuery through the official client — the local emulator, or real BigQuery.

>>> from zoomcamp import warehouse
>>> bq = warehouse.client()                        # emulator (anonymous) or BigQuery (ADC), by settings.backend
>>> wh = warehouse.Warehouse()                     # the client + the week's SQL files + the known gaps handled
>>> wh.run("02_external_table", kind="yellow")     # week_3_warehouse/sql/02_external_table.sql, ${...} filled in
>>> wh.query("02_count_by_month", table="yellow_tripdata")   # a DataFrame

The SQL lives in ``week_3_warehouse/sql/*.sql`` as BigQuery SQL, with ``${project}``, ``${dataset}``, ``${lake}``
(``gs://bucket``) and the caller's own ``${...}`` filled in; the notebooks run those files, so what they show is
what runs.

Where the emulator (bqemulator 1.4) differs from BigQuery, this module bridges the gap and says so:

- **No external tables.** ``CREATE EXTERNAL TABLE`` does not parse there, and a table created through the API with
  an external configuration reads as empty. Here it becomes a *view* over the lake's parquet files: ``gs://b/p``
  maps to the GCS emulator's folder for bucket ``b`` (the emulator keeps objects as plain files), and BigQuery's
  one ``*`` (anywhere in the object name; any characters, ``/`` included) to DuckDB globs: ``gs://b/yellow/*`` to
  the recursive ``yellow/**/*.parquet``, ``gs://b/yellow_tripdata_2024-*.parquet`` to the files of that name and
  the folders it continues into (:func:`local_globs`). ``format = 'CSV'`` reads CSV files, header and types
  detected (BigQuery's autodetect). Hive partition columns
  (``year=``/``month=`` folders) are added, typed, when the DDL asks for them (``WITH PARTITION COLUMNS``).
- **Parquet load needs a schema** (no autodetect): :meth:`Warehouse.load_parquet` passes the TLC schema. Its DuckDB
  also adds the path's ``key=value`` folders as columns, so on the emulator they are in the schema too.
- ``load_table_from_dataframe`` fails (multipart upload): load parquet from the lake instead.
- ``to_dataframe()`` needs ``create_bqstorage_client=False``: the client otherwise asks the BigQuery Storage API,
  on Google's servers, for the rows.
- ``TIMESTAMP_DIFF`` counts unit boundaries (DuckDB's ``date_diff``), BigQuery whole units: 00:00:59 to 00:01:00
  is 1 minute there, 0 in BigQuery.
- ``total_bytes_processed`` is always 0, and ``PARTITION BY``/``CLUSTER BY`` in DDL are not recorded (a table
  created through the API with ``time_partitioning`` is). The partition and cluster effect is measured locally
  instead: DuckDB reads the same rows laid out as BigQuery stores them, and every byte it reads is counted
  (:func:`write_layout`, :func:`scan_profile`).
"""

from __future__ import annotations

import contextlib
import functools
import re
import string
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import datasets
from .datasets.schemas import BIGQUERY_TYPES
from .errors import CourseError
from .lake import DEFAULT_BUCKET
from .settings import Settings, get_settings, project_root

SQL_DIR = project_root() / "week_3_warehouse" / "sql"
BIGQUERY_API = "https://bigquery.googleapis.com"
LOCAL_PROJECT = "zoomcamp"
EMULATOR_RETRY_SECONDS = 20.0  # how long a call to the emulator is retried (BigQuery's client: 600 s)


class WarehouseError(CourseError, RuntimeError):
    pass


# --- the client ---------------------------------------------------------------------------------------------------
def client(settings: Settings | None = None):
    """A ``google.cloud.bigquery.Client``: on the local emulator (anonymous credentials, the stack's endpoint) or,
    with ``backend = "gcp"``, on BigQuery itself (Application Default Credentials, ``gcp_project``), or on the
    emulator at ``bq_endpoint`` standing in for it (anonymous)."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import bigquery

    settings = settings or get_settings()
    if settings.backend == "gcp" and not settings.bq_endpoint:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        except DefaultCredentialsError as exc:
            raise WarehouseError("backend = 'gcp' needs Google credentials: run `gcloud auth application-default "
                                 f"login` (or set GOOGLE_APPLICATION_CREDENTIALS) ({exc})") from None
        # An explicit endpoint: a BIGQUERY_EMULATOR_HOST left in the shell must not send cloud work to the emulator.
        return bigquery.Client(project=settings.gcp_project, credentials=credentials, location=settings.gcp_region,
                               client_options=ClientOptions(api_endpoint=BIGQUERY_API))
    from google.auth.credentials import AnonymousCredentials

    from .stack.bigquery import BigQuery

    if settings.backend == "gcp":  # bq_endpoint: an emulator standing in for BigQuery, in the settings' project
        return _emulator_client_class()(project=settings.gcp_project, credentials=AnonymousCredentials(),
                                        location=settings.gcp_region,
                                        client_options=ClientOptions(api_endpoint=settings.bq_endpoint))
    env = BigQuery(settings).env()
    if not env:
        raise WarehouseError("the local BigQuery emulator is not running: start it with `zoomcamp stack up` "
                             "(or stack.up() in a notebook)")
    return _emulator_client_class()(project=settings.gcp_project or LOCAL_PROJECT, credentials=AnonymousCredentials(),
                                    client_options=ClientOptions(api_endpoint=env["BIGQUERY_EMULATOR_HOST"]))


@functools.cache
def _emulator_client_class():
    """The client for the emulator. BigQuery's client retries a failed call for up to 10 minutes, without a word,
    which is right for Google's transient errors; on the emulator a 500 is a gap that does not heal (deleting a view
    as a table, for one), so a call gives up after :data:`EMULATOR_RETRY_SECONDS` with the emulator's error."""
    from google.cloud import bigquery

    class EmulatorClient(bigquery.Client):
        def _call_api(self, retry, *args, **kwargs):  # every API request (a job's polling included)
            if retry is not None:
                retry = retry.with_timeout(EMULATOR_RETRY_SECONDS)
            return super()._call_api(retry, *args, **kwargs)

        def query(self, *args, **kwargs):  # a failed query job is not run again (BigQuery's default: 10 minutes)
            kwargs.setdefault("job_retry", None)
            return super().query(*args, **kwargs)

    return EmulatorClient


def is_emulator(bq) -> bool:
    return not bq._connection.API_BASE_URL.startswith(BIGQUERY_API)


def to_frame(result) -> pd.DataFrame:
    """Rows (a query job or a row iterator) as a DataFrame, without the BigQuery Storage API (see the module)."""
    import warnings

    rows = result.result() if hasattr(result, "result") else result
    with warnings.catch_warnings():
        # google-cloud-bigquery 3.3x points to pandas-gbq for DataFrames; to_dataframe() still works on both backends.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return rows.to_dataframe(create_bqstorage_client=False)


# --- SQL files ----------------------------------------------------------------------------------------------------
def sql_file(name: str) -> Path:
    path = SQL_DIR / (name if name.endswith(".sql") else f"{name}.sql")
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(SQL_DIR.glob("*.sql")))
        raise WarehouseError(f"no SQL file {path.name} in {SQL_DIR} (there are: {known})")
    return path


def render(text: str, params: dict[str, object]) -> str:
    """Fill ``${name}`` placeholders; a missing one is an error that names it."""
    try:
        return string.Template(text).substitute({k: str(v) for k, v in params.items()})
    except KeyError as exc:
        raise WarehouseError(f"the SQL needs a value for ${{{exc.args[0]}}}") from None


def statements(text: str) -> list[str]:
    """Split a file into statements at ``;`` ending a line (the course's files keep one statement per paragraph)."""
    parts = re.split(r";[ \t]*(?:\n|$)", text)
    return [p.strip() for p in parts if re.sub(r"--[^\n]*", "", p).strip()]


# --- external tables on the emulator ------------------------------------------------------------------------------
@dataclass
class ExternalTable:
    """What a ``CREATE EXTERNAL TABLE`` statement says."""

    name: str
    uris: list[str]
    format: str = "PARQUET"
    partition_columns: list[tuple[str, str]] | None = None  # None: no hive partitioning; []: names/types inferred
    replace: bool = False
    skip_leading_rows: int | None = None  # CSV: rows before the data (None: detected, as BigQuery's autodetect)


_EXTERNAL = re.compile(
    r"^\s*CREATE\s+(?P<replace>OR\s+REPLACE\s+)?EXTERNAL\s+TABLE\s+(?P<ifne>IF\s+NOT\s+EXISTS\s+)?(?P<name>`[^`]+`|\S+)"
    r"\s*(?P<partition>WITH\s+PARTITION\s+COLUMNS\s*(?:\((?P<columns>[^)]*)\))?)?\s*OPTIONS\s*\((?P<options>.*)\)\s*$",
    re.IGNORECASE | re.DOTALL)
_OPTION = re.compile(r"(\w+)\s*=\s*(\[[^\]]*\]|'[^']*'|\"[^\"]*\"|[\w.]+)", re.DOTALL)


def parse_external_table(ddl: str) -> ExternalTable | None:
    """The parts of a ``CREATE [OR REPLACE] EXTERNAL TABLE`` statement, or None for any other statement."""
    ddl = re.sub(r"--[^\n]*", "", ddl)
    match = _EXTERNAL.match(ddl)
    if not match:
        return None
    options = {}
    for key, value in _OPTION.findall(match["options"]):
        if value.startswith("["):
            options[key.lower()] = re.findall(r"'([^']*)'|\"([^\"]*)\"", value)
            options[key.lower()] = [a or b for a, b in options[key.lower()]]
        else:
            options[key.lower()] = value.strip("'\"")
    if "uris" not in options:
        raise WarehouseError("CREATE EXTERNAL TABLE needs OPTIONS (uris = ['gs://...'])")
    columns = None
    if match["partition"]:
        columns = []
        for item in (match["columns"] or "").split(","):
            if item.strip():
                col, kind = item.split()
                columns.append((col, kind.upper()))
    skip = options.get("skip_leading_rows")
    return ExternalTable(match["name"].strip("`"), options["uris"], str(options.get("format", "PARQUET")).upper(),
                         columns, bool(match["replace"]), int(skip) if skip is not None else None)


def local_glob(uri: str, gcs_root: Path | str, fmt: str = "PARQUET") -> str:
    """Where the emulator's DuckDB finds the files of a BigQuery URI, as one DuckDB glob (see :func:`local_globs`,
    which this is when one glob says it)."""
    found = local_globs(uri, gcs_root, fmt)
    if len(found) != 1:
        raise WarehouseError(f"{uri}: the files of this URI take {len(found)} DuckDB globs: use local_globs()")
    return found[0]


def local_globs(uri: str, gcs_root: Path | str, fmt: str = "PARQUET") -> list[str]:
    """Where the emulator's DuckDB finds the files of a BigQuery URI: DuckDB globs, one or two.

    ``gs://bucket/path`` is ``<gcs_root>/bucket/path`` (the GCS emulator's folder); a path or ``file://`` URL is
    itself. BigQuery allows one ``*`` anywhere in the object name, and it matches any characters, ``/`` included;
    DuckDB's ``*`` stops at ``/`` (see :func:`_wildcard`). A URI ending with the wildcard reads ``.parquet`` files."""
    if uri.startswith("gs://"):
        relative = uri[len("gs://"):]
        root = Path(gcs_root).resolve()
        if not relative or relative.startswith("/") or ".." in relative.split("/"):
            raise WarehouseError(f"{uri}: not a gs://bucket/path URI")
        path = f"{root}/{relative}"
    elif uri.startswith("file://"):
        path = uri[len("file://"):]
    elif "://" in uri:
        raise WarehouseError(f"{uri}: the emulator reads gs:// URIs (mapped to the GCS emulator) or local paths")
    else:
        path = str(Path(uri).expanduser())
    if "'" in path:
        raise WarehouseError(f"{uri}: quotes are not allowed in a path")
    return _wildcard(path, fmt, present=_matches_a_file)


def _matches_a_file(pattern: str) -> bool:
    import duckdb

    with duckdb.connect() as con:
        return bool(con.execute("SELECT count(*) FROM glob(?)", [pattern]).fetchone()[0])


def _wildcard(path: str, fmt: str = "PARQUET", present=None) -> list[str]:
    """BigQuery's one ``*`` (any characters, ``/`` included) as DuckDB globs, whose ``*`` stays inside a folder
    and whose ``**`` is any number of whole folders.

    - ``*`` starting a folder name (``gs://b/yellow/*``, ``gs://b/*.parquet``): one glob, ``**/*`` (any depth);
    - ``*`` inside a name (``gs://b/yellow_tripdata_2024-*.parquet``, DEZ's homework): the names the wildcard
      keeps in one folder (``..._2024-*.parquet``) and those it continues into folders (``..._2024-*/**/*.parquet``).
      DuckDB fails on a glob that matches no file, so only the globs that match are kept (``present``); when
      neither does, the first, so that DuckDB's "No files found" names it."""
    if path.count("*") > 1:
        raise WarehouseError(f"{path}: BigQuery allows one * wildcard in a URI")
    if "*" not in path:
        return [path]
    head, tail = path.split("*")
    tail = tail or f".{fmt.lower()}"
    if head.endswith("/"):
        return [f"{head}**/*{tail}"]
    candidates = [f"{head}*{tail}", f"{head}*/**/*{tail}"]
    found = [c for c in candidates if present is None or present(c)]
    return found or candidates[:1]


def external_table_as_view(ddl: str | ExternalTable, gcs_root: Path | str) -> str:
    """The emulator's stand-in for an external table: ``CREATE OR REPLACE VIEW`` over ``read_parquet`` (or, for
    ``format = 'CSV'``, ``read_csv``, its header and types detected as BigQuery's autodetect does) of the mapped files
    (see :func:`local_globs`), hive partition columns typed as the DDL says."""
    table = parse_external_table(ddl) if isinstance(ddl, str) else ddl
    if table is None:
        raise WarehouseError("not a CREATE EXTERNAL TABLE statement")
    if table.format not in ("PARQUET", "CSV"):
        raise WarehouseError(f"the emulator's external tables read PARQUET or CSV, not {table.format}")
    files = ", ".join(f"'{g}'" for u in table.uris for g in local_globs(u, gcs_root, table.format))
    hive = table.partition_columns is not None
    select = "*"
    if table.partition_columns:
        names = ", ".join(c for c, _ in table.partition_columns)
        casts = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in table.partition_columns)
        select = f"* EXCEPT ({names}), {casts}"
    create = "CREATE OR REPLACE VIEW" if table.replace else "CREATE VIEW"
    options = f"hive_partitioning = {'true' if hive else 'false'}"
    if table.format == "CSV":
        if table.skip_leading_rows is not None:
            options += f", header = {'true' if table.skip_leading_rows else 'false'}"
        return (f"{create} `{table.name}` AS\nSELECT {select}\n"
                f"FROM read_csv([{files}], {options}, union_by_name = true)")
    return f"{create} `{table.name}` AS\nSELECT {select}\nFROM read_parquet([{files}], {options})"


# --- schemas and the course's warehouse ---------------------------------------------------------------------------
def tlc_schema(kind: str, extra: list[tuple[str, str]] | tuple = (), *, fmt: str = "parquet") -> list:
    """The BigQuery schema of a TLC type's ``parquet`` or ``csv`` files (from ``zoomcamp.datasets``: yellow's CSV
    files have no ``airport_fee``, fhvhv's have the 7 columns of the CSV era), plus ``extra`` columns."""
    from google.cloud import bigquery

    fields = [bigquery.SchemaField(c.name, BIGQUERY_TYPES[c.type]) for c in datasets.columns(kind, fmt=fmt)]
    return fields + [bigquery.SchemaField(name, kind_) for name, kind_ in extra]


class Warehouse:
    """The client plus the week's conventions: dataset, SQL files, the lake's URIs, and the gaps bridged."""

    def __init__(self, settings: Settings | None = None, bq=None):
        self.settings = settings or get_settings()
        self.client = bq or client(self.settings)
        self.emulator = is_emulator(self.client)
        self.project = self.client.project
        self.dataset = self.settings.bq_dataset
        self.lake = (self.settings.lake_url or f"gs://{self.settings.gcs_bucket or DEFAULT_BUCKET}").rstrip("/")

    @property
    def gcs_root(self) -> Path:
        from .stack.gcs import Gcs

        return Gcs(self.settings).data_dir

    def params(self, **extra) -> dict[str, object]:
        return {"project": self.project, "dataset": self.dataset, "lake": self.lake, **extra}

    def table_id(self, name: str) -> str:
        return f"{self.project}.{self.dataset}.{name}"

    def create_dataset(self):
        from google.cloud import bigquery

        dataset = bigquery.Dataset(f"{self.project}.{self.dataset}")
        if not self.emulator:
            dataset.location = self.settings.gcp_region
        return self.client.create_dataset(dataset, exists_ok=True)

    def clear(self) -> list[str]:
        """Delete the dataset's models, tables and views (the dataset itself stays); says what went."""
        from google.api_core.exceptions import NotFound

        dataset = f"{self.project}.{self.dataset}"
        try:
            tables, models = list(self.client.list_tables(dataset)), list(self.client.list_models(dataset))
        except NotFound:
            tables, models = [], []
        removed = []
        for model in models:  # week 3's BigQuery ML model
            self.client.delete_model(f"{dataset}.{model.model_id}")
            removed.append(f"model {self.dataset}.{model.model_id}")
        for table in tables:
            table_id = f"{dataset}.{table.table_id}"
            if table.table_type == "VIEW":  # the emulator fails (HTTP 500) deleting a view as a table
                self.client.query(f"DROP VIEW `{table_id}`").result()
            else:
                self.client.delete_table(table_id)
            removed.append(f"{table.table_type.lower()} {self.dataset}.{table.table_id}")
        return removed

    def sql(self, name: str, **params) -> str:
        """A SQL file of ``week_3_warehouse/sql/`` with its placeholders filled in."""
        return render(sql_file(name).read_text(), self.params(**params))

    def run(self, name: str, *, job_config=None, **params):
        """Run every statement of a SQL file; returns the last query job (finished)."""
        job = None
        for statement in statements(self.sql(name, **params)):
            job = self.execute(statement, job_config=job_config)
        if job is None:
            raise WarehouseError(f"{name}: no SQL statement in the file")
        return job

    def query(self, name: str, **params) -> pd.DataFrame:
        """The rows of a SQL file's (last) statement as a DataFrame."""
        return to_frame(self.run(name, **params))

    def execute(self, statement: str, *, job_config=None):
        """One statement; on the emulator ``CREATE EXTERNAL TABLE`` becomes its stand-in view (see the module)."""
        if self.emulator and (external := parse_external_table(statement)) is not None:
            self._drop_unless_view(self._qualified(external.name))
            statement = external_table_as_view(external, self.gcs_root)
        job = self.client.query(statement, job_config=job_config)
        job.result()
        return job

    def _drop_unless_view(self, table_id: str) -> None:
        """A table of the same name (e.g. made through the API with an external configuration, which reads as empty
        there) would hide the stand-in view. A view is replaced by CREATE OR REPLACE VIEW itself: the emulator fails
        (HTTP 500) when asked to delete one as a table."""
        from google.api_core.exceptions import NotFound

        try:
            existing = self.client.get_table(table_id)
        except NotFound:
            return
        if existing.table_type != "VIEW":
            self.client.delete_table(table_id)

    def _qualified(self, name: str) -> str:
        parts = name.split(".")
        return ".".join([self.project] * (3 - len(parts)) + parts)

    def dry_run_bytes(self, name: str, **params) -> int | None:
        """Bytes BigQuery would scan for a SQL file's last statement (a free dry run); None on the emulator,
        which always reports 0."""
        from google.cloud import bigquery

        if self.emulator:
            return None
        statement = statements(self.sql(name, **params))[-1]
        job = self.client.query(statement, job_config=bigquery.QueryJobConfig(dry_run=True, use_query_cache=False))
        return job.total_bytes_processed

    def load_parquet(self, uris: str | list[str], table: str, kind: str, *, write_disposition: str = "WRITE_TRUNCATE",
                     hive_keys: tuple[str, ...] = ("year", "month"), schema_update_options=None):
        """A load job of the lake's parquet files into ``table``, with the TLC schema (see the module for why).

        ``hive_keys``: the ``key=value`` folders of the lake, loaded as INT64 columns (BigQuery's hive partitioning;
        on the emulator its DuckDB adds them by itself, in its own order, which the schema follows)."""
        from google.cloud import bigquery

        uris = [uris] if isinstance(uris, str) else list(uris)
        config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET,
                                        write_disposition=write_disposition)
        if schema_update_options:
            config.schema_update_options = schema_update_options
        if self.emulator:
            # DuckDB's globs for BigQuery's wildcard; a URI stays gs:// (the emulator maps it to the same folder).
            config.schema = tlc_schema(kind, self.hive_columns(uris, kind))
            uris = [g for u in uris for g in (self._gs_globs(u) if u.startswith("gs://")
                                               else local_globs(u, self.gcs_root))]
        else:
            config.schema = tlc_schema(kind)
            if hive_keys:
                options = bigquery.HivePartitioningOptions()
                options.mode = "CUSTOM"
                prefix = _hive_prefix(uris[0], hive_keys)
                options.source_uri_prefix = prefix + "/" + "/".join(f"{{{k}:INTEGER}}" for k in hive_keys)
                config.hive_partitioning = options
        job = self.client.load_table_from_uri(uris, self.table_id(table), job_config=config)
        job.result()
        return job

    def _gs_globs(self, uri: str) -> list[str]:
        """:func:`local_globs` of a gs:// URI, written as gs:// URIs again (what the emulator's load job takes)."""
        root = f"{Path(self.gcs_root).resolve()}/"
        return ["gs://" + g[len(root):] for g in local_globs(uri, self.gcs_root)]

    def hive_columns(self, uris: list[str], kind: str, hive_keys: tuple[str, ...] = ("year", "month")
                     ) -> list[tuple[str, str]]:
        """The columns a load of the lake's files adds from their ``key=value`` folders, in the table's order:
        BigQuery's hive partitioning adds ``hive_keys`` in that order; the emulator's DuckDB adds the folders it
        finds in its own order, which a load job's schema must follow."""
        if not self.emulator:
            return [(key, "INT64") for key in hive_keys]
        import duckdb

        files = [g for u in uris for g in local_globs(u, self.gcs_root)]
        names = {c.name for c in datasets.columns(kind)}
        with duckdb.connect() as con:
            described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files]).fetchall()
        return [(name, "INT64") for name, *_ in described if name not in names]

    def load_csv_file(self, path: Path | str, table: str, kind: str):
        """A load job from a CSV file on this machine (an upload, as ``bq load`` does), with the kind's CSV schema
        (the columns of its CSV files, in their order: BigQuery maps CSV fields by position). A header that is not
        that layout is refused before anything is sent (:class:`zoomcamp.datasets.BadFile`), where BigQuery would
        load values into the wrong columns or fail on a type. A ``.csv.gz`` goes to BigQuery as it is (it reads
        gzip); the emulator's DuckDB does not recognise an upload as gzip, so it is sent uncompressed there."""
        import gzip
        import shutil
        import tempfile

        from google.cloud import bigquery

        from .datasets.reading import header_names

        path = Path(path)
        header_names(path, kind)
        config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.CSV, skip_leading_rows=1,
                                        schema=tlc_schema(kind, fmt="csv"), write_disposition="WRITE_TRUNCATE")
        with contextlib.ExitStack() as stack:
            f = stack.enter_context(open(path, "rb"))
            if self.emulator and path.name.endswith(".gz"):
                plain = stack.enter_context(tempfile.TemporaryFile())
                with gzip.open(f) as unzipped:
                    shutil.copyfileobj(unzipped, plain)
                plain.seek(0)
                f = plain
            job = self.client.load_table_from_file(f, self.table_id(table), job_config=config)
        job.result()
        return job

    def create_partitioned_table(self, name: str, like: str, field: str, cluster_by: list[str] | None = None):
        """An empty table with ``like``'s schema, partitioned by day on ``field`` and clustered, declared through
        the API (what Terraform's ``google_bigquery_table`` does). Replaces an existing table of that name."""
        from google.cloud import bigquery

        table = bigquery.Table(self.table_id(name), schema=self.client.get_table(self.table_id(like)).schema)
        table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field=field)
        table.clustering_fields = cluster_by
        self.client.delete_table(table, not_found_ok=True)
        return self.client.create_table(table)

    def load_rows(self, table: str, rows: list[dict]) -> list:
        """Streaming inserts (``tabledata.insertAll``): rows are queryable at once; errors come back per row."""
        # A short timeout: the client retries server errors for 10 minutes by default.
        return self.client.insert_rows_json(self.table_id(table), rows, timeout=30)


def _hive_prefix(uri: str, keys: tuple[str, ...]) -> str:
    """``gs://b/yellow/*`` or ``gs://b/yellow/year=2021/...`` -> ``gs://b/yellow`` (where the key folders start)."""
    head = uri.split("*")[0]
    marker = re.search(rf"/{re.escape(keys[0])}=", head)
    return (head[:marker.start()] if marker else head).rstrip("/")


# --- measuring what a layout saves, locally ----------------------------------------------------------------------
def write_layout(table, folder: Path | str, *, partition_by: str | None = None, cluster_by: str | None = None,
                 row_group_size: int = 1000) -> list[Path]:
    """Write an Arrow table as parquet the way a warehouse stores a table: one file (no partitioning), or one folder
    per value of ``partition_by`` (``col=value/``); rows sorted by ``cluster_by`` inside each file, in row groups of
    ``row_group_size`` rows, so each group's min/max statistics cover a narrow range of the cluster column.
    Replaces whatever ``folder`` held."""
    import shutil

    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sort = [(partition_by, "ascending")] if partition_by else []
    if cluster_by:
        sort.append((cluster_by, "ascending"))
    if sort:
        table = table.sort_by(sort)
    if partition_by is None:
        pq.write_table(table, folder / "part-0.parquet", row_group_size=row_group_size)
    else:
        ds.write_dataset(table, folder, format="parquet", partitioning=[partition_by], partitioning_flavor="hive",
                         max_rows_per_group=row_group_size, min_rows_per_group=1,
                         basename_template="part-{i}.parquet", existing_data_behavior="overwrite_or_ignore")
    return sorted(folder.rglob("*.parquet"))


class CountingFileSystem:
    """A local filesystem for DuckDB that records every byte range DuckDB reads (``counted:///path``)."""

    def __new__(cls):
        from fsspec.implementations.local import LocalFileSystem

        class _Counting(LocalFileSystem):
            protocol = "counted"
            root_marker = "/"

            def __init__(self):
                super().__init__(skip_instance_cache=True)
                self.reads: list[tuple[str, int, int]] = []  # (path, start, end)

            @classmethod
            def _strip_protocol(cls, path):
                path = str(path)
                return LocalFileSystem._strip_protocol(path.removeprefix("counted://"))

            def _open(self, path, mode="rb", **kwargs):
                handle = super()._open(path, mode, **kwargs)
                reads, read = self.reads, handle.read

                def counted_read(n=-1):
                    start = handle.tell()
                    data = read(n)
                    reads.append((str(path), start, start + len(data)))
                    return data

                handle.read = counted_read
                return handle

        return _Counting()


def counted(path: Path | str) -> str:
    """A local path as DuckDB should name it for :func:`scan_profile` to count its reads."""
    return "counted://" + str(Path(path).resolve())


def scan_profile(sql: str, files: list[Path] | None = None) -> dict:
    """Run ``sql`` in a fresh DuckDB that reads ``counted://`` paths through a :class:`CountingFileSystem`, and report
    what it actually read from disk: bytes (all, and those inside row groups), files (of ``files``, the layout's
    files) and row groups whose data it touched. DuckDB skips a file when the folder names rule it out (partition
    pruning) and a row group when its min/max statistics do (what clustering makes effective); both show up here as
    data never read."""
    import duckdb
    import pyarrow.parquet as pq

    fs = CountingFileSystem()
    with duckdb.connect() as con:
        con.execute("SET enable_external_file_cache = false")  # count reads from disk, not DuckDB's cache
        con.register_filesystem(fs)
        result = con.execute(sql).fetchall()
    files = [Path(f).resolve() for f in files or []]
    groups_total = groups_read = data_bytes = 0
    files_read: set[str] = set()
    for file in files:
        meta = pq.read_metadata(file)
        # A read that ends at the end of the file is for the footer (a small file is read whole to get it): it
        # counts as metadata; row groups count as read when DuckDB comes back for their column chunks.
        size = file.stat().st_size
        ranges = [(start, end) for p, start, end in fs.reads if Path(p) == file and start < end < size]
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            chunks = [group.column(j) for j in range(group.num_columns)]
            starts = [c.dictionary_page_offset if c.has_dictionary_page else c.data_page_offset for c in chunks]
            first = min(starts)
            last = max(start + c.total_compressed_size for start, c in zip(starts, chunks, strict=True))
            groups_total += 1
            overlap = sum(max(0, min(end, last) - max(start, first)) for start, end in ranges)
            data_bytes += overlap
            if overlap:
                groups_read += 1
                files_read.add(str(file))
    return {"result": result, "bytes_read": sum(end - start for _, start, end in fs.reads),
            "data_bytes_read": data_bytes,  # of those, bytes inside row groups (the rest: footers, schema)
            "files_read": len(files_read), "files_total": len(files),
            "row_groups_read": groups_read, "row_groups_total": groups_total}


__all__ = ["CountingFileSystem", "ExternalTable", "Warehouse", "WarehouseError", "client", "counted",
           "external_table_as_view", "is_emulator", "local_glob", "local_globs", "parse_external_table", "render",
           "scan_profile", "sql_file", "statements", "tlc_schema", "to_frame", "write_layout"]
