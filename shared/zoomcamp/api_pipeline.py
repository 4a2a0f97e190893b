"""Week 2's rides API loaded with dlt: the REST API source, the course's three destinations, dlt's folders.

>>> from zoomcamp import api_pipeline
>>> info = api_pipeline.load("http://127.0.0.1:8090", "duckdb")     # or "postgres", or "lake" (parquet)
>>> api_pipeline.rides_table(api_pipeline.pipeline("duckdb"))        # the loaded rides, as a DataFrame

dlt keeps its pipelines' working folders and reads config from ``~/.dlt`` and ``./.dlt`` by default; here both are
under the course home (``settings.dlt_path``), so tests, students and instructors each get their own, and its
anonymous telemetry is off (the course runs offline). The pipeline's *state* (the incremental cursor) is also stored
in the destination itself (the ``_dlt_pipeline_state`` table): a fresh working folder restores it from there.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import CourseError
from .settings import Settings, get_settings

DESTINATIONS = ("duckdb", "postgres", "lake")
DATASET = "rides_api"
PIPELINE = "rides"
EPOCH = "1970-01-01T00:00:00Z"  # the incremental cursor's first value: every ride


class PipelineError(CourseError, RuntimeError):
    pass


def configure(settings: Settings | None = None) -> dict[str, str]:
    """Point dlt at the course home (before it reads any config) and return those variables (for ``dlt`` CLI runs)."""
    settings = settings or get_settings()
    folder = settings.dlt_path
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        "DLT_DATA_DIR": str(folder),  # pipelines/<name>/: state, schemas, load packages (default ~/.dlt)
        "DLT_PROJECT_DIR": str(folder),  # .dlt/config.toml and secrets.toml (default: the current directory)
        "RUNTIME__DLTHUB_TELEMETRY": "false",  # no anonymous usage events sent anywhere
        # dlt reads Airflow Variables as secrets when Airflow is installed (it is, for week 2): importing Airflow
        # costs ~30 s per process, and the course passes credentials explicitly.
        "PROVIDERS__ENABLE_AIRFLOW_SECRETS": "false",
    }
    os.environ.update(env)
    # The lake's gcsfs setting (see zoomcamp.lake) must hold before dlt imports gcsfs, too.
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    return env


def clear(settings: Settings | None = None) -> list[str]:
    """Remove dlt's folder under the home: pipelines' state (cursors), schemas, load packages, the DuckDB file."""
    import shutil

    folder = (settings or get_settings()).dlt_path
    if not folder.exists():
        return []
    shutil.rmtree(folder)
    return [str(folder)]


def source_config(base_url: str, *, page_size: int = 1_000, incremental: bool = True,
                  write_disposition: str = "merge") -> dict[str, Any]:
    """The REST API source's configuration: page-number pagination until an empty page, ``ride_id`` as primary key,
    ``updated_at`` as incremental cursor sent as ``since=`` (week 2's notebook 06 builds the same dict step by step)."""
    params: dict[str, Any] = {"page_size": page_size}
    if incremental:
        params["since"] = {"type": "incremental", "cursor_path": "updated_at", "initial_value": EPOCH}
    return {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            # The API answers a plain list and an empty one after the last page: no total to read.
            "paginator": {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": None},
        },
        "resource_defaults": {"primary_key": "ride_id", "write_disposition": write_disposition},
        "resources": [{"name": "rides", "endpoint": {"path": "rides", "params": params}}],
    }


def rides_source(base_url: str, **options):
    """dlt's REST API source over the rides API (see :func:`source_config`)."""
    configure()
    from dlt.sources.rest_api import rest_api_source

    return rest_api_source(source_config(base_url, **options))


def destination(kind: str, settings: Settings | None = None):
    """One of the course's destinations for dlt: ``duckdb`` (a file under the course home), ``postgres`` (the
    course's server, schema ``rides_api``) or ``lake`` (parquet under ``api/`` in the lake's bucket)."""
    settings = settings or get_settings()
    configure(settings)
    import dlt

    if kind == "duckdb":
        return dlt.destinations.duckdb(str(settings.dlt_path / "rides.duckdb"))
    if kind == "postgres":
        from . import db

        return dlt.destinations.postgres(db.url(settings, driver="postgresql"))
    if kind == "lake":
        from .lake import API, Lake, gcs_emulator

        lake = Lake(settings)
        options: dict[str, Any] = {}
        if lake.protocol == "gs://" and (endpoint := gcs_emulator(settings)):  # gcsfs's endpoint, no credentials
            from dlt.common.configuration.specs.gcp_credentials import (
                GcpDefaultCredentials,
                GcpServiceAccountCredentials,
            )
            from google.auth.credentials import AnonymousCredentials

            anonymous = GcpServiceAccountCredentials()
            # As "default" credentials they hand gcsfs no token of their own, so the "anon" token below is used.
            GcpDefaultCredentials.parse_native_representation(anonymous, AnonymousCredentials())
            options = {"credentials": anonymous, "kwargs": {"endpoint_url": endpoint, "token": "anon",
                                                            "project": settings.gcp_project or "zoomcamp"}}
        return dlt.destinations.filesystem(bucket_url=lake.uri(API) if lake.protocol else
                                           "file://" + lake.path(API), **options)
    raise PipelineError(f"unknown destination {kind!r}: choose one of {', '.join(DESTINATIONS)}")


def pipeline(kind: str = "duckdb", *, name: str | None = None, dataset: str = DATASET,
             settings: Settings | None = None):
    """A dlt pipeline to ``kind`` with its working folder under the course home (``<home>/dlt/pipelines/<name>``);
    ``name`` defaults to ``rides_<kind>``. The lake gets parquet files, the databases dlt's own inserts."""
    settings = settings or get_settings()
    configure(settings)
    import dlt

    return dlt.pipeline(pipeline_name=name or f"{PIPELINE}_{kind}", destination=destination(kind, settings),
                        dataset_name=dataset, pipelines_dir=str(settings.dlt_path / "pipelines"))


def load(base_url: str, kind: str = "duckdb", *, name: str | None = None, dataset: str = DATASET,
         settings: Settings | None = None, **options):
    """Extract, normalise and load the rides API into ``kind``: the second call loads only rides changed since.
    A failure (the API down, retries used up) is a :class:`PipelineError` naming the step; what was extracted stays
    in the pipeline's folder and the next run finishes it. Taught in week_2_ingestion/06_dlt.ipynb and
    07_incremental.ipynb."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    p = pipeline(kind, name=name, dataset=dataset, settings=settings)
    # Bulk files, not dlt's default INSERT statements: parquet for DuckDB and the lake, csv for PostgreSQL's COPY
    # (a load step 2-6x shorter here).
    file_format = {"lake": "parquet", "duckdb": "parquet", "postgres": "csv"}.get(kind)
    try:
        return p.run(rides_source(base_url, **options), loader_file_format=file_format)
    except PipelineStepFailed as exc:
        cause = exc.exception
        while cause.__cause__ is not None or cause.__context__ is not None:  # the root cause, said once
            cause = cause.__cause__ or cause.__context__
        raise PipelineError(f"pipeline {p.pipeline_name} failed at its {exc.step} step: "
                            f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}") from None


def rides_table(p, table: str = "rides"):
    """A loaded table as a DataFrame, read through dlt's dataset interface (the same on every destination)."""
    return p.dataset()[table].df()


def loaded_rows(info) -> dict[str, int]:
    """Rows one run wrote, per table, counted in the destination: the root table's rows carry the run's
    ``_dlt_load_id``, a child table's rows belong to those through ``_dlt_root_id``. (dlt 1.31's own count in the
    trace is wrong for csv files; the lake, which has no SQL of its own here, uses it all the same.)"""
    from dlt.common.schema.utils import get_root_table

    p = info.pipeline
    if not info.loads_ids:
        return {}
    if p.destination.destination_name == "filesystem":
        counts = p.last_trace.last_normalize_info.row_counts
        return {t: n for t, n in counts.items() if not t.startswith("_dlt") and n}
    ids = ", ".join(f"'{load_id}'" for load_id in info.loads_ids)
    schema, counts = p.default_schema, {}
    for table in schema.data_table_names():
        root = get_root_table(schema.tables, table)["name"]
        sql = (f"SELECT count(*) FROM {table} WHERE _dlt_load_id IN ({ids})" if root == table else
               f"SELECT count(*) FROM {table} c JOIN {root} r ON c._dlt_root_id = r._dlt_id "
               f"WHERE r._dlt_load_id IN ({ids})")
        n = p.dataset()(sql).fetchall()[0][0]
        if n:
            counts[table] = n
    return counts
