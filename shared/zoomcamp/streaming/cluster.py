"""A 3-broker Kafka cluster of its own for the replication lesson (notebook 01), next to the student's broker.

>>> from zoomcamp.streaming import cluster
>>> lab = cluster.LabCluster()          # <home>/labs/replication: its own brokers, ports and data
>>> lab.start()                         # 3 brokers, replication factor 3, min.insync.replicas=2
>>> streaming.ensure_topic("rides-replicated", 6, 3, settings=lab.settings)
>>> lab.leaders("rides-replicated")     # partition, leader, replicas, in_sync
>>> lab.kill(2)                         # SIGKILL: no flush, no goodbye; the others carry on
>>> lab.restart(2); lab.wait_in_sync("rides-replicated")
>>> lab.stop()

Killing its brokers never disturbs the stack's broker (``stack.up()``): another home, other ports, other data.
Only the jars are shared (``jvm_dir``).
"""

from __future__ import annotations

import signal
import threading
import time

import pandas as pd

from ..errors import CourseError
from ..settings import Settings, get_settings
from ..stack.base import ServiceStatus, free_port
from ..stack.kafka import Kafka
from .broker import admin, describe_topic

LAB = "replication"


class ClusterError(CourseError, RuntimeError):
    """The lab cluster is not in the state asked for (e.g. the replicas did not catch up in time)."""


def lab_settings(settings: Settings | None = None, brokers: int = 3, name: str = LAB) -> Settings:
    """Settings whose Kafka is a cluster of ``brokers`` in ``<home>/labs/<name>`` (the jars of ``settings``)."""
    settings = settings or get_settings()
    return settings.replace(home=settings.home / "labs" / name, kafka_brokers=brokers, kafka_port=None,
                            kafka_bootstrap=None, jvm_dir=settings.jvm_path)


class LabCluster:
    """Start, break and mend a local Kafka cluster: ``start``, ``kill``, ``restart``, ``stop``, ``leaders``.
    Taught in week_6_streaming/01_kafka_basics.ipynb."""

    def __init__(self, settings: Settings | None = None, brokers: int = 3, name: str = LAB):
        self.settings = lab_settings(settings, brokers, name)
        self.kafka = Kafka(self.settings)

    # --- the cluster -------------------------------------------------------------------------------------------
    def start(self) -> ServiceStatus:
        """Start every broker (the ones down, if some run); idempotent. Not on 9092: that is the stack's."""
        if not self.kafka.brokers():  # a first start: pick a free first port instead of the usual 9092
            self.kafka.settings = self.settings.replace(kafka_port=free_port())
        return self.kafka.start()  # ready means consumer groups work (stack/kafka.py waits for that)

    def stop(self) -> ServiceStatus:
        """Stop every broker cleanly (its data stays for the next start)."""
        return self.kafka.stop()

    def status(self) -> ServiceStatus:
        return self.kafka.status()

    def brokers(self) -> pd.DataFrame:
        """``node_id, port, pid, running`` per broker."""
        rows = self.kafka.status().details.get("brokers", [])
        return pd.DataFrame(rows, columns=["node_id", "port", "pid", "running"]).set_index("node_id")

    @property
    def bootstrap(self) -> str:
        """``host:port,...`` of the brokers running now."""
        servers = self.kafka.bootstrap()
        if not servers:
            raise ClusterError("the lab cluster is not running: LabCluster().start()")
        return servers

    def client_settings(self, settings: Settings | None = None) -> Settings:
        """``settings`` (the student's: PostgreSQL and all) with Kafka = this cluster's running brokers."""
        return (settings or get_settings()).replace(kafka_bootstrap=self.bootstrap)

    # --- breaking and mending ------------------------------------------------------------------------------------
    def kill(self, node_id: int, sig: int = signal.SIGKILL) -> int:
        """Kill one broker (SIGKILL by default: a crash); returns its pid."""
        return self.kafka.kill_broker(node_id, sig)

    def restart(self, *node_ids: int) -> ServiceStatus:
        """Start killed brokers again, side by side: same ports, same data; they catch up from the leaders."""
        errors: list[BaseException] = []

        def start(node_id: int) -> None:
            try:
                Kafka(self.settings).start_broker(node_id)
            except BaseException as exc:  # raised below, in the caller's thread
                errors.append(exc)

        threads = []
        for node_id in node_ids:
            old = self._pid(node_id)
            threads.append(threading.Thread(target=start, args=(node_id,), daemon=True))
            threads[-1].start()
            # The next one only once this one's pid is in the state file: each start rewrites that file.
            while threads[-1].is_alive() and self._pid(node_id) == old:
                time.sleep(0.02)
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return self.status()

    def _pid(self, node_id: int) -> int | None:
        return next((b.get("pid") for b in self.kafka.brokers() if b["node_id"] == node_id), None)

    # --- what the cluster says -----------------------------------------------------------------------------------
    def describe(self) -> dict:
        """``describe_cluster()``: the controller and the brokers the cluster counts as alive."""
        with admin(self.settings) as client:
            return client.describe_cluster()

    def leaders(self, topic: str) -> pd.DataFrame:
        """Per partition: leader, replicas, in-sync replicas (ISR)."""
        return pd.DataFrame(describe_topic(topic, self.settings)["partitions"]).set_index("partition")

    def wait_for(self, topic: str, condition, what: str, timeout: float = 60.0) -> pd.DataFrame:
        """Describe ``topic`` until ``condition(leaders)`` holds; returns that description."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                leaders = self.leaders(topic)
                if condition(leaders):
                    return leaders
            except Exception:  # kafka-python between two metadata updates, or a broker going: ask again
                pass
            if time.monotonic() > deadline:
                raise ClusterError(f"{topic}: {what} did not happen within {timeout:.0f} s")
            time.sleep(0.2)

    def wait_for_leaders_off(self, topic: str, node_id: int, timeout: float = 60.0) -> pd.DataFrame:
        """Wait until no partition of ``topic`` is led by (or in sync on) broker ``node_id``."""
        return self.wait_for(topic, lambda t: not (t["leader"] == node_id).any()
                             and not t["in_sync"].map(lambda isr: node_id in isr).any(),
                             f"broker {node_id} leaving the leaders and in-sync replicas", timeout)

    def wait_in_sync(self, topic: str, timeout: float = 60.0) -> pd.DataFrame:
        """Wait until every replica of every partition of ``topic`` is in sync again (the ISR healed)."""
        def healed(t: pd.DataFrame) -> bool:
            return all(sorted(isr) == sorted(r) for isr, r in zip(t["in_sync"], t["replicas"], strict=True))

        return self.wait_for(topic, healed, "every replica back in sync", timeout)

    def __enter__(self) -> LabCluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
