"""The data lake: TLC months as hive-partitioned parquet in a bucket (the local GCS emulator, real GCS) or a folder.

>>> from zoomcamp.lake import Lake
>>> lake = Lake()                          # where settings.lake_url / backend say
>>> lake.ingest("yellow", ["2021-01"])     # download or sample -> parquet -> gs://zoomcamp-lake/yellow/year=2021/month=01/
>>> lake.check()                           # which months are present, missing or damaged
>>> lake.crawl()                           # each dataset's schema and partitions (a Glue-crawler equivalent)

Layout: ``{type}/year=YYYY/month=MM/{type}_tripdata_YYYY-MM.parquet``, one file per month, with the course's full
schema whatever the source (CSV backup or TLC parquet). ``raw/{type}/`` holds the source files as downloaded, when
kept. Names starting with ``_`` are the lake's own bookkeeping, skipped by pyarrow, Spark and DuckDB globs alike:
``_manifests/`` (rows written per month, to detect damage; ``_pending/``: what a run is about to publish),
``_incoming/`` (uploads in flight), ``_quarantine/`` (malformed CSV lines, never dropped silently), ``_catalog/``
(what :meth:`Lake.register` recorded). ``api/`` holds what dlt loaded from week 2's rides API
(``zoomcamp.api_pipeline``), not a TLC dataset.

Publishing a month is safe to repeat and to interrupt: the parquet file is uploaded under a temporary name, then
copied to its final name (one atomic object write: readers see the old month or the new one, never half a file),
then the month's other objects and the temporary upload are removed.

The same code runs on every fsspec filesystem: gcsfs here, s3fs or adlfs by changing the URL (with that package
installed).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from . import datasets
from .datasets import Month, parse_months
from .datasets.blocks import to_parquet
from .errors import CourseError
from .settings import Settings, get_settings

# gcsfs 2026.3+ first tries a gRPC call to find "hierarchical namespace" buckets, on every bucket operation: against
# the emulator that is a 100 s stall. The course's buckets are flat; switch the probe off before gcsfs is imported.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

DEFAULT_BUCKET = "zoomcamp-lake"
RAW = "raw"  # raw/<type>/<source file>: the files as downloaded, when kept (ingest(keep_raw=True))
API = "api"  # api/<dataset>/<table>/...parquet: what dlt loads from APIs (zoomcamp.api_pipeline), not TLC months


class LakeError(CourseError, RuntimeError):
    pass


@dataclass
class Published:
    """One month written to the lake."""

    kind: str
    month: str
    path: str  # the object's URL
    rows: int
    bad_rows: int
    bytes: int
    seconds: float

    def __str__(self) -> str:
        text = (f"{self.kind} {self.month}: {self.rows:,} rows -> {self.path} "
                f"({self.bytes / 1e6:,.1f} MB, {self.seconds:.1f} s)")
        if self.bad_rows:
            text += f"; {self.bad_rows:,} malformed lines kept in _quarantine/"
        return text


@dataclass
class PartitionState:
    """What :meth:`Lake.check` found for one type and month."""

    kind: str
    month: str
    state: str  # present | missing | damaged
    rows: int | None = None
    expected_rows: int | None = None
    detail: str = ""


@dataclass
class DatasetInfo:
    """What :meth:`Lake.crawl` found for one dataset (a top-level folder of the lake)."""

    name: str
    schema: pa.Schema
    # one dict per partition: {"partition": "year=2021/month=01", "year": 2021, "month": 1, "files": 1, "rows": ..}
    partitions: list[dict] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(p["rows"] for p in self.partitions)


def gcs_emulator(settings: Settings) -> str | None:
    """The endpoint of the GCS emulator that ``gs://`` URLs go to, without credentials: the stack's with the local
    backend, ``gcs_endpoint`` with ``backend = "gcp"``; None = Google's GCS (Application Default Credentials)."""
    if settings.backend == "gcp":
        return settings.gcs_endpoint
    from .stack.gcs import Gcs

    env = Gcs(settings).env()
    if not env:
        raise LakeError("the lake is on the local GCS emulator, which is not running: "
                        "start it with `zoomcamp stack up` (or stack.up() in a notebook)")
    return env["STORAGE_EMULATOR_HOST"]


class Lake:
    """A data lake at ``settings.lake_url`` (see the module's description)."""

    def __init__(self, settings: Settings | None = None, *, url: str | None = None):
        self.settings = settings or get_settings()
        self.url = (url or self.settings.lake_url or "").rstrip("/")
        if not self.url:
            self.url = f"gs://{self.settings.gcs_bucket or DEFAULT_BUCKET}"
        self.fs, self.root = self._filesystem()

    # --- where things are ----------------------------------------------------------------------------
    def _filesystem(self):
        if self.url.startswith(("gs://", "gcs://")):
            bucket = self.url.split("://", 1)[1].split("/", 1)[0]
            endpoint = gcs_emulator(self.settings)
            if endpoint is None:  # real GCS, Application Default Credentials
                from google.auth.exceptions import DefaultCredentialsError

                try:
                    fs = _gcs_filesystem()(project=self.settings.gcp_project, token="google_default")
                except DefaultCredentialsError:
                    raise LakeError("backend = 'gcp' uses your Application Default Credentials, and there are none "
                                    "on this machine: run `gcloud auth application-default login` (no key file "
                                    "needed)") from None
            else:
                fs = _gcs_filesystem()(endpoint_url=endpoint, token="anon",
                                         project=self.settings.gcp_project or "zoomcamp")
            if not fs.exists(bucket):
                if self.settings.backend == "gcp":
                    raise LakeError(f"bucket {bucket} does not exist in project {self.settings.gcp_project}: "
                                    "create it with week 2's Terraform (terraform apply)")
                fs.mkdir(bucket)
            return fs, self.url.split("://", 1)[1]
        if "://" in self.url and not self.url.startswith("file://"):
            import fsspec

            try:
                return fsspec.core.url_to_fs(self.url)
            except (ImportError, ValueError) as exc:
                raise LakeError(f"cannot open the lake at {self.url}: {exc}") from None
        import fsspec

        folder = Path(self.url.removeprefix("file://")).expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return fsspec.filesystem("file", auto_mkdir=True), str(folder)

    @property
    def protocol(self) -> str:
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return "" if protocol in ("file", "local") else f"{'gs' if protocol == 'gcs' else protocol}://"

    def path(self, *parts: str) -> str:
        """A path inside the lake, as the filesystem names it (no ``gs://``)."""
        return "/".join([self.root, *parts])

    def uri(self, *parts: str) -> str:
        """A full URL (``gs://zoomcamp-lake/yellow``) or local path, for tools other than fsspec."""
        return self.protocol + self.path(*parts)

    def partition(self, kind: str, month: Month | str) -> str:
        month = Month.of(month)
        return self.path(kind, f"year={month.year:04d}", f"month={month.month:02d}")

    def object_path(self, kind: str, month: Month | str) -> str:
        month = Month.of(month)
        return f"{self.partition(kind, month)}/{kind}_tripdata_{month}.parquet"

    def _manifest_path(self, kind: str, month: Month) -> str:
        return self.path("_manifests", kind, f"{month}.json")

    def _pending_path(self, kind: str, month: Month) -> str:
        return self.path("_pending", kind, f"{month}.json")

    def _write_json(self, path: str, record: dict) -> None:
        if not self.protocol:
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with self.fs.open(path, "w") as f:
            json.dump(record, f)

    def _read_json(self, path: str) -> dict | None:
        try:
            with self.fs.open(path) as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    # --- writing ------------------------------------------------------------------------------------
    def fetch(self, kind: str, month: Month | str, fmt: str = "csv.gz") -> Path:
        """Step 1: the month's source file on this machine (downloaded or generated, by settings.data_source)."""
        check_trip_kind(kind)  # an unknown type fails here
        return datasets.trip_file(kind, Month.of(month), fmt, settings=self.settings)

    def convert(self, source: Path, kind: str, month: Month | str, *, progress: bool = False,
                handover: bool = True) -> tuple[Path, Path]:
        """Step 2: the source as a local parquet file with the schema's types (and a CSV of malformed lines,
        possibly empty). Both live in ``<home>/tmp`` until :meth:`publish` uploads them.

        Files a killed run left there are removed: at once when their process is gone (``handover=False``: this
        process publishes them itself, as :meth:`ingest` does), after a day otherwise (another process may still
        publish them: the Airflow DAG's upload task)."""
        month = Month.of(month)
        work = self.settings.home / "tmp"
        work.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(work)
        owner = "" if handover else f"{os.getpid()}-"  # a later run tells a killed run's files by the pid
        target = work / f"{kind}_tripdata_{month}.{owner}{uuid.uuid4().hex[:8]}.parquet"
        bad = target.with_suffix(".bad.csv")
        bad.unlink(missing_ok=True)
        to_parquet(Path(source), target, kind, bad_rows_to=bad, progress=progress)
        return target, bad

    def publish(self, parquet: Path, kind: str, month: Month | str, *, source: str = "",
                bad_rows: Path | None = None, progress: bool = False) -> Published:
        """Step 3: upload a month's parquet file and make it the month's only file, atomically (see the module).
        Taught in week_2_ingestion/02_data_lake.ipynb (the student's own upload first)."""
        month = Month.of(month)
        started = time.perf_counter()
        meta = pq.ParquetFile(parquet).metadata
        final = self.object_path(kind, month)
        incoming = self.path("_incoming", f"{kind}_{month}_{uuid.uuid4().hex}.parquet")
        self._remove(self.fs.glob(self.path("_incoming", f"{kind}_{month}_*")))  # left by an interrupted run
        record = {"rows": meta.num_rows, "bytes": parquet.stat().st_size, "bad_rows": 0, "source": source,
                  "written_at": datetime.now(UTC).isoformat(timespec="seconds")}
        # What is about to be published, written first: a run killed after the switch and before the manifest
        # leaves a month that check() can tell from a damaged one (its rows are the pending record's).
        pending = self._pending_path(kind, month)
        self._write_json(pending, record)
        self._put(parquet, incoming, progress)
        try:
            if self.protocol:
                self.fs.copy(incoming, final)  # server-side copy: the final object appears whole, or not at all
            else:
                self.fs.makedirs(self.partition(kind, month), exist_ok=True)
                self.fs.mv(incoming, final)  # a rename on one disk
            stale = [p for p in self.fs.find(self.partition(kind, month)) if p.rstrip("/") != final]
            self._remove(stale)
        finally:
            self._remove([incoming])
        n_bad = 0
        quarantine = self.path("_quarantine", kind, f"{kind}_tripdata_{month}.csv")
        if bad_rows is not None and bad_rows.is_file() and bad_rows.stat().st_size:
            n_bad = sum(1 for _ in bad_rows.open()) - 1  # minus the header
            self._put(bad_rows, quarantine, False)
        else:
            self._remove([quarantine])
        record["bad_rows"] = n_bad
        self._write_json(self._manifest_path(kind, month), record)
        self._remove([pending])
        return Published(kind, str(month), self.protocol + final, meta.num_rows, n_bad, record["bytes"],
                         time.perf_counter() - started)

    def ingest(self, kind: str, months, *, fmt: str = "csv.gz", keep_raw: bool = False,
               progress: bool = True) -> list[Published]:
        """fetch -> convert -> publish for each month; re-running a month replaces exactly that month. With
        ``keep_raw`` the source file is uploaded as it is to ``raw/<type>/`` first (the seed's "save to GCS").
        Taught in week_2_ingestion/02_data_lake.ipynb (the student's own lake first)."""
        check_trip_kind(kind)
        months = parse_months(months)
        results = []
        for month in months:
            source = self.fetch(kind, month, fmt)
            if keep_raw:
                self._put(source, self.path(RAW, kind, source.name), progress)  # one object: replaced whole
            parquet, bad = self.convert(source, kind, month, progress=progress, handover=False)
            try:
                results.append(self.publish(parquet, kind, month, source=source.name, bad_rows=bad,
                                            progress=progress))
            finally:
                parquet.unlink(missing_ok=True)
                bad.unlink(missing_ok=True)
        return results

    def remove(self, kind: str, month: Month | str | None = None) -> None:
        """Delete one month of a dataset (or the whole dataset) with its bookkeeping."""
        if month is None:
            self._remove([self.path(kind), self.path("_manifests", kind), self.path("_quarantine", kind),
                          self.path("_pending", kind), self.path("_catalog", f"{kind}.json")])
        else:
            month = Month.of(month)
            self._remove([self.partition(kind, month), self._manifest_path(kind, month),
                          self._pending_path(kind, month),
                          self.path("_quarantine", kind, f"{kind}_tripdata_{month}.csv")])

    def _put(self, local: Path, remote: str, progress: bool) -> None:
        from fsspec.callbacks import NoOpCallback, TqdmCallback

        callback = TqdmCallback(tqdm_kwargs={"desc": f"upload {local.name}", "unit": "B", "unit_scale": True,
                                             "leave": False}) if progress else NoOpCallback()
        self.fs.put_file(str(local), remote, callback=callback)

    def _remove(self, paths) -> None:
        for p in paths:
            if self.fs.exists(p):
                self.fs.rm(p, recursive=True)

    def clear(self) -> list[str]:
        """Remove every dataset and the bookkeeping (the bucket stays); says what went (their URLs)."""
        removed = []
        for entry in self.fs.ls(self.root, detail=False, refresh=True) if self.fs.exists(self.root) else []:
            self.fs.rm(entry, recursive=True)
            removed.append(self.protocol + entry)
        return removed

    # --- reading ------------------------------------------------------------------------------------
    def datasets(self) -> list[str]:
        """The lake's datasets: its top-level folders, bookkeeping (``_...``) left out."""
        if not self.fs.exists(self.root):
            return []
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.root, detail=False, refresh=True)]
        return sorted(n for n in names if not n.startswith(("_", ".")) and n not in (RAW, API)
                      and self.fs.isdir(self.path(n)))

    def months(self, kind: str) -> list[Month]:
        """The months that have a partition folder for ``kind``."""
        found = []
        for p in self.fs.glob(self.path(kind, "year=*", "month=*")):
            year, month = (part.split("=")[1] for part in p.rstrip("/").split("/")[-2:])
            found.append(Month(int(year), int(month)))
        return sorted(set(found), key=str)

    def manifest(self, kind: str, month: Month | str) -> dict | None:
        try:
            with self.fs.open(self._manifest_path(kind, Month.of(month))) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def arrow_filesystem(self):
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        return PyFileSystem(FSSpecHandler(self.fs))

    def dataset(self, kind: str):
        """A pyarrow dataset over one type's months, partition columns ``year`` and ``month`` included: filters
        on them read only the matching folders (partition pruning)."""
        import pyarrow.dataset as ds

        if kind not in self.datasets():
            raise LakeError(f"the lake has no {kind} data yet: `zoomcamp lake ingest {kind} 2021-01` writes a month")
        return ds.dataset(self.path(kind), filesystem=self.arrow_filesystem(), format="parquet",
                          partitioning="hive", exclude_invalid_files=False)

    def duckdb(self, connection=None):
        """A DuckDB connection that reads the lake's URLs (``read_parquet(lake.glob('yellow'))``)."""
        import duckdb

        connection = connection or duckdb.connect()
        if self.protocol:
            connection.register_filesystem(self.fs)
        return connection

    def read_parquet_sql(self, kind: str) -> str:
        """The DuckDB table expression of one type, partition columns typed as integers."""
        return (f"read_parquet('{self.glob(kind)}', hive_partitioning = true, "
                "hive_types = {'year': INTEGER, 'month': INTEGER})")

    def glob(self, kind: str) -> str:
        """The pattern of one type's parquet files (bookkeeping folders excluded), for DuckDB or Spark."""
        return self.uri(kind, "year=*", "month=*", "*.parquet")

    # --- checking and cataloguing ---------------------------------------------------------------------
    def check(self, kinds: list[str] | None = None, months=None) -> list[PartitionState]:
        """Each type's months: present, missing or damaged. Taught in week_2_ingestion/03_exploration.ipynb.

        Expected months are the ones given, else every month from the type's first to its last in the lake or its
        manifests (a gap is a missing month). Damaged: a parquet footer that cannot be read, or a row count that
        differs from what the manifest says was written."""
        wanted = parse_months(months) or None
        kinds = kinds or sorted(set(self.datasets()) | set(self._manifest_kinds()))
        found: list[PartitionState] = []
        for kind in kinds:
            datasets.columns(kind)
            expected = wanted or _span(self.months(kind) + self._manifest_months(kind))
            for month in expected:
                found.append(self._check_month(kind, month))
        return found

    def _check_month(self, kind: str, month: Month) -> PartitionState:
        manifest = self.manifest(kind, month)
        expected = manifest["rows"] if manifest else None
        partition = self.partition(kind, month)
        files = [p for p in self.fs.find(partition) if p.endswith(".parquet")] if self.fs.exists(partition) else []
        if not files:
            detail = "written before (see _manifests/) but gone" if manifest else ""
            return PartitionState(kind, str(month), "missing", None, expected, detail)
        rows = 0
        for p in files:
            try:
                with self.fs.open(p, "rb") as f:
                    rows += pq.ParquetFile(f).metadata.num_rows
            except (pa.ArrowInvalid, OSError) as exc:
                return PartitionState(kind, str(month), "damaged", None, expected,
                                      f"{p.rsplit('/', 1)[-1]}: unreadable parquet footer ({exc})")
        if rows != expected:
            pending = self._read_json(self._pending_path(kind, month))
            if pending is not None and pending.get("rows") == rows:
                # The last run published this file and was stopped before it wrote the manifest: the month is
                # whole (the next ingest of it writes the manifest again).
                return PartitionState(kind, str(month), "present", rows, rows,
                                      "published; its manifest was not written (the run was stopped)")
        if expected is not None and rows != expected:
            return PartitionState(kind, str(month), "damaged", rows, expected,
                                  f"{rows:,} rows, the manifest says {expected:,}")
        return PartitionState(kind, str(month), "present", rows, expected, "" if manifest else "no manifest")

    def _manifest_kinds(self) -> list[str]:
        base = self.path("_manifests")
        if not self.fs.exists(base):
            return []
        return [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(base, detail=False)]

    def _manifest_months(self, kind: str) -> list[Month]:
        return [Month.parse(p.rsplit("/", 1)[-1].removesuffix(".json"))
                for p in self.fs.glob(self.path("_manifests", kind, "*.json"))]

    def leftovers(self) -> list[str]:
        """Temporary uploads left by interrupted runs (invisible to readers; the next ingest of the month removes
        them)."""
        return self.fs.glob(self.path("_incoming", "*")) if self.fs.exists(self.path("_incoming")) else []

    def crawl(self) -> list[DatasetInfo]:
        """Every dataset's schema (read from the parquet footers; differing schemas are unified, so drift shows up
        as a wider type or extra columns) and its partitions with file counts, rows and bytes."""
        found = []
        for name in self.datasets():
            files = sorted(p for p in self.fs.find(self.path(name)) if p.endswith(".parquet"))
            schemas, partitions = [], {}
            for p in files:
                with self.fs.open(p, "rb") as f:
                    meta = pq.ParquetFile(f).metadata
                schemas.append(meta.schema.to_arrow_schema())
                keys = dict(part.split("=", 1) for part in p[len(self.path(name)) + 1:].split("/")[:-1] if "=" in part)
                key = tuple(sorted(keys.items()))
                entry = partitions.setdefault(key, {"partition": "/".join(f"{k}={v}" for k, v in keys.items()),
                                                    **{k: int(v) if v.isdigit() else v for k, v in keys.items()},
                                                    "files": 0, "rows": 0, "bytes": 0})
                entry["files"] += 1
                entry["rows"] += meta.num_rows
                entry["bytes"] += self.fs.size(p)
            schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
            found.append(DatasetInfo(name, schema, [partitions[k] for k in sorted(partitions)]))
        return found

    def register(self, kind: str) -> dict:
        """Record a dataset's crawled schema and partitions in ``_catalog/{kind}.json`` — what a catalog (Glue, a
        BigQuery external table definition) keeps so query engines know the table without listing files."""
        info = next((d for d in self.crawl() if d.name == kind), None)
        if info is None:
            raise LakeError(f"the lake has no {kind} data to register")
        entry = {"name": kind, "location": self.uri(kind), "format": "parquet", "partitioning": "hive",
                 "columns": [{"name": f.name, "type": str(f.type)} for f in info.schema],
                 "partitions": info.partitions, "rows": info.rows,
                 "registered_at": datetime.now(UTC).isoformat(timespec="seconds")}
        with self.fs.open(self.path("_catalog", f"{kind}.json"), "w") as f:
            json.dump(entry, f, indent=2)
        return entry


def _gcs_filesystem():
    import gcsfs

    class GCSFileSystem(gcsfs.GCSFileSystem):
        """gcsfs with plain read-ahead: its default "adaptive" cache leaves background prefetch tasks that print
        "Task was destroyed but it is pending!" when Python exits."""

        def _open(self, path, mode="rb", **kwargs):
            kwargs["cache_type"] = kwargs.get("cache_type") or "readahead"
            return super()._open(path, mode, **kwargs)

    return GCSFileSystem


def check_trip_kind(kind: str) -> None:
    """Only trip types have months in the lake: an unknown one names those, with the closest as a suggestion."""
    import difflib

    if kind not in datasets.TRIP_TYPES:
        close = difflib.get_close_matches(kind, datasets.TRIP_TYPES, n=1)
        raise datasets.UnknownTaxiType(f"unknown taxi type {kind!r}" + (f" (did you mean {close[0]}?)" if close
                                       else "") + f"; the lake takes {', '.join(datasets.TRIP_TYPES)}")


LEFTOVER_SECONDS = 24 * 3600  # a file handed over between processes (Airflow's tasks) waits at most this long


def _remove_leftovers(work: Path, now: float | None = None) -> None:
    """Remove the files in ``<home>/tmp`` that killed runs left: those of a process that no longer runs (the pid
    is in the name), and any older than LEFTOVER_SECONDS."""
    now = time.time() if now is None else now
    for path in work.glob("*_tripdata_*.*"):  # <kind>_tripdata_<month>.<tag>.parquet and .<tag>.bad.csv
        tag = path.name.split(".")[1]  # "<pid>-<hex>" (ingest's own) or "<hex>" (handed over)
        pid = tag.split("-", 1)[0] if "-" in tag else ""
        try:
            old = now - path.stat().st_mtime > LEFTOVER_SECONDS
        except FileNotFoundError:
            continue
        if old or (pid.isdigit() and not _pid_alive(int(pid))):
            path.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _span(months: list[Month]) -> list[Month]:
    """Every month from the earliest to the latest of ``months`` (empty stays empty)."""
    if not months:
        return []
    ordered = sorted(set(months), key=str)
    out, current = [], ordered[0]
    while str(current) <= str(ordered[-1]):
        out.append(current)
        current = current.next()
    return out


__all__ = ["DEFAULT_BUCKET", "DatasetInfo", "Lake", "LakeError", "PartitionState", "Published"]
