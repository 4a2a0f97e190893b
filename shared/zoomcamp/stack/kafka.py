"""A local Kafka broker: noida-db (a single binary from PyPI that speaks the Kafka protocol), one broker.

Any Kafka client (kafka-python, confluent-kafka, Quix Streams, Spark's connector) talks to it at
``KAFKA_BOOTSTRAP_SERVERS`` (``zoomcamp stack env`` exports it). Topics, consumer-group offsets and
producer state are kept in ``<home>/stack/kafka/data`` and survive a restart.

With ``kafka_bootstrap`` set (``ZOOMCAMP_KAFKA_BOOTSTRAP`` or ``[kafka] bootstrap`` in zoomcamp.toml) the
course uses that cluster instead, e.g. week 6's 3-broker docker-compose cluster; nothing is started here then.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import time
from pathlib import Path

from .base import Service, ServiceStatus, StackError, process_alive, terminate

HOST = "127.0.0.1"


def binary() -> Path:
    try:
        from importlib.resources import files

        path = Path(str(files("noida_db").joinpath("noida-db")))
    except ImportError:
        path = None
    if path is None or not path.is_file():
        raise StackError("the Kafka broker is not installed: `make setup` installs it (pip install noida-db)")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)  # wheels do not always keep the executable bit
    return path


def answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """Whether a Kafka broker answers on host:port: an ApiVersions request (what every client sends first)
    gets a reply with our correlation id and no error."""
    client_id = b"zoomcamp"
    request = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id  # ApiVersions v0, correlation id 7
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(struct.pack(">i", len(request)) + request)
            head = b""
            while len(head) < 10:
                chunk = s.recv(10 - len(head))
                if not chunk:
                    return False
                head += chunk
    except OSError:
        return False
    _, correlation_id, error = struct.unpack(">iih", head)
    return correlation_id == 7 and error == 0


PROCESS_MARKER = "noida-db"  # in its command line: tells our process from a recycled pid


def _alive(pid: int | None) -> bool:
    return process_alive(pid, PROCESS_MARKER)


class Kafka(Service):
    name = "kafka"
    default_port = 9092

    @property
    def external(self) -> str | None:
        return self.settings.kafka_bootstrap or None

    def bootstrap(self) -> str | None:
        """``host:port[,...]`` of the cluster in use, or None when the embedded broker is not running."""
        if self.external:
            return self.external
        port = self.read_state().get("port")
        return f"{HOST}:{port}" if port and self.status().running else None

    def status(self) -> ServiceStatus:
        if self.external:
            first = self.external.split(",")[0].strip()
            host, _, port = first.rpartition(":")
            details = {"bootstrap": self.external, "url": f"kafka://{self.external}"}
            if answers(host, int(port)):
                return ServiceStatus(self.name, True, f"external cluster at {self.external}", details)
            return ServiceStatus(self.name, False, f"external cluster at {self.external} does not answer "
                                 "(start it, or unset kafka_bootstrap to use the embedded broker)", details)
        state = self.read_state()
        port, pid = state.get("port"), state.get("pid")
        details = {"host": HOST, "port": port, "data_dir": str(self.data_dir), "log": str(self.log_file)}
        if not _alive(pid):
            return ServiceStatus(self.name, False, "stopped", details)
        details.update(pid=pid, url=f"kafka://{HOST}:{port}")
        if not answers(HOST, port):
            return ServiceStatus(self.name, False, f"process {pid} runs but does not answer on {port}", details)
        return ServiceStatus(self.name, True, f"running on {HOST}:{port}", details)

    def start(self) -> ServiceStatus:
        if self.external:
            return self.status()  # not ours to start: docker compose up (or the cluster's owner) does that
        executable = binary()
        current = self.status()
        if current.running:
            current.message = f"already running on {HOST}:{current.details['port']}"
            return current
        port = self.choose_port(self.settings.kafka_port)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [str(executable), "start", "--data-dir", str(self.data_dir), "--host", HOST,
                   "--only", "kafka", "--kafka-port", str(port)]
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)  # outlives the command that started it
        deadline = time.monotonic() + 20
        while not answers(HOST, port):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                tail = [line for line in self.log_file.read_text(errors="replace").strip().splitlines()
                        if "GLIBC" not in line][-3:]  # a harmless loader warning on older glibc
                raise StackError(f"kafka: the broker did not start on port {port}: {' | '.join(tail)}")
            time.sleep(0.1)
        self.write_state(port=port, pid=process.pid)
        status = self.status()
        status.message = f"started on {HOST}:{port}"
        return status

    def stop(self) -> ServiceStatus:
        if self.external:
            status = self.status()
            status.message = f"external cluster at {self.external}: not stopped from here"
            return status
        current = self.status()
        pid = self.read_state().get("pid")
        if not _alive(pid):
            current.message = f"not running ({current.message})"
            return current
        # Stop the Kafka service through noida's control port first, then the process. A bare SIGTERM was
        # measured to lose the writes acknowledged in its last ~0.2 s; this order lost none.
        executable = str(binary())
        for command in ("stop", "down"):
            if _alive(pid):
                args = [executable, command, *(["kafka"] if command == "stop" else []), "--data-dir",
                        str(self.data_dir)]
                subprocess.run(args, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        terminate(pid, PROCESS_MARKER, grace=1)
        status = self.status()
        status.message = "stopped"
        return status

    def env(self) -> dict[str, str]:
        servers = self.bootstrap()
        return {"KAFKA_BOOTSTRAP_SERVERS": servers} if servers else {}
