"""What every local service has in common: the same small face, ports, state files, and errors.

A service (PostgreSQL now; the Kafka broker, the GCS emulator and the BigQuery stand-in later) is
a class with ``start() stop() status() env()``. Its files live in ``<home>/stack/<name>/`` and the
port it runs on is remembered in ``<home>/stack/<name>.json``, so every process (CLI, notebooks,
tests) finds the same server.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ..errors import CourseError
from ..settings import Settings, get_settings

LOCAL_HOST = "127.0.0.1"  # every service listens on the loopback only


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
        return claim_port(self.read_state().get("port"), self.default_port, owner=self.owner)

    def process_status(self, marker: str, answers: Callable[[int], bool], **details) -> ServiceStatus:
        """``status()`` for a service that is one process, its pid and port in the state file: stopped, running but
        not answering (``answers(port)`` is false), or running."""
        state = self.read_state()
        port, pid = state.get("port"), state.get("pid")
        details = {"host": LOCAL_HOST, "port": port, **details, "data_dir": str(self.data_dir),
                   "log": str(self.log_file)}
        if not process_alive(pid, marker):
            return ServiceStatus(self.name, False, "stopped", details)
        details.update(pid=pid, url=f"http://{LOCAL_HOST}:{port}")
        if not answers(port):
            return ServiceStatus(self.name, False, f"process {pid} runs but does not answer on {port}", details)
        return ServiceStatus(self.name, True, f"running on {LOCAL_HOST}:{port}", details)

    def start_process(self, command: list[str], answers: Callable[[int], bool], what: str, *, port: int,
                      timeout: float, env: dict[str, str] | None = None, cwd: Path | None = None,
                      skip: Callable[[str], bool] | None = None, **state) -> ServiceStatus:
        """``start()`` for a service that is one process: launch it, wait until ``answers(port)`` (else a
        :class:`StackError` with the end of its log), then remember its pid, port and ``state``."""
        process = launch(command, self.log_file, env=env, cwd=cwd)
        wait_until(lambda: answers(port), f"{self.name}: {what} on port {port}", process=process, log=self.log_file,
                   timeout=timeout, interval=0.1, lines=3, skip=skip)
        self.write_state(port=port, **state, pid=process.pid)
        status = self.status()
        status.message = f"started on {LOCAL_HOST}:{port}"
        return status

    def stop_process(self, marker: str) -> ServiceStatus:
        """``stop()`` for a service that is one process, its pid in the state file: SIGTERM, SIGKILL after a grace."""
        pid = self.read_state().get("pid")
        if not process_alive(pid, marker):
            status = self.status()
            status.message = f"not running ({status.message})"
            return status
        terminate(pid, marker)
        status = self.status()
        status.message = "stopped"
        return status

    @property
    def owner(self) -> str:
        """Who claims this service's ports (see :func:`claim_port`): one service in one home."""
        return str(self.state_file)


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
    """A port nobody listens on and no other course process has just claimed (see :func:`claim_port`)."""
    return claim_port()


# A port is free between the moment a service picks it and the moment its server listens on it, seconds later:
# two homes starting at once (two test workers, two students' checkouts) would both pick 5432. Picking is done
# under one machine-wide lock, and a picked port stays claimed for CLAIM_SECONDS (time enough for the slowest
# server to listen; after that, the port is simply not free) for everyone but its owner.
CLAIMS_FILE = Path(tempfile.gettempdir()) / "zoomcamp-ports.json"
CLAIM_SECONDS = 180.0


def _os_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _claims() -> Iterator[dict[str, dict]]:
    """The live claims (port -> owner, time) under the machine-wide lock; written back on exit."""
    try:
        lock = open(CLAIMS_FILE.with_suffix(".lock"), "a")  # noqa: SIM115
    except OSError:  # a temp folder we cannot write to: no claims, as before
        yield {}
        return
    with lock:
        with contextlib.suppress(OSError):
            os.chmod(lock.name, 0o666)  # every user of the machine shares it
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            claims = json.loads(CLAIMS_FILE.read_text())
        except (OSError, ValueError):
            claims = {}
        now = time.time()
        claims = {port: c for port, c in claims.items()
                  if isinstance(c, dict) and now - c.get("at", 0) < CLAIM_SECONDS}
        yield claims
        with contextlib.suppress(OSError):
            tmp = CLAIMS_FILE.with_name(f"{CLAIMS_FILE.name}.{os.getpid()}")
            tmp.write_text(json.dumps(claims))
            os.chmod(tmp, 0o666)
            os.replace(tmp, CLAIMS_FILE)


def claim_port(*candidates: int | None, owner: str | None = None, exclude: set[int] | frozenset = frozenset()) -> int:
    """The first candidate that is free and not claimed by another owner in the last CLAIM_SECONDS, else any free
    port; claimed for ``owner`` (a service in a home: ``Service.owner``; None: this call only)."""
    owner = owner or f"{os.getpid()}:{time.monotonic_ns()}"
    with _claims() as claims:
        def usable(port: int) -> bool:
            claim = claims.get(str(port))
            return port not in exclude and (claim is None or claim.get("owner") == owner) and port_is_free(port)

        port = next((c for c in candidates if c and usable(c)), None)
        while port is None:
            port = _os_free_port()
            port = port if usable(port) else None
        claims[str(port)] = {"owner": owner, "at": time.time()}
    return port


def process_alive(pid: int | None, marker: str) -> bool:
    """Whether ``pid`` is still the service's process (its command line names ``marker``): a recycled pid is not."""
    if not pid:
        return False
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
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


def kill(pid: int, marker: str, sig: int = signal.SIGKILL, wait: float = 30.0) -> int:
    """Send ``sig`` (SIGKILL: the hard way, no flush, no goodbye) and wait up to ``wait`` seconds for the process to
    be gone, as a lesson that kills a server means it; returns the pid."""
    os.kill(pid, sig)
    deadline = time.monotonic() + wait
    while process_alive(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def config_text(service: str, entries: dict[str, object], separator: str = "=") -> str:
    """A server's key-value configuration file (Java properties with ``=``, Flink's flat YAML with ``: ``), written
    anew at every start: a student's edit would be lost, so the file says who writes it."""
    lines = [f"# Written by zoomcamp (stack/{service}.py) at every start."]
    return "\n".join([*lines, *(f"{key}{separator}{value}" for key, value in entries.items()), ""])


def launch(command: list[str], log: Path, *, env: dict[str, str] | None = None,
           cwd: Path | None = None) -> subprocess.Popen:
    """Start a server process with its output appended to ``log``, in a session of its own: it outlives the
    command that started it (a notebook, the CLI), as a service should."""
    with open(log, "ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=cwd, start_new_session=True)


def log_tail(log: Path, lines: int = 1, skip: Callable[[str], bool] | None = None) -> str:
    """The end of a server's log for a one-line error: its last error lines if it has any, else its last lines,
    then where the whole log is."""
    try:
        text = [line[:300] for line in log.read_text(errors="replace").splitlines()
                if line.strip() and not (skip and skip(line))]
    except OSError:
        return f"no log ({log})"
    errors = [line for line in text if " ERROR " in line or "Exception" in line]
    return " | ".join((errors or text or ["empty log"])[-lines:]) + f" (log: {log})"


def wait_until(ready: Callable[[], bool], what: str, *, process: subprocess.Popen | None = None,
               alive: Callable[[], bool] | None = None, log: Path | None = None, timeout: float = 60.0,
               interval: float = 0.2, lines: int = 1, skip: Callable[[str], bool] | None = None) -> None:
    """Poll ``ready()`` until it holds. A server that exits first (``process`` ended, or ``alive()`` false) or is
    not ready within ``timeout`` is a :class:`StackError` naming ``what`` and the end of its ``log`` (see
    :func:`log_tail`); a process started here is killed on the way out, so a half-started server does not linger."""
    deadline = time.monotonic() + timeout
    while not ready():
        exited = process.poll() is not None if process else alive is not None and not alive()
        if exited or time.monotonic() > deadline:
            if process and not exited:
                process.kill()
                process.wait()
            why = "(it exited)" if exited else f"within {timeout:.0f} s"
            raise StackError(f"{what} did not start {why}: {log_tail(log, lines, skip) if log else 'no log'}")
        time.sleep(interval)


def answers(url: str, timeout: float = 2.0) -> bool:
    """A readiness probe: whether a server answers ``url`` with 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def http_json(url: str, *, method: str = "GET", body: dict | None = None, timeout: float = 5.0) -> tuple[int, object]:
    """One call to a server's HTTP API: (status, decoded JSON body, or the text when it is not JSON, or None when
    empty). An HTTP error status is returned, not raised; no answer at all raises OSError."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")
