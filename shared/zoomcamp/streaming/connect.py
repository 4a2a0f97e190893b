"""Kafka Connect's REST API, the calls a notebook needs: create or replace a connector, its status, wait until it
runs, delete it (with its offsets). The worker is the stack's ``connect`` service (``zoomcamp stack up connect``).

>>> from zoomcamp.streaming import connect
>>> connect.put_connector("zones-source", {"connector.class": "io.debezium.connector.postgresql.PostgresConnector",
...                                       **connect.postgres_source("cdc", ["public.zones_cdc"], slot="zones")})
>>> connect.wait_running("zones-source")
>>> connect.delete_connector("zones-source")

Failures are one line (:class:`ConnectError`): an invalid configuration lists what Connect refused, a FAILED
connector or task gives the first line of its stack trace.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable

from .. import db
from ..errors import CourseError
from ..settings import Settings, get_settings
from ..stack import StackError
from ..stack.connect import Connect, rest
from ..stack.postgres import HOST as PG_HOST
from ..stack.postgres import Postgres

POSTGRES_SOURCE = "io.debezium.connector.postgresql.PostgresConnector"
JDBC_SINK = "io.debezium.connector.jdbc.JdbcSinkConnector"


class ConnectError(CourseError, RuntimeError):
    """A connector was refused, failed, or did not get to RUNNING; the message says which and why, in one line."""


def _port(settings: Settings | None) -> int:
    worker = Connect(settings or get_settings())
    if not worker.pid():
        raise StackError("the Kafka Connect worker is not running: start it with `zoomcamp stack up connect` "
                         '(stack.up(["connect"]) in a notebook)')
    return worker.read_state()["port"]


def _call(method: str, path: str, body: dict | None = None, settings: Settings | None = None,
          timeout: float = 30.0) -> tuple[int, object]:
    port = _port(settings)
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, reply = rest(port, method, path, body, timeout=timeout)
        except OSError as error:
            raise ConnectError(f"the Connect worker on port {port} does not answer ({error})") from None
        # 409: the worker is rebalancing (just started, or a connector was just added): ask again shortly.
        if status != 409 or time.monotonic() > deadline:
            return status, reply
        time.sleep(0.25)


def _message(reply: object) -> str:
    text = reply.get("message", "") if isinstance(reply, dict) else str(reply or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith("Connector configuration is invalid"):
        # "...contains the following 2 error(s):", the errors, then a pointer to the validate endpoint: keep the errors.
        errors = [line for line in lines[1:] if not line.startswith("You can also find")]
        return "invalid configuration: " + "; ".join(errors)
    return " ".join(lines)[:500] or "no message"


def _path(name: str) -> str:
    return f"/connectors/{urllib.parse.quote(name, safe='')}"


# --- connectors ---------------------------------------------------------------------------------------------------
def connectors(settings: Settings | None = None) -> list[str]:
    _, reply = _call("GET", "/connectors", settings=settings)
    return sorted(reply) if isinstance(reply, list) else []


def plugins(settings: Settings | None = None) -> list[str]:
    """The connector classes the worker can run (its plugin.path)."""
    _, reply = _call("GET", "/connector-plugins", settings=settings)
    return sorted(p["class"] for p in reply)


def put_connector(name: str, config: dict, settings: Settings | None = None) -> dict:
    """Create the connector, or replace its configuration if it exists (idempotent: the same config twice changes
    nothing). Returns the configuration the worker stored. Taught in week_6_streaming/07_kafka_connect.ipynb."""
    config = {k: str(v) for k, v in config.items()}  # Connect's REST API takes every value as a string
    status, reply = _call("PUT", f"{_path(name)}/config", config, settings)
    if status not in (200, 201):
        message = _message(reply)
        if "Failed to find any class that implements Connector" in message:
            raise ConnectError(f"connector {name!r}: no plugin {config.get('connector.class')} on this worker "
                               f"(it has: {', '.join(plugins(settings))})")
        errors = validation_errors({**config, "name": name}, settings) if config.get("connector.class") else []
        raise ConnectError(f"connector {name!r}: " + (f"invalid configuration: {'; '.join(errors)}" if errors
                                                       else message))
    return reply["config"]


def validation_errors(config: dict, settings: Settings | None = None) -> list[str]:
    """What the plugin's own validation refuses in ``config``, as ``setting: reason`` (empty when it accepts it).
    Asked separately: the worker's reply to a refused PUT can be a NullPointerException of its own instead of the
    list (Kafka 4.4 with Debezium 3.6, when a setting has no value object)."""
    plugin = urllib.parse.quote(config["connector.class"], safe="")
    status, reply = _call("PUT", f"/connector-plugins/{plugin}/config/validate",
                          {k: str(v) for k, v in config.items()}, settings)
    if status != 200 or not isinstance(reply, dict):
        return []
    return [f"{item['value']['name']}: {' '.join(error.strip() for error in item['value']['errors'])}"
            for item in reply.get("configs", []) if (item.get("value") or {}).get("errors")]


def connector_config(name: str, settings: Settings | None = None) -> dict:
    status, reply = _call("GET", f"{_path(name)}/config", settings=settings)
    if status == 404:
        raise ConnectError(f"there is no connector {name!r} (connectors: {', '.join(connectors(settings)) or 'none'})")
    return reply


def connector_status(name: str, settings: Settings | None = None) -> dict:
    """``{"connector": "RUNNING", "tasks": ["RUNNING"], "trace": None}``: the states, and the first line of the
    first failure's stack trace (None while nothing failed)."""
    status, reply = _call("GET", f"{_path(name)}/status", settings=settings)
    if status == 404 and name in connectors(settings):  # just created: no status written yet
        return {"connector": "UNASSIGNED", "tasks": [], "trace": None}
    if status == 404:
        raise ConnectError(f"there is no connector {name!r} (connectors: {', '.join(connectors(settings)) or 'none'})")
    parts = [reply["connector"], *sorted(reply.get("tasks", []), key=lambda t: t["id"])]
    traces = [p["trace"] for p in parts if p.get("state") == "FAILED" and p.get("trace")]
    return {"connector": reply["connector"]["state"], "tasks": [t["state"] for t in parts[1:]],
            "trace": traces[0].strip().splitlines()[0] if traces else None}


def wait_running(name: str, timeout: float = 60.0, settings: Settings | None = None) -> dict:
    """Wait until the connector and all its tasks are RUNNING (returns the status); a FAILED one is an error with
    its trace's first line."""
    deadline = time.monotonic() + timeout
    while True:
        state = connector_status(name, settings)
        if state["trace"] or "FAILED" in (state["connector"], *state["tasks"]):
            raise ConnectError(f"connector {name!r} failed: {state['trace'] or 'no trace'}")
        if state["connector"] == "RUNNING" and state["tasks"] and all(t == "RUNNING" for t in state["tasks"]):
            return state
        if time.monotonic() > deadline:
            raise ConnectError(f"connector {name!r} is not running after {timeout:.0f} s (connector "
                               f"{state['connector']}, tasks {state['tasks'] or 'none yet'})")
        time.sleep(0.2)


def connector_offsets(name: str, settings: Settings | None = None) -> list[dict]:
    """The offsets Connect has stored for the connector (GET /connectors/<name>/offsets): for a source, its own
    position (Debezium: the LSN); for a sink, its consumer group's per partition. Empty until the first flush."""
    status, reply = _call("GET", f"{_path(name)}/offsets", settings=settings)
    if status != 200:
        raise ConnectError(f"connector {name!r}: {_message(reply)}")
    return reply.get("offsets", [])


def delete_connector(name: str, offsets: bool = True, settings: Settings | None = None) -> bool:
    """Delete the connector; with ``offsets`` its stored offsets too (Kafka 3.6+: stop, delete offsets, delete),
    so a connector created again under that name starts from scratch. False if there was none."""
    if name not in connectors(settings):
        return False
    if offsets:
        _call("PUT", f"{_path(name)}/stop", settings=settings)
        deadline = time.monotonic() + 30
        while connector_status(name, settings)["connector"] != "STOPPED":
            if time.monotonic() > deadline:
                raise ConnectError(f"connector {name!r} did not stop within 30 s")
            time.sleep(0.2)
        status, reply = _call("DELETE", f"{_path(name)}/offsets", settings=settings)
        if status != 200:
            raise ConnectError(f"connector {name!r}: its offsets could not be deleted: {_message(reply)}")
    status, reply = _call("DELETE", _path(name), settings=settings)
    if status not in (200, 204, 404):
        raise ConnectError(f"connector {name!r} could not be deleted: {_message(reply)}")
    return True


# --- the course's PostgreSQL, as Debezium and the JDBC sink see it ------------------------------------------------
def require_logical_wal(settings: Settings | None = None) -> None:
    """Debezium decodes PostgreSQL's write-ahead log: the server must run with wal_level=logical."""
    level = db.query("SHOW wal_level", settings=settings)["wal_level"].item()
    if level != "logical":
        raise ConnectError(f"PostgreSQL runs with wal_level={level}; change data capture needs logical: restart it "
                           "with `zoomcamp stack down postgres && zoomcamp stack up postgres`")


def postgres_source(topic_prefix: str, tables: list[str], slot: str, settings: Settings | None = None) -> dict:
    """The part of a Debezium PostgreSQL source configuration that says where and what: the course's server,
    ``tables`` (``schema.table``), a replication slot and a publication of its own (``<slot>``)."""
    settings = settings or get_settings()
    server = Postgres(settings)
    return {
        "database.hostname": PG_HOST, "database.port": server.read_state()["port"],
        "database.user": settings.postgres_user, "database.password": server.password,
        "database.dbname": settings.postgres_db,
        "topic.prefix": topic_prefix, "table.include.list": ",".join(tables),
        "plugin.name": "pgoutput",  # PostgreSQL's own logical decoding output (no server extension to install)
        "slot.name": slot, "publication.name": slot,
        "publication.autocreate.mode": "filtered",  # a publication of just these tables
    }


def jdbc_connection(settings: Settings | None = None) -> dict:
    """``connection.*`` of a JDBC sink writing into the course's database."""
    settings = settings or get_settings()
    server = Postgres(settings)
    port = server.read_state()["port"]
    return {"connection.url": f"jdbc:postgresql://{PG_HOST}:{port}/{settings.postgres_db}",
            "connection.username": settings.postgres_user, "connection.password": server.password}


def drop_replication_slot(slot: str, timeout: float = 30.0, settings: Settings | None = None) -> bool:
    """Drop a replication slot and the publication of the same name (after deleting their connector: a slot keeps
    the server's WAL until it is read, forever). Waits while the slot is still held by a stopping connector."""
    deadline = time.monotonic() + timeout
    db.execute(f'DROP PUBLICATION IF EXISTS "{slot}"', settings=settings)
    while True:
        found = db.query("SELECT active FROM pg_replication_slots WHERE slot_name = :slot", {"slot": slot}, settings)
        if found.empty:
            return False
        if not found["active"].item():
            db.execute("SELECT pg_drop_replication_slot(:slot)", {"slot": slot}, settings)
            return True
        if time.monotonic() > deadline:
            raise ConnectError(f"replication slot {slot!r} is still in use: delete its connector first")
        time.sleep(0.2)


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "the condition") -> float:
    """Poll ``condition`` until it is true; returns the seconds it took (an error naming ``what`` after timeout)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise ConnectError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started
