"""Apache Kafka on this machine: one broker, or a cluster of several (``kafka_brokers``), in KRaft mode.

Every broker is also a controller (KRaft "combined" mode: no ZooKeeper, the brokers elect the metadata quorum
among themselves). The jars are the ``kafka`` bundle that ``make setup`` resolved from Maven Central
(:mod:`zoomcamp.jvm`); nothing is downloaded here. Each broker has its folder ``<home>/stack/kafka/broker-<id>/``
(``server.properties``, ``data/``, ``server.log``); the ports and pids are in ``<home>/stack/kafka.json``.

With 3 brokers, new topics get replication factor 3 and ``min.insync.replicas=2`` by default, and so do Kafka's
own topics (consumer offsets, transactions): one broker may die without losing or refusing acknowledged writes.

Any Kafka client (kafka-python, confluent-kafka, Quix Streams, Spark's and Flink's connectors, Kafka Connect)
talks to it at ``KAFKA_BOOTSTRAP_SERVERS`` (``zoomcamp stack env`` exports it). With ``kafka_bootstrap`` set, the
course uses that cluster instead (e.g. week 6's docker-compose cluster); nothing is started here then.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .base import (
    Service,
    ServiceStatus,
    StackError,
    claim_port,
    kill,
    launch,
    log_tail,
    port_is_free,
    process_alive,
    terminate,
)

HOST = "127.0.0.1"
HEAP = "384m"  # per broker: measured ~350 MB resident with this heap (a student laptop has 8 GB)
START_TIMEOUT = 90.0
STOP_GRACE = 30.0  # a broker's controlled shutdown moves its leaderships away first
# C1 only and the serial collector: a broker's start takes ~40% less CPU and a lesson's traffic ~50% less (measured
# on a 3-broker cluster); C2's peak speed and G1's short pauses only pay off under a load the course never makes.
QUICK_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
# The class-data sharing archive of the kafka bundle's JVMs (brokers, their storage format, Connect's worker: one class
# path), made by `make setup` (make_cds_archive): a broker's start takes ~1/3 less CPU (measured 2.7-3.1 -> 1.8-1.9
# CPU-s). Missing or made for another Java or class path: the JVMs start as usual.
CDS_ARCHIVE = "kafka"


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


def cluster_id() -> str:
    """A new cluster id in Kafka's format (what ``kafka-storage random-uuid`` prints). Like Kafka's own, never one
    that starts with "-": the storage tool would read it as an option."""
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found


def server_properties(node_id: int, ports: dict[int, tuple[int, int]], data_dir: Path) -> str:
    """The broker's configuration: ``ports`` maps every node id to its (client port, controller port)."""
    brokers = len(ports)
    client, controller = ports[node_id]
    voters = ",".join(f"{n}@{HOST}:{c}" for n, (_, c) in sorted(ports.items()))
    replicas = min(3, brokers)
    in_sync = 2 if brokers >= 3 else 1
    return "\n".join([
        "# Written by zoomcamp (stack/kafka.py) at every start: edit the settings, not this file.",
        "process.roles=broker,controller",
        f"node.id={node_id}",
        f"controller.quorum.voters={voters}",
        f"listeners=PLAINTEXT://{HOST}:{client},CONTROLLER://{HOST}:{controller}",
        f"advertised.listeners=PLAINTEXT://{HOST}:{client}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"log.dirs={data_dir}",
        f"default.replication.factor={replicas}",
        f"min.insync.replicas={in_sync}",
        f"offsets.topic.replication.factor={replicas}",
        f"transaction.state.log.replication.factor={replicas}",
        f"transaction.state.log.min.isr={in_sync}",
        f"share.coordinator.state.topic.replication.factor={replicas}",
        f"share.coordinator.state.topic.min.isr={in_sync}",
        "num.partitions=1",
        "group.initial.rebalance.delay.ms=0",  # a lone consumer starts at once (lessons, tests)
        "offsets.topic.num.partitions=10",  # Kafka's 50 is for big clusters: slower to start, nothing gained here
        "log.segment.bytes=67108864",
        "log.retention.check.interval.ms=1000",  # retention by timestamp within seconds (Kafka: every 5 min)
        # Fewer wake-ups while idle (a test session keeps a broker up for its whole length): thread pools sized for
        # one laptop's clients, not a data centre's, and the controller's "still here" no-op record every 5 s, not
        # every 0.5 s. An idle broker: 2.8 -> 1.7 CPU-s per 90 s (measured), its start 5.0 -> 4.3 CPU-s.
        "metadata.max.idle.interval.ms=5000",
        "num.network.threads=1",
        "num.io.threads=2",
        "background.threads=4",
        "group.coordinator.threads=1",
        "share.coordinator.threads=1",
        "",
    ])


LOG4J = """\
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
# The configuration dumps at start are long and say nothing a student needs.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
"""


class Kafka(Service):
    name = "kafka"
    default_port = 9092

    def __init__(self, settings=None):
        super().__init__(settings)
        self._started: dict[int, subprocess.Popen] = {}  # pid -> the process this object started
        self.broker_options: tuple[str, ...] = ()  # more JVM options for the brokers (make_cds_archive's)

    @property
    def external(self) -> str | None:
        return self.settings.kafka_bootstrap or None

    # --- where things are ------------------------------------------------------------------------------------
    def broker_folder(self, node_id: int) -> Path:
        return self.folder / f"broker-{node_id}"

    def broker_log(self, node_id: int) -> Path:
        return self.broker_folder(node_id) / "server.log"

    def _marker(self, node_id: int) -> str:
        """In the broker's command line (its config path): tells our process from a recycled pid."""
        return str(self.broker_folder(node_id) / "server.properties")

    def _alive(self, node_id: int, pid: int | None) -> bool:
        return process_alive(pid, self._marker(node_id))

    def brokers(self) -> list[dict]:
        """The brokers of the last start: ``node_id, port, controller_port, pid`` each."""
        return self.read_state().get("brokers", [])

    def bootstrap(self) -> str | None:
        """``host:port[,...]`` of the cluster in use, or None when the course's brokers are not running."""
        if self.external:
            return self.external
        live = [b for b in self.brokers() if self._alive(b["node_id"], b.get("pid"))]
        return ",".join(f"{HOST}:{b['port']}" for b in live) if live else None

    # --- the service's face -------------------------------------------------------------------------------------
    def status(self) -> ServiceStatus:
        if self.external:
            first = self.external.split(",")[0].strip()
            host, _, port = first.rpartition(":")
            details = {"bootstrap": self.external, "url": f"kafka://{self.external}"}
            if answers(host, int(port)):
                return ServiceStatus(self.name, True, f"external cluster at {self.external}", details)
            return ServiceStatus(self.name, False, f"external cluster at {self.external} does not answer "
                                 "(start it, or unset kafka_bootstrap to use the course's brokers)", details)
        brokers = []
        for b in self.brokers():
            alive = self._alive(b["node_id"], b.get("pid"))
            brokers.append({**b, "running": alive and answers(HOST, b["port"]),
                            "log": str(self.broker_log(b["node_id"]))})
        details: dict = {"host": HOST, "data_dir": str(self.folder), "brokers": brokers}
        if brokers:
            details["port"] = brokers[0]["port"]
        up = [b for b in brokers if b["running"]]
        if not brokers or not any(self._alive(b["node_id"], b.get("pid")) for b in brokers):
            return ServiceStatus(self.name, False, "stopped", details)
        servers = ",".join(f"{HOST}:{b['port']}" for b in up)
        details.update(bootstrap=servers, url=f"kafka://{servers}")
        if len(up) < len(brokers):
            down = [str(b["node_id"]) for b in brokers if not b["running"]]
            return ServiceStatus(self.name, bool(up), f"{len(up)} of {len(brokers)} brokers running "
                                 f"(broker {', '.join(down)} down)", details)
        what = "1 broker" if len(up) == 1 else f"{len(up)} brokers"
        return ServiceStatus(self.name, True, f"{what} running on {servers}", details)

    def start(self) -> ServiceStatus:
        if self.external:
            return self.status()  # not ours to start: docker compose up (or the cluster's owner) does that
        with self.exclusive():
            return self._start()

    def _start(self) -> ServiceStatus:
        current = self.status()
        wanted = self.settings.kafka_brokers
        if current.running and len(current.details["brokers"]) == wanted and \
                all(b["running"] for b in current.details["brokers"]):
            current.message = f"already running: {current.message}"
            return current
        if any(self._alive(b["node_id"], b.get("pid")) for b in self.brokers()):
            if len(self.brokers()) != wanted:
                raise StackError(f"kafka: {len(self.brokers())} broker(s) are running and kafka_brokers is {wanted}: "
                                 "stop them first (zoomcamp stack down kafka)")
            for b in self.brokers():  # a cluster with a broker down: start the ones that are down
                if not self._alive(b["node_id"], b.get("pid")):
                    self.start_broker(b["node_id"])
            return self.status()
        return self._start_cluster(wanted)

    def _start_cluster(self, count: int) -> ServiceStatus:
        from .. import jvm

        java = jvm.java()
        classpath = jvm.classpath("kafka", self.settings)
        state = self.read_state()
        if state.get("count") != count or not state.get("cluster_id"):
            # Another number of brokers is another quorum: start over (the topics of the old cluster go).
            for node_id in range(1, 6):
                folder = self.broker_folder(node_id)
                if folder.exists():
                    shutil.rmtree(folder)
            state = {"cluster_id": cluster_id(), "count": count}
        ports = self._choose_ports(count, state)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "log4j2.properties").write_text(LOG4J)
        for node_id in ports:
            folder = self.broker_folder(node_id)
            (folder / "data").mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
            (folder / "server.properties").write_text(server_properties(node_id, ports, folder / "data"))
        with ThreadPoolExecutor(max_workers=count) as pool:  # a JVM each: format them side by side
            list(pool.map(lambda n: self._format(java, classpath, n, state["cluster_id"]), ports))
        brokers = [{"node_id": n, "port": c, "controller_port": k, "pid": None} for n, (c, k) in ports.items()]
        self.write_state(cluster_id=state["cluster_id"], count=count, brokers=brokers)
        started = time.monotonic()
        try:
            for b in brokers:
                b["pid"] = self._spawn(java, classpath, b["node_id"])
                self.write_state(cluster_id=state["cluster_id"], count=count, brokers=brokers)
            self._wait_ready(brokers)
        except BaseException:
            for b in brokers:  # nothing left half-started
                if b["pid"]:
                    terminate(b["pid"], self._marker(b["node_id"]), grace=5)
            raise
        status = self.status()
        status.message = f"started {status.message.replace(' running', '')} in {time.monotonic() - started:.1f} s"
        return status

    def _choose_ports(self, count: int, state: dict) -> dict[int, tuple[int, int]]:
        """node id -> (client port, controller port): the first broker's port is ``kafka_port`` (or 9092 / the
        last one used, if free); the others are the ports of the last start if free, else free ones."""
        previous = {b["node_id"]: b for b in self.read_state().get("brokers", [])} \
            if state.get("count") == count else {}
        ports: dict[int, tuple[int, int]] = {}
        taken: set[int] = set()

        def pick(*candidates: int | None) -> int:
            port = claim_port(*candidates, owner=self.owner, exclude=taken)
            taken.add(port)
            return port

        for node_id in range(1, count + 1):
            old = previous.get(node_id, {})
            if node_id == 1:
                client = self.choose_port(self.settings.kafka_port) if self.settings.kafka_port is not None \
                    else pick(old.get("port"), self.default_port)
                taken.add(client)
            else:
                client = pick(old.get("port"))
            ports[node_id] = (client, pick(old.get("controller_port")))
        return ports

    def _java_command(self, java: Path, classpath: list[Path], main: str, *args: str, heap: str = HEAP) -> list[str]:
        return [str(java), f"-Xms{heap}", f"-Xmx{heap}", *QUICK_JVM, *archive_options(classpath, self.settings),
                "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={self.folder / 'log4j2.properties'}",
                "-cp", os.pathsep.join(str(p) for p in classpath), main, *args]

    def _format(self, java: Path, classpath: list[Path], node_id: int, cluster: str) -> None:
        """``kafka-storage format``: once per broker folder (a formatted one is left as it is)."""
        folder = self.broker_folder(node_id)
        if (folder / "data" / "meta.properties").is_file():
            return
        command = self._java_command(java, classpath, "kafka.tools.StorageTool", "format", "-t", cluster,
                                     "-c", str(folder / "server.properties"), "--ignore-formatted", heap="128m")
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        if done.returncode != 0:
            lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
            raise StackError(f"kafka: formatting broker {node_id}'s storage failed: {lines[-1] if lines else '?'}")

    def _spawn(self, java: Path, classpath: list[Path], node_id: int) -> int:
        folder = self.broker_folder(node_id)
        command = self._java_command(java, classpath, "kafka.Kafka", str(folder / "server.properties"))
        command[1:1] = self.broker_options
        process = launch(command, self.broker_log(node_id), cwd=folder)
        self._started[process.pid] = process
        return process.pid

    def _wait_ready(self, brokers: list[dict], timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(brokers)
        while waiting:
            for b in list(waiting):
                process = self._started.get(b["pid"])
                if process.poll() is not None if process else not self._alive(b["node_id"], b["pid"]):
                    raise StackError(f"kafka: broker {b['node_id']} stopped while starting: "
                                     f"{log_tail(self.broker_log(b['node_id']))}")
                if answers(HOST, b["port"]):
                    waiting.remove(b)
            if waiting and time.monotonic() > deadline:
                raise StackError(f"kafka: broker {waiting[0]['node_id']} did not answer on port {waiting[0]['port']} "
                                 f"within {timeout:.0f} s: {log_tail(self.broker_log(waiting[0]['node_id']))}")
            if waiting:
                time.sleep(0.1)
        self._wait_for_coordinator(brokers, deadline)

    def _wait_for_coordinator(self, brokers: list[dict], deadline: float) -> None:
        """Until a consumer group can find its coordinator: the first request creates Kafka's ``__consumer_offsets``
        topic, and clients that come before it is ready get COORDINATOR_NOT_AVAILABLE (the admin client does not
        retry that). Ready means every client of the course can use groups at once."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        servers = [f"{HOST}:{b['port']}" for b in brokers]
        while True:
            try:
                client = KafkaAdminClient(bootstrap_servers=servers, client_id="zoomcamp-stack",
                                          request_timeout_ms=10_000)
                try:
                    client.describe_groups(["zoomcamp-stack-ready"])
                    return
                finally:
                    client.close()
            except KafkaError as exc:
                if time.monotonic() > deadline:
                    raise StackError(f"kafka: the brokers answer but consumer groups are not available ({exc})") \
                        from None
                time.sleep(0.2)

    def stop(self) -> ServiceStatus:
        if self.external:
            status = self.status()
            status.message = f"external cluster at {self.external}: not stopped from here"
            return status
        with self.exclusive():
            return self._stop()

    def _stop(self) -> ServiceStatus:
        running = [b for b in self.brokers() if self._alive(b["node_id"], b.get("pid"))]
        if not running:
            status = self.status()
            status.message = f"not running ({status.message})"
            return status
        # SIGTERM to all at once: each broker flushes its logs and closes cleanly (no acknowledged write is lost).
        # One by one, the last ones would wait for a controller quorum that has already gone.
        for b in running:
            os.kill(b["pid"], signal.SIGTERM)
        with ThreadPoolExecutor(max_workers=len(running)) as pool:
            list(pool.map(lambda b: terminate(b["pid"], self._marker(b["node_id"]), grace=STOP_GRACE), running))
        status = self.status()
        status.message = "stopped"
        return status

    def env(self) -> dict[str, str]:
        servers = self.bootstrap()
        return {"KAFKA_BOOTSTRAP_SERVERS": servers} if servers else {}

    # --- one broker at a time (week 6's replication lesson) -----------------------------------------------------
    def _broker(self, node_id: int) -> dict:
        for b in self.brokers():
            if b["node_id"] == node_id:
                return b
        raise StackError(f"kafka: there is no broker {node_id} (brokers: "
                         f"{', '.join(str(b['node_id']) for b in self.brokers()) or 'none'})")

    def kill_broker(self, node_id: int, sig: int = signal.SIGKILL) -> int:
        """Stop one broker the hard way (SIGKILL: no flush, no goodbye to the cluster) or with ``signal.SIGTERM``;
        returns its pid. The others carry on."""
        b = self._broker(node_id)
        if not self._alive(node_id, b.get("pid")):
            raise StackError(f"kafka: broker {node_id} is not running")
        return kill(b["pid"], self._marker(node_id), sig, wait=STOP_GRACE)

    def start_broker(self, node_id: int) -> ServiceStatus:
        """Start one broker of the cluster again (same ports, same data: it catches up with the others)."""
        from .. import jvm

        with self.exclusive():  # brokers restarted side by side each write their pid into the same state file
            b = self._broker(node_id)
            if self._alive(node_id, b.get("pid")):
                return self.status()
            if not port_is_free(b["port"]):
                raise StackError(f"kafka: broker {node_id}'s port {b['port']} is in use by another program")
            state = self.read_state()
            b["pid"] = self._spawn(jvm.java(), jvm.classpath("kafka", self.settings), node_id)
            for other in state["brokers"]:
                if other["node_id"] == node_id:
                    other["pid"] = b["pid"]
            self.write_state(**state)
        self._wait_ready([b])  # outside the lock: the others start meanwhile
        return self.status()


def archive_options(classpath: list[Path], settings) -> list[str]:
    """The JVM options that map the kafka bundle's class-data archive in; none when `make setup` did not make it."""
    from .. import jvm

    return jvm.archive_options(CDS_ARCHIVE, classpath, settings).split()


def make_cds_archive(settings) -> bool:
    """The class-data archive of the kafka bundle (False: it existed): the classes one broker loads while it starts
    (storage format aside), serves a consumer group, a producer and a consumer, and stops cleanly. In a folder of its
    own on a free port: a running stack is not touched."""
    from kafka import KafkaConsumer, KafkaProducer

    from .. import jvm
    from .base import free_port

    def run(option: str) -> None:
        with tempfile.TemporaryDirectory(prefix="kafka-cds-", dir=settings.jvm_path) as home:
            kafka = Kafka(settings.replace(home=Path(home), kafka_brokers=1, kafka_port=free_port(),
                                           kafka_bootstrap=None, jvm_dir=settings.jvm_path))
            kafka.broker_options = (option,)
            kafka.start()
            try:
                servers = kafka.bootstrap()
                producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
                for i in range(200):
                    producer.send("cds", key=str(i % 10).encode(), value=b"{}")
                producer.close()
                consumer = KafkaConsumer("cds", bootstrap_servers=servers, group_id="cds", auto_offset_reset="earliest",
                                         consumer_timeout_ms=3000)
                sum(1 for _ in consumer)
                consumer.commit()
                consumer.close()
            finally:
                kafka.stop()  # the JVM writes the archive as it exits

    return jvm.make_archive(CDS_ARCHIVE, jvm.classpath("kafka", settings), run, settings)
