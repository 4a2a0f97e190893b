"""The course's schema registry (:class:`zoomcamp.streaming.avro.SchemaRegistry`) over HTTP, speaking the part of
Confluent's Schema Registry REST API that clients use to produce and consume Avro (DEZ's Avro example, with
``confluent_kafka.schema_registry`` on ``http://localhost:8081``):

- ``POST /subjects/{subject}/versions`` registers (compatibility checked: 409 when refused), returns the id;
- ``GET /schemas/ids/{id}``, ``GET /subjects``, ``GET /subjects/{subject}/versions``,
  ``GET /subjects/{subject}/versions/{version|latest}``;
- ``POST /compatibility/subjects/{subject}/versions/latest``; ``GET``/``PUT /config[/{subject}]``.

Schemas live in memory: a restart forgets them (as the in-process registry of week 6's notebook 04).
``zoomcamp schema-registry`` serves it in the foreground on 127.0.0.1:8081.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from .avro import IncompatibleSchema, SchemaError, SchemaRegistry

HOST = "127.0.0.1"
PORT = 8081  # Confluent's


class RegistryServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = PORT, host: str = HOST, registry: SchemaRegistry | None = None):
        self.registry = registry or SchemaRegistry()
        self.lock = threading.Lock()
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"


def _version(registered) -> dict:
    return {"subject": registered.subject, "version": registered.version, "id": registered.schema_id,
            "schema": json.dumps(registered.schema), "schemaType": "AVRO"}


class _Handler(BaseHTTPRequestHandler):
    server: RegistryServer

    def log_message(self, *args):
        pass

    def _send(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: int, message: str) -> None:
        self._send(status, {"error_code": code, "message": message})

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")

    def _route(self, method: str) -> None:
        path = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/") if p]
        registry = self.server.registry
        try:
            with self.server.lock:
                self._dispatch(method, path, registry)
        except IncompatibleSchema as exc:
            self._error(409, 409, str(exc))
        except SchemaError as exc:
            not_found = re.search(r"^no schema", str(exc))
            self._error(404 if not_found else 422, 40403 if not_found else 42201, str(exc))
        except (ValueError, KeyError) as exc:
            self._error(422, 42201, f"invalid request: {exc}")

    def _dispatch(self, method: str, path: list[str], registry: SchemaRegistry) -> None:
        match method, path:
            case "GET", ["subjects"]:
                self._send(200, registry.subjects())
            case "GET", ["schemas", "ids", schema_id]:
                self._send(200, {"schema": json.dumps(registry.schema(int(schema_id))), "schemaType": "AVRO"})
            case "GET", ["subjects", subject, "versions"]:
                versions = [v.version for v in registry.versions(subject)]
                if not versions:
                    raise SchemaError(f"no schema registered for subject {subject!r}")
                self._send(200, versions)
            case "GET", ["subjects", subject, "versions", version]:
                if version in ("latest", "-1"):
                    self._send(200, _version(registry.latest(subject)))
                    return
                found = [v for v in registry.versions(subject) if v.version == int(version)]
                if not found:
                    raise SchemaError(f"no schema version {version} for subject {subject!r}")
                self._send(200, _version(found[0]))
            case "POST", ["subjects", subject, "versions"]:
                body = self._body()
                if body.get("schemaType", "AVRO") != "AVRO":
                    raise ValueError(f"this registry keeps AVRO schemas, not {body['schemaType']}")
                schema_id = registry.register(subject, json.loads(body["schema"]))
                version = next(v.version for v in registry.versions(subject) if v.schema_id == schema_id)
                self._send(200, {"id": schema_id, "subject": subject, "version": version})
            case "POST", ["compatibility", "subjects", subject, "versions", _]:
                problems = registry.check(subject, json.loads(self._body()["schema"]))
                self._send(200, {"is_compatible": not problems, "messages": problems})
            case "GET", ["config", *subject]:
                level = registry.level(subject[0]) if subject else registry.compatibility
                self._send(200, {"compatibilityLevel": level})
            case "PUT", ["config", *subject]:
                level = self._body()["compatibility"]
                registry.set_compatibility(level, subject[0] if subject else None)
                self._send(200, {"compatibility": level.upper()})
            case _:
                self._error(404, 404, f"{method} /{'/'.join(path)}: not served by the course's registry")


def serve(port: int = PORT, host: str = HOST, registry: SchemaRegistry | None = None) -> RegistryServer:
    """Start the registry in a background thread; ``server.shutdown()`` stops it."""
    server = RegistryServer(port, host, registry)
    threading.Thread(target=server.serve_forever, daemon=True, kwargs={"poll_interval": 0.1}).start()
    return server


__all__ = ["PORT", "RegistryServer", "serve"]
