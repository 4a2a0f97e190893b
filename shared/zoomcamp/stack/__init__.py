"""The local stack: every service the course runs on this machine, started and stopped together.

>>> from zoomcamp import stack
>>> stack.up()            # idempotent: a running service is left as it is
>>> stack.env()           # {"PGHOST": "127.0.0.1", "PGPORT": "5432", ...}
>>> stack.down()

Later weeks add their services to ``SERVICES`` (Kafka broker, BigQuery stand-in). Those in ``ON_DEMAND`` (the
Kafka Connect worker, the Flink and Spark clusters) are left out of a plain ``up()``: ``up(["connect"])`` starts them;
``status()`` and ``down()`` cover every service.
"""

from __future__ import annotations

from ..settings import Settings, get_settings
from .base import Service, ServiceStatus, StackError, claim_port, free_port, port_is_free
from .bigquery import BigQuery
from .connect import Connect
from .flink import Flink
from .gcs import Gcs
from .kafka import Kafka
from .postgres import Postgres
from .spark import Cluster as SparkCluster

# Started in this order, stopped in reverse.
SERVICES: dict[str, type[Service]] = {
    "postgres": Postgres,
    "gcs": Gcs,
    "bigquery": BigQuery,  # after gcs: its load jobs read the GCS emulator's files
    "kafka": Kafka,
    "connect": Connect,  # after kafka: a Connect worker keeps its state in Kafka topics
    "flink": Flink,  # a standalone Flink cluster for submitted jobs (its jobs read Kafka and write PostgreSQL)
    "spark": SparkCluster,  # week 5's standalone Spark cluster (a master and a worker) for spark-submit
}
# JVMs that only some week 6 lessons need (Connect ~400 MB: notebook 07; Flink's JobManager + TaskManager
# ~1.5 GB: submitted Flink jobs) and week 5's Spark cluster: started when named, not by a plain `stack up`.
ON_DEMAND = {"connect", "flink", "spark"}
DEFAULT_SERVICES = [name for name in SERVICES if name not in ON_DEMAND]

__all__ = ["DEFAULT_SERVICES", "ON_DEMAND", "SERVICES", "Service", "ServiceStatus", "StackError", "claim_port", "down",
           "env", "free_port", "get", "port_is_free", "status", "up"]


def get(name: str, settings: Settings | None = None) -> Service:
    if name not in SERVICES:
        raise StackError(f"unknown service {name!r}; the stack has: {', '.join(SERVICES)}")
    return SERVICES[name](settings or get_settings())


def _selected(names: list[str] | tuple[str, ...] | None, default: list[str] | None = None) -> list[str]:
    names = list(names or default or SERVICES)
    for name in names:
        get(name)  # validate every name before touching any service
    return [n for n in SERVICES if n in names]


def up(names=None, settings: Settings | None = None) -> list[ServiceStatus]:
    return [get(n, settings).start() for n in _selected(names, DEFAULT_SERVICES)]


def down(names=None, settings: Settings | None = None) -> list[ServiceStatus]:
    return [get(n, settings).stop() for n in reversed(_selected(names))]


def status(names=None, settings: Settings | None = None) -> list[ServiceStatus]:
    return [get(n, settings).status() for n in _selected(names)]


def env(names=None, settings: Settings | None = None) -> dict[str, str]:
    merged: dict[str, str] = {}
    for n in _selected(names):
        merged.update(get(n, settings).env())
    return merged
