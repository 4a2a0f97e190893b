"""A local BigQuery stand-in: bqemulator (a REST + gRPC emulator of BigQuery's API on DuckDB, from PyPI).

The official ``google-cloud-bigquery`` client talks to it when ``BIGQUERY_EMULATOR_HOST`` points at it
(``zoomcamp stack env`` exports it) and it is given anonymous credentials — :func:`zoomcamp.warehouse.client` does
both. Its DuckDB file lives in ``<home>/stack/bigquery/data`` (tables survive a restart). ``gs://bucket/path`` in a
load job reads ``<home>/stack/gcs/data/bucket/path``: the files the local GCS emulator keeps on disk.

It runs from the course's own virtual environment: its pins (duckdb 1.5.5, sqlglot < 30.12) agree with the
course's. Two things make it start offline:

- it loads DuckDB's ``spatial`` extension at start, which DuckDB would download. The ``duckdb-extension-spatial``
  wheel ships the file; it is installed once (``INSTALL '<path>'``) into an extension folder the stack owns, and the
  emulator runs with ``HOME`` there, so DuckDB finds it installed and downloads nothing;
- its best-effort ``avro`` extension (another download) is switched off: Avro loads are not used by the course.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from .base import (
    Service,
    ServiceStatus,
    StackError,
    answers,
    claim_port,
    port_is_free,
)

HOST = "127.0.0.1"


def emulator_version() -> str:
    try:
        from bqemulator import __version__
    except ImportError:
        raise StackError("the BigQuery emulator is not installed: `make setup` installs it "
                         "(pip install bqemulator==1.4.0)") from None
    return __version__


def spatial_extension_file() -> Path:
    """The spatial extension shipped by the ``duckdb-extension-spatial`` wheel, for this DuckDB version."""
    try:
        import duckdb
        import duckdb_extension_spatial
    except ImportError:
        raise StackError("the BigQuery emulator needs duckdb and duckdb-extension-spatial: `make setup` installs "
                         "them") from None
    folder = Path(duckdb_extension_spatial.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    found = sorted(folder.glob("spatial.duckdb_extension"))
    if not found:
        raise StackError(f"bigquery: duckdb-extension-spatial has no extension for DuckDB {duckdb.__version__} "
                         f"(looked in {folder}); reinstall with `make setup`")
    return found[0]


def _duckdb_platform() -> str:
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
    return f"{sys.platform.replace('darwin', 'osx')}_{machine}"


def _answers(port: int | None) -> bool:
    return bool(port) and answers(f"http://{HOST}:{port}/readyz")


PROCESS_MARKER = "bqemulator"  # in its command line: tells our process from a recycled pid


class BigQuery(Service):
    name = "bigquery"
    default_port = 9050
    default_grpc_port = 9060

    @property
    def home(self) -> Path:
        """The emulator's own HOME: DuckDB looks for installed extensions in ``$HOME/.duckdb/extensions``."""
        return self.folder / "home"

    def extension_dir(self) -> Path:
        return self.home / ".duckdb" / "extensions"

    def install_spatial(self) -> Path:
        """Install the wheel's spatial extension where the emulator's DuckDB looks (once; offline)."""
        import duckdb

        installed = self.extension_dir() / f"v{duckdb.__version__}" / _duckdb_platform() / "spatial.duckdb_extension"
        if installed.is_file():
            return installed
        source = spatial_extension_file()
        self.extension_dir().mkdir(parents=True, exist_ok=True)
        with duckdb.connect(config={"extension_directory": str(self.extension_dir())}) as con:
            con.execute(f"INSTALL '{source}'")
        if not installed.is_file():
            raise StackError(f"bigquery: installing {source.name} did not create {installed}")
        return installed

    def status(self) -> ServiceStatus:
        return self.process_status(PROCESS_MARKER, _answers, grpc_port=self.read_state().get("grpc_port"))

    def choose_port(self, configured: int | None) -> int:
        if configured is not None and not port_is_free(configured):
            raise StackError(f"bigquery: port {configured} is in use by another program. Stop that program, or "
                             "choose another port (ZOOMCAMP_BQ_PORT, or [bq] port in zoomcamp.toml)")
        return super().choose_port(configured)

    def _grpc_port(self, rest_port: int) -> int:
        return claim_port(self.read_state().get("grpc_port"), self.default_grpc_port, owner=self.owner,
                          exclude={rest_port})

    def start(self) -> ServiceStatus:
        emulator_version()  # installed, or a clear error
        current = self.status()
        if current.running:
            current.message = f"already running on {HOST}:{current.details['port']}"
            return current
        port = self.choose_port(self.settings.bq_port)
        grpc_port = self._grpc_port(port)
        self.install_spatial()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        from .gcs import Gcs

        env = {k: v for k, v in os.environ.items() if not k.startswith("BQEMU_")}  # a student's own BQEMU_* aside
        env.update(HOME=str(self.home), BQEMU_ENABLE_FORMAT_EXTENSIONS="false",
                   BQEMU_GCS_LOCAL_ROOT=str(Gcs(self.settings).data_dir))
        command = [sys.executable, "-m", "bqemulator", "start", "--rest-host", HOST, "--rest-port", str(port),
                   "--grpc-host", HOST, "--grpc-port", str(grpc_port), "--data-dir", str(self.data_dir),
                   "--project", self.settings.gcp_project or "zoomcamp", "--log-level", "warning",
                   "--log-format", "console"]
        # cwd: the emulator also reads a .bqemu.toml from its working folder; only the stack's own counts.
        return self.start_process(command, _answers, "the emulator", port=port, timeout=60, env=env, cwd=self.folder,
                                  skip=lambda line: "sql.translator.init" in line,  # a debug line: ~100 rule names
                                  grpc_port=grpc_port)

    def stop(self) -> ServiceStatus:
        return self.stop_process(PROCESS_MARKER)

    def env(self) -> dict[str, str]:
        if not self.status().running:
            return {}
        # Read by google-cloud-bigquery itself (with anonymous credentials, see zoomcamp.warehouse.client).
        return {"BIGQUERY_EMULATOR_HOST": f"http://{HOST}:{self.read_state()['port']}"}
