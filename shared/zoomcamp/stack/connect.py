"""Kafka Connect: one worker in distributed mode on the course's Kafka, with Debezium's two plugins.

Started on demand (``zoomcamp stack up connect``, or ``stack.up(["connect"])`` in week 6's notebook 07), not by a
plain ``zoomcamp stack up``: it is one more JVM (~400 MB resident with two connectors) that only one lesson
needs. ``stack status`` shows it and ``stack down`` stops it like the other services.

Distributed mode even with one worker: connector configurations, source offsets and statuses live in three Kafka
topics (``zoomcamp-connect-*``), so a restarted (or killed) worker picks up where it was, and the REST API on
``127.0.0.1:<port>`` is the only way in (:mod:`zoomcamp.streaming.connect` wraps it). The plugins are the
``debezium-postgres`` and ``jdbc-sink`` bundles ``make setup`` resolved (:mod:`zoomcamp.jvm`), linked into
``<home>/stack/connect/plugins/``: Connect gives each plugin folder a class loader of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from .base import (
    Service,
    ServiceStatus,
    StackError,
    config_text,
    http_json,
    kill,
    launch,
    log_tail,
    process_alive,
    terminate,
)
from .kafka import LOG4J as KAFKA_LOG4J
from .kafka import QUICK_JVM, Kafka, archive_options

HOST = "127.0.0.1"
HEAP = "256m"  # measured: ~160 MB resident idle, ~410 MB with two connectors after streaming 10,000 rows
START_TIMEOUT = 120.0
STOP_GRACE = 30.0
GROUP = "zoomcamp-connect"
PLUGINS = {  # folder under plugins/ -> the bundle it links to, and the connector class Connect must find there
    "debezium-postgres": "io.debezium.connector.postgresql.PostgresConnector",
    "jdbc-sink": "io.debezium.connector.jdbc.JdbcSinkConnector",
}


def worker_properties(bootstrap: str, port: int, plugins: Path) -> str:
    return config_text("connect", {
        "bootstrap.servers": bootstrap,
        "group.id": GROUP,
        # Where a distributed worker keeps its state: in Kafka, so it survives the worker.
        "config.storage.topic": f"{GROUP}-configs",
        "offset.storage.topic": f"{GROUP}-offsets",
        "status.storage.topic": f"{GROUP}-status",
        "config.storage.replication.factor": -1,  # -1: the brokers' default (1 broker: 1; 3 brokers: 3)
        "offset.storage.replication.factor": -1,
        "status.storage.replication.factor": -1,
        "offset.storage.partitions": 5,
        "status.storage.partitions": 1,
        # JSON with its schema in every message: the JDBC sink needs the schema to create and fill typed columns.
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "true",
        "value.converter.schemas.enable": "true",
        "listeners": f"http://{HOST}:{port}",
        "rest.advertised.host.name": HOST,
        "rest.advertised.port": port,
        "plugin.path": plugins,
        # Find plugins through their ServiceLoader manifests (Debezium ships them) instead of scanning every class of
        # every jar: measured 35 s of a 40 s start on 2 busy cores.
        "plugin.discovery": "service_load",
        # Source offsets and sink commits every 2 s (default 60 s): a killed worker repeats at most ~2 s of work.
        "offset.flush.interval.ms": 2000,
        # One worker: tasks of a worker that vanished have nowhere else to wait for it (default: 5 minutes).
        "scheduled.rebalance.max.delay.ms": 0,
        # A killed worker (or sink consumer) holds its group until its session expires: 6 s, the brokers' minimum,
        # instead of 10 s (workers) and 45 s (sink consumers).
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 2000,
        "consumer.session.timeout.ms": 6000,
        "consumer.heartbeat.interval.ms": 2000,
    })


# Kafka's own logging setup (console, quiet configuration dumps), plus the worker's noisy parts.
LOG4J = KAFKA_LOG4J + """\
# Plugin scanning is long and says nothing a student needs.
logger.scan.name = org.apache.kafka.connect.runtime.isolation
logger.scan.level = WARN
# Debezium's CloudEventsConverter (not used here) can call a JsonConverter method its Kafka lacks: the scanner
# logs two long stack traces at every start and carries on. The health check still proves both connectors loaded.
logger.scanner.name = org.apache.kafka.connect.runtime.isolation.PluginScanner
logger.scanner.level = OFF
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
logger.hibernate.name = org.hibernate
logger.hibernate.level = WARN
logger.c3p0.name = com.mchange
logger.c3p0.level = WARN
"""


def rest(port: int, method: str, path: str, body: dict | None = None, timeout: float = 10.0) -> tuple[int, object]:
    """One REST call to a worker: (HTTP status, decoded JSON body or None). Connection errors raise OSError."""
    return http_json(f"http://{HOST}:{port}{path}", method=method, body=body, timeout=timeout)


def plugin_classes(port: int) -> set[str]:
    """The connector classes the worker on ``port`` offers (empty when it does not answer)."""
    try:
        status, body = rest(port, "GET", "/connector-plugins", timeout=3)
    except OSError:
        return set()
    return {p["class"] for p in body} if status == 200 and isinstance(body, list) else set()


class Connect(Service):
    name = "connect"
    default_port = 8083

    @property
    def log_file(self) -> Path:
        return self.folder / "worker.log"

    @property
    def plugins_dir(self) -> Path:
        return self.folder / "plugins"

    @property
    def config_file(self) -> Path:
        return self.folder / "worker.properties"

    def _marker(self) -> str:
        return str(self.config_file)  # in the worker's command line: tells our process from a recycled pid

    def pid(self) -> int | None:
        pid = self.read_state().get("pid")
        return pid if process_alive(pid, self._marker()) else None

    def url(self) -> str | None:
        port = self.read_state().get("port")
        return f"http://{HOST}:{port}" if port else None

    # --- the service's face ---------------------------------------------------------------------------------
    def status(self) -> ServiceStatus:
        state = self.read_state()
        port, pid = state.get("port"), self.pid()
        details: dict = {"host": HOST, "port": port, "log": str(self.log_file), "data_dir": str(self.folder)}
        if not pid:
            return ServiceStatus(self.name, False, "stopped (started on demand: zoomcamp stack up connect)", details)
        details.update(pid=pid, url=f"http://{HOST}:{port}")
        found = plugin_classes(port)
        missing = [cls.rsplit(".", 1)[-1] for cls in PLUGINS.values() if cls not in found]
        if not found:
            return ServiceStatus(self.name, False, f"process {pid} runs but its REST API does not answer on {port} "
                                 "(starting, or see the log)", details)
        if missing:
            return ServiceStatus(self.name, False, f"running on {HOST}:{port} without {', '.join(missing)}", details)
        try:
            _, connectors = rest(port, "GET", "/connectors", timeout=3)
        except OSError:
            connectors = []
        details["connectors"] = sorted(connectors) if isinstance(connectors, list) else []
        return ServiceStatus(self.name, True, f"worker running on {HOST}:{port} "
                             f"({len(details['connectors'])} connectors)", details)

    def start(self) -> ServiceStatus:
        from .. import jvm

        current = self.status()
        if current.running:
            current.message = f"already running: {current.message}"
            return current
        if self.pid():  # alive but not (yet) answering: another start is under way, or it hangs
            return self._wait_ready(self.pid(), self.read_state()["port"], None)
        kafka = Kafka(self.settings)
        if not kafka.status().running:
            kafka.start()  # the worker keeps everything in Kafka: it cannot run without it
        bootstrap = kafka.bootstrap()
        java = jvm.java()
        classpath = jvm.classpath("kafka", self.settings)
        bundles = {name: jvm.bundle_dir(name, self.settings) for name in PLUGINS}
        port = self.choose_port(self.settings.connect_port)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.plugins_dir.mkdir(exist_ok=True)
        for name, target in bundles.items():  # links: the jars stay where make setup put them
            link = self.plugins_dir / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target, target_is_directory=True)
        self.config_file.write_text(worker_properties(bootstrap, port, self.plugins_dir))
        (self.folder / "log4j2.properties").write_text(LOG4J)
        command = [str(java), f"-Xms{HEAP}", f"-Xmx{HEAP}", *QUICK_JVM,  # the brokers' options, for the same reasons
                   *archive_options(classpath, self.settings),  # the brokers' class path: their archive fits
                   "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={self.folder / 'log4j2.properties'}",
                   "-cp", os.pathsep.join(str(p) for p in classpath),
                   "org.apache.kafka.connect.cli.ConnectDistributed", str(self.config_file)]
        started = time.monotonic()
        process = launch(command, self.log_file, cwd=self.folder)
        self.write_state(port=port, pid=process.pid)
        status = self._wait_ready(process.pid, port, process)
        status.message = f"started: {status.message} in {time.monotonic() - started:.1f} s"
        return status

    def _wait_ready(self, pid: int, port: int, process: subprocess.Popen | None) -> ServiceStatus:
        deadline = time.monotonic() + START_TIMEOUT
        while not set(PLUGINS.values()) <= plugin_classes(port):
            exited = process.poll() is not None if process else not process_alive(pid, self._marker())
            if exited:
                raise StackError(f"connect: the worker stopped while starting: {log_tail(self.log_file)}")
            if time.monotonic() > deadline:
                terminate(pid, self._marker(), grace=5)
                raise StackError(f"connect: the worker did not list both plugins on port {port} within "
                                 f"{START_TIMEOUT:.0f} s: {log_tail(self.log_file)}")
            time.sleep(0.2)
        return self.status()

    def stop(self) -> ServiceStatus:
        pid = self.pid()
        if not pid:
            status = self.status()
            status.message = "not running"
            return status
        # SIGTERM: the worker stops its tasks, flushes their offsets and leaves its group.
        terminate(pid, self._marker(), grace=STOP_GRACE)
        status = self.status()
        status.message = "stopped"
        return status

    def kill(self, sig: int = signal.SIGKILL) -> int:
        """Stop the worker the hard way (SIGKILL: no offset flush, no goodbye to its group); returns its pid."""
        pid = self.pid()
        if not pid:
            raise StackError("connect: the worker is not running (zoomcamp stack up connect)")
        return kill(pid, self._marker(), sig, wait=STOP_GRACE)

    def env(self) -> dict[str, str]:
        return {"CONNECT_URL": self.url()} if self.pid() and self.url() else {}
