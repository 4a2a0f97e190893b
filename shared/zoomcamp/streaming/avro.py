"""Avro messages with a schema registry: an in-memory registry (offline) that checks compatibility like
Confluent's Schema Registry, and serializers in Confluent's wire format (so the bytes are the same as with a
real registry: magic byte 0, the schema id as 4 bytes, then the Avro body).

>>> registry = SchemaRegistry()                      # compatibility BACKWARD, as Confluent's default
>>> to_bytes = serializer(registry, "rides-value", RIDE_SCHEMA)
>>> from_bytes = deserializer(registry)
>>> from_bytes(to_bytes({...}))

Compatibility levels (a subject's new schema against the latest one, or against all with ``_TRANSITIVE``):
BACKWARD = consumers on the new schema read old data; FORWARD = consumers on the old schema read new data;
FULL = both; NONE = no check.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass

import fastavro

from ..errors import CourseError

LEVELS = ("NONE", "BACKWARD", "FORWARD", "FULL", "BACKWARD_TRANSITIVE", "FORWARD_TRANSITIVE", "FULL_TRANSITIVE")
MAGIC = 0

RIDE_SCHEMA = {
    "type": "record", "name": "Ride", "namespace": "zoomcamp.taxi",
    "fields": [
        {"name": "VendorID", "type": ["null", "int"], "default": None},
        {"name": "tpep_pickup_datetime", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tpep_dropoff_datetime", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "passenger_count", "type": ["null", "double"], "default": None},
        {"name": "trip_distance", "type": "double"},
        {"name": "PULocationID", "type": "int"},
        {"name": "DOLocationID", "type": "int"},
        {"name": "payment_type", "type": ["null", "int"], "default": None},
        {"name": "fare_amount", "type": "double"},
        {"name": "tip_amount", "type": "double"},
        {"name": "total_amount", "type": "double"},
    ],
}


class SchemaError(CourseError, ValueError):
    """A schema that is not valid Avro, an unknown subject or id, or bytes that are not registry-framed Avro."""


class IncompatibleSchema(SchemaError):
    """The registry refused a new schema version; ``problems`` says why, field by field."""

    def __init__(self, subject: str, level: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"schema for {subject!r} is not {level} compatible: " + "; ".join(problems))


# --- compatibility: can data written with `writer` be read with `reader`? (Avro's schema resolution rules) -----

_PROMOTIONS = {"int": {"long", "float", "double"}, "long": {"float", "double"}, "float": {"double"},
               "string": {"bytes"}, "bytes": {"string"}}
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _named_types(schema, found: dict | None = None, namespace: str = "") -> dict:
    """Every named type (record, enum, fixed) by full name and short name, so references can be followed."""
    found = {} if found is None else found
    if isinstance(schema, list):
        for branch in schema:
            _named_types(branch, found, namespace)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            ns = schema.get("namespace", namespace)
            name = schema["name"]
            full = name if "." in name or not ns else f"{ns}.{name}"
            found[full] = found[name.rsplit(".", 1)[-1]] = schema
            namespace = ns
        for f in schema.get("fields", []):
            _named_types(f["type"], found, namespace)
        for key in ("items", "values"):
            if key in schema:
                _named_types(schema[key], found, namespace)
        if isinstance(kind, dict | list):
            _named_types(kind, found, namespace)
    return found


def _kind(schema, named: dict):
    """(type name, schema with references resolved)."""
    if isinstance(schema, list):
        return "union", schema
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return schema, schema
        schema = named.get(schema, named.get(schema.rsplit(".", 1)[-1]))
        if schema is None:
            raise SchemaError("unknown type reference")
    kind = schema["type"]
    if isinstance(kind, dict | list) or kind in named:
        return _kind(kind, named)
    return ("record" if kind == "error" else kind), schema


def _short(schema) -> str:
    return schema["name"].rsplit(".", 1)[-1]


def _describe(kind: str, schema) -> str:
    return _short(schema) if kind in ("record", "enum", "fixed") else kind


def _problems(reader, writer, rnamed: dict, wnamed: dict, path: str, seen: set) -> list[str]:
    rkind, r = _kind(reader, rnamed)
    wkind, w = _kind(writer, wnamed)
    where = path or "the value"
    if wkind == "union":  # every branch the writer may have used must be readable
        return [p for branch in w for p in _problems(reader, branch, rnamed, wnamed, path, seen)]
    if rkind == "union":
        for branch in r:
            if not _problems(branch, w, rnamed, wnamed, path, seen):
                return []
        return [f"{where}: old values of type {_describe(wkind, w)} do not fit the new union"]
    if rkind != wkind:
        if rkind in _PROMOTIONS.get(wkind, ()):
            return []
        return [f"{where}: type changed from {_describe(wkind, w)} to {_describe(rkind, r)}"]
    if rkind in ("record", "enum", "fixed") and _short(r) != _short(w):
        return [f"{where}: {_short(w)} renamed to {_short(r)}"]
    if rkind == "record":
        if (id(r), id(w)) in seen:  # recursive types: already being compared
            return []
        seen = seen | {(id(r), id(w))}
        written = {f["name"]: f for f in w["fields"]}
        for f in w["fields"]:
            for alias in f.get("aliases", []):
                written.setdefault(alias, f)
        problems = []
        for f in r["fields"]:
            source = written.get(f["name"]) or next((written[a] for a in f.get("aliases", []) if a in written), None)
            name = f"{path}.{f['name']}" if path else f["name"]
            if source is None:
                if "default" not in f:
                    problems.append(f"{name}: new field without a default (old data has no value for it)")
            else:
                problems += _problems(f["type"], source["type"], rnamed, wnamed, name, seen)
        return problems
    if rkind == "enum":
        missing = [s for s in w["symbols"] if s not in r["symbols"]]
        if missing and "default" not in r:
            return [f"{where}: symbols {', '.join(missing)} unknown to the new enum"]
        return []
    if rkind == "fixed" and r["size"] != w["size"]:
        return [f"{where}: fixed size changed from {w['size']} to {r['size']}"]
    if rkind == "array":
        return _problems(r["items"], w["items"], rnamed, wnamed, f"{path}[]", seen)
    if rkind == "map":
        return _problems(r["values"], w["values"], rnamed, wnamed, f"{path}{{}}", seen)
    return []


def read_problems(reader: dict, writer: dict) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader`` (empty: it can)."""
    return _problems(reader, writer, _named_types(reader), _named_types(writer), "", set())


def compatibility_problems(new: dict, old: dict, level: str = "BACKWARD") -> list[str]:
    level = level.upper().removesuffix("_TRANSITIVE")
    problems = []
    if level in ("BACKWARD", "FULL"):
        problems += [f"new consumers cannot read old data: {p}" for p in read_problems(new, old)]
    if level in ("FORWARD", "FULL"):
        problems += [f"old consumers cannot read new data: {p}" for p in read_problems(old, new)]
    return problems


# --- the registry ---------------------------------------------------------------------------------------------

def _parse(schema) -> dict:
    if isinstance(schema, str):
        schema = json.loads(schema)
    try:
        fastavro.parse_schema(schema)  # validates (names, defaults, types)
    except Exception as exc:  # fastavro raises several types for invalid schemas
        raise SchemaError(f"not a valid Avro schema: {exc}") from None
    return schema


def _canonical(schema: dict) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class RegisteredSchema:
    schema_id: int
    subject: str
    version: int
    schema: dict


class SchemaRegistry:
    """Subjects (usually ``<topic>-value``) with numbered schema versions, global schema ids, and a compatibility
    level checked on every registration: what Confluent's Schema Registry does, kept in memory.
    Taught in week_6_streaming/04_schemas_avro.ipynb."""

    def __init__(self, compatibility: str = "BACKWARD"):
        self._check_level(compatibility)
        self.compatibility = compatibility.upper()
        self._levels: dict[str, str] = {}
        self._ids: dict[str, int] = {}                        # canonical schema -> id
        self._schemas: dict[int, dict] = {}                   # id -> schema
        self._subjects: dict[str, list[RegisteredSchema]] = {}

    @staticmethod
    def _check_level(level: str) -> None:
        if level.upper() not in LEVELS:
            raise SchemaError(f"compatibility must be one of {', '.join(LEVELS)}, not {level!r}")

    def set_compatibility(self, level: str, subject: str | None = None) -> None:
        self._check_level(level)
        if subject is None:
            self.compatibility = level.upper()
        else:
            self._levels[subject] = level.upper()

    def level(self, subject: str) -> str:
        return self._levels.get(subject, self.compatibility)

    def subjects(self) -> list[str]:
        return sorted(self._subjects)

    def versions(self, subject: str) -> list[RegisteredSchema]:
        return list(self._subjects.get(subject, []))

    def latest(self, subject: str) -> RegisteredSchema:
        if not self._subjects.get(subject):
            raise SchemaError(f"no schema registered for subject {subject!r}")
        return self._subjects[subject][-1]

    def schema(self, schema_id: int) -> dict:
        if schema_id not in self._schemas:
            raise SchemaError(f"no schema with id {schema_id}")
        return self._schemas[schema_id]

    def check(self, subject: str, schema) -> list[str]:
        """What registering ``schema`` under ``subject`` would be refused for (empty: it would be accepted)."""
        schema = _parse(schema)
        level = self.level(subject)
        history = self._subjects.get(subject, [])
        if level == "NONE" or not history:
            return []
        against = history if level.endswith("_TRANSITIVE") else history[-1:]
        return [p for old in against for p in compatibility_problems(schema, old.schema, level)]

    def register(self, subject: str, schema) -> int:
        """Register ``schema`` under ``subject`` and return its id; the same schema again returns the same id."""
        schema = _parse(schema)
        text = _canonical(schema)
        for existing in self._subjects.get(subject, []):
            if _canonical(existing.schema) == text:
                return existing.schema_id
        problems = self.check(subject, schema)
        if problems:
            raise IncompatibleSchema(subject, self.level(subject), problems)
        schema_id = self._ids.setdefault(text, len(self._ids) + 1)
        self._schemas[schema_id] = schema
        versions = self._subjects.setdefault(subject, [])
        versions.append(RegisteredSchema(schema_id, subject, len(versions) + 1, schema))
        return schema_id


def serializer(registry: SchemaRegistry, subject: str, schema) -> Callable[[dict], bytes]:
    """Registers ``schema`` (compatibility checked) and returns a function record -> framed Avro bytes.
    Taught in week_6_streaming/04_schemas_avro.ipynb."""
    schema_id = registry.register(subject, schema)
    parsed = fastavro.parse_schema(registry.schema(schema_id))
    header = struct.pack(">bI", MAGIC, schema_id)

    def to_bytes(record: dict) -> bytes:
        out = io.BytesIO()
        out.write(header)
        fastavro.schemaless_writer(out, parsed, record)
        return out.getvalue()

    return to_bytes


def deserializer(registry: SchemaRegistry, reader_schema=None) -> Callable[[bytes], dict]:
    """Returns a function framed Avro bytes -> record, decoded with the writer's schema (looked up by the id in the
    message) and resolved to ``reader_schema`` when given (new fields get their defaults, removed ones vanish).
    Taught in week_6_streaming/04_schemas_avro.ipynb."""
    reader = fastavro.parse_schema(_parse(reader_schema)) if reader_schema is not None else None
    cache: dict[int, dict] = {}

    def from_bytes(data: bytes) -> dict:
        if len(data) < 5 or data[0] != MAGIC:
            raise SchemaError("not a schema-registry Avro message (no magic byte 0 + schema id)")
        (schema_id,) = struct.unpack(">I", data[1:5])
        if schema_id not in cache:
            cache[schema_id] = fastavro.parse_schema(registry.schema(schema_id))
        return fastavro.schemaless_reader(io.BytesIO(data[5:]), cache[schema_id], reader)

    return from_bytes
