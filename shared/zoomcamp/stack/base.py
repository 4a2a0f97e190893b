"""What every local service has in common: the same small face, ports, state files, and errors.

A service (PostgreSQL now; the Kafka broker, the GCS emulator and the BigQuery stand-in later) is
a class with ``start() stop() status() env()``. Its files live in ``<home>/stack/<name>/`` and the
port it runs on is remembered in ``<home>/stack/<name>.json``, so every process (CLI, notebooks,
tests) finds the same server.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ..errors import CourseError
from ..settings import Settings, get_settings


class StackError(CourseError, RuntimeError):
    """A service could not be started or stopped; the message says why and what to do."""


@dataclass
class ServiceStatus:
    name: str
    running: bool
    message: str = ""
    details: dict = field(default_factory=dict)  # host, port, pid, data folder, url ...

    def as_dict(self) -> dict:
        return {"name": self.name, "running": self.running, "message": self.message, **self.details}


class Service:
    """Base class: subclasses set ``name`` and implement start/stop/status/env."""

    name: ClassVar[str]
    default_port: ClassVar[int]

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()

    # The face every service shows -------------------------------------------------------------
    def start(self) -> ServiceStatus:
        raise NotImplementedError

    def stop(self) -> ServiceStatus:
        raise NotImplementedError

    def status(self) -> ServiceStatus:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """Connection settings as environment variables (empty when the service is not running)."""
        raise NotImplementedError

    # Shared plumbing --------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return self.settings.stack_path / self.name

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    @property
    def state_file(self) -> Path:
        return self.settings.stack_path / f"{self.name}.json"

    def read_state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def write_state(self, **state) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_file)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the service's lock file while starting or stopping it: two ``stack up`` at once (two notebooks, a
        notebook and the CLI) then start it once; the second finds it running."""
        self.settings.stack_path.mkdir(parents=True, exist_ok=True)
        with open(self.settings.stack_path / f"{self.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def choose_port(self, configured: int | None) -> int:
        """The configured port if it is free (else a clear error); unconfigured: the last port used,
        then the service's usual port, then any free port."""
        if configured is not None:
            if not port_is_free(configured):
                raise StackError(
                    f"{self.name}: port {configured} is in use by another program. Stop that program, or "
                    f"choose another port (ZOOMCAMP_{self.name.upper()}_PORT, or [{self.name}] port in zoomcamp.toml)"
                )
            return configured
        for candidate in (self.read_state().get("port"), self.default_port):
            if candidate and port_is_free(candidate):
                return candidate
        return free_port()


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As servers do: a port whose last connections linger in TIME_WAIT is free to listen on again.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_alive(pid: int | None, marker: str) -> bool:
    """Whether ``pid`` is still the service's process (its command line names ``marker``): a recycled pid is not."""
    if not pid:
        return False
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False


def terminate(pid: int, marker: str, grace: float = 10.0) -> None:
    """SIGTERM, up to ``grace`` seconds to exit, then SIGKILL."""
    if process_alive(pid, marker):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while process_alive(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    if process_alive(pid, marker):
        os.kill(pid, signal.SIGKILL)
