# %% [markdown]
# # 04 · Schemas: Avro and a schema registry
#
# **What you will learn**
# - why a stream needs a schema, and what Avro gives: typed, compact binary messages;
# - what a schema registry does: numbered versions per *subject*, an id in every message, compatibility checks;
# - a compatible change (a new field with a default) and incompatible ones, refused with the reason.
#
# Offline there is no Confluent Schema Registry server, so the course uses an in-memory one
# ([`streaming.SchemaRegistry`](../shared/zoomcamp/streaming/avro.py), with `serializer` and `deserializer` in the same
# file) with the same rules and the same message format (magic byte 0, the schema id in 4
# bytes, the Avro body). The compose cluster has a real one on port 8081; confluent-kafka's `AvroSerializer` talks
# to it and writes the same bytes (a test checks that).
#
# **What you need running:** the local stack (the next cell starts it).

# %%
import json

import numpy as np
import pandas as pd

from zoomcamp import stack, streaming
from zoomcamp.exercises import check
from zoomcamp.streaming import avro

stack.up()
rides = streaming.load_rides("2021-01")
avro.RIDE_SCHEMA

# %% [markdown]
# ## JSON vs Avro
#
# A JSON message repeats every field name and says nothing about types: a producer that starts sending
# `"PULocationID": "132"` breaks its consumers only when they run. Avro writes the values alone, in the schema's
# order, as binary; the reader needs the writer's schema to decode them, which is what the registry keeps.

# %%
FIELDS = [f["name"] for f in avro.RIDE_SCHEMA["fields"]]


def to_record(row) -> dict:
    """A ride (a DataFrame row) as a dict for the Avro schema: missing numbers as None, timestamps as datetimes."""
    record = {name: (None if pd.isna(row[name]) else row[name]) for name in FIELDS}
    for name in ("VendorID", "PULocationID", "DOLocationID", "payment_type"):
        record[name] = None if record[name] is None else int(record[name])
    for name in ("tpep_pickup_datetime", "tpep_dropoff_datetime"):
        record[name] = record[name].to_pydatetime()
    return record


records = [to_record(row) for _, row in rides[FIELDS].iterrows()]
registry = streaming.SchemaRegistry()  # BACKWARD compatibility, as Confluent's default
to_avro = streaming.serializer(registry, "rides-avro-value", avro.RIDE_SCHEMA)
avro_sizes = np.array([len(to_avro(r)) for r in records])
json_sizes = np.array([len(json.dumps(r, default=str)) for r in records])  # the same fields as JSON
assert avro_sizes.mean() < json_sizes.mean() / 3
print(f"per ride: JSON {json_sizes.mean():.0f} bytes, Avro {avro_sizes.mean():.0f} bytes (5 of them the header)")

# %% [markdown]
# ## Producing and consuming Avro
#
# The serializer registered the schema under the subject `rides-avro-value` (topic name + `-value`, Confluent's
# default naming) and got id 1. Every message starts with that id; the deserializer looks it up.

# %%
streaming.recreate_topic("rides-avro", partitions=3)
prod = streaming.producer()
streaming.send_all(prod, "rides-avro", [(str(r["PULocationID"]).encode(), to_avro(r)) for r in records])
from_avro = streaming.deserializer(registry)
decoded = streaming.read_topic("rides-avro", decode=from_avro)
first = decoded["value"].iloc[0]
print("schema id in the first message:", int.from_bytes(streaming.read_topic("rides-avro", decode=None, limit=1)["value"][0][1:5], "big"))
assert len(decoded) == len(rides)
assert np.isclose(sum(v["total_amount"] for v in decoded["value"]), rides["total_amount"].sum())
assert sum(v["passenger_count"] is None for v in decoded["value"]) == rides["passenger_count"].isna().sum()
first

# %% [markdown]
# ## Evolving the schema
#
# Producers and consumers are deployed at different times, so for a while old and new schemas meet. The subject's
# *compatibility level* says which changes the registry accepts:
#
# | level | guarantee | allows |
# | --- | --- | --- |
# | BACKWARD (default) | consumers on the new schema read old messages | add a field *with a default*, remove a field |
# | FORWARD | consumers on the old schema read new messages | add a field, remove a field *that had a default* |
# | FULL | both | add or remove fields that have defaults |
# | NONE | nothing checked | anything |
#
# (`_TRANSITIVE` variants check against every earlier version, not only the latest.)
#
# **A compatible change:** version 2 adds `congestion_surcharge` with a default of 0.

# %%
v2 = {**avro.RIDE_SCHEMA, "fields": [*avro.RIDE_SCHEMA["fields"],
                                     {"name": "congestion_surcharge", "type": "double", "default": 0.0}]}
assert registry.check("rides-avro-value", v2) == []
to_avro_v2 = streaming.serializer(registry, "rides-avro-value", v2)
print([(v.version, v.schema_id) for v in registry.versions("rides-avro-value")])

new_rides = rides.tail(100)
v2_records = [{**to_record(row), "congestion_surcharge": float(row["congestion_surcharge"])}
              for _, row in new_rides.iterrows()]
streaming.send_all(prod, "rides-avro", [(str(r["PULocationID"]).encode(), to_avro_v2(r)) for r in v2_records])
prod.close()

as_v1 = streaming.read_topic("rides-avro", decode=streaming.deserializer(registry, avro.RIDE_SCHEMA))["value"]
as_v2 = streaming.read_topic("rides-avro", decode=streaming.deserializer(registry, v2))["value"]
assert len(as_v1) == len(as_v2) == len(rides) + 100
assert all("congestion_surcharge" not in v for v in as_v1)  # old consumers: the new field is skipped
surcharges = pd.Series([v["congestion_surcharge"] for v in as_v2])
assert (surcharges == 0).sum() >= len(rides)  # old messages read with v2: the default fills in
assert np.isclose(surcharges.sum(), new_rides["congestion_surcharge"].sum())
print("old consumers read v2 messages, new consumers read v1 messages")

# %% [markdown]
# **Incompatible changes** are refused before any message is written with them: a type change, and a new field
# without a default (a consumer on the new schema could not read the messages already in the topic).

# %%
changes = {
    "PULocationID as a string": {**v2, "fields": [{**f, "type": "string"} if f["name"] == "PULocationID" else f
                                                  for f in v2["fields"]]},
    "new field without default": {**v2, "fields": [*v2["fields"], {"name": "airport_fee", "type": "double"}]},
    "new field with default": {**v2, "fields": [*v2["fields"], {"name": "airport_fee", "type": "double",
                                                                "default": 0.0}]},
    "remove tip_amount": {**v2, "fields": [f for f in v2["fields"] if f["name"] != "tip_amount"]},
}
verdicts = pd.DataFrame({name: {level: "ok" if not avro.compatibility_problems(schema, v2, level) else "refused"
                                for level in ("BACKWARD", "FORWARD", "FULL")} for name, schema in changes.items()}).T
try:
    registry.register("rides-avro-value", changes["PULocationID as a string"])
except streaming.IncompatibleSchema as exc:
    print(exc)
assert verdicts.loc["new field with default"].eq("ok").all()
assert verdicts.loc["PULocationID as a string"].eq("refused").all()
verdicts

# %% [markdown]
# Removing `tip_amount` is BACKWARD compatible (new consumers ignore it in old messages) but not FORWARD: a
# consumer still on v2 has no default for it and cannot read messages without it.
#
# ## Exercise 5
#
# Decode every message of `rides-avro` with the version 2 schema and return the total of `tip_amount`, rounded to
# 2 decimals.

# %%
my_answer = None

# %%
expected = round(rides["tip_amount"].sum() + new_rides["tip_amount"].sum(), 2)
check(my_answer, expected)

# %% jupyter={"source_hidden": true} tags=["solution"]
messages = streaming.read_topic("rides-avro", decode=streaming.deserializer(registry, v2))["value"]
solution = round(sum(m["tip_amount"] for m in messages), 2)
assert check(solution, expected)

# %% [markdown]
# ## Exercise 6
#
# Which compatibility levels accept turning `trip_distance` from `double` into `["null", "double"]` with a
# default of `null`? Answer with a list drawn from `["BACKWARD", "FORWARD", "FULL"]`, in that order.

# %%
my_answer = None

# %%
nullable = {**v2, "fields": [{**f, "type": ["null", "double"], "default": None} if f["name"] == "trip_distance"
                             else f for f in v2["fields"]]}
# Checked by trying: fastavro decoding a message written with one schema using the other as the reader.
import io

import fastavro


def readable(reader, writer, record):
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(writer), record)
    buffer.seek(0)
    try:
        fastavro.schemaless_reader(buffer, fastavro.parse_schema(writer), fastavro.parse_schema(reader))
        return True
    except Exception:
        return False


backward = readable(nullable, v2, v2_records[0])
forward = readable(v2, nullable, {**v2_records[0], "trip_distance": None})
expected = [level for level, ok in [("BACKWARD", backward), ("FORWARD", forward), ("FULL", backward and forward)] if ok]
check(my_answer, expected)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = [level for level in ("BACKWARD", "FORWARD", "FULL") if not avro.compatibility_problems(nullable, v2, level)]
assert check(solution, expected)

# %% [markdown]
# ## Summary
#
# - Avro messages carry values only; the schema lives in the registry, named by an id in each message.
# - The registry numbers a subject's versions and refuses a version that breaks its compatibility level.
# - Add fields with defaults; don't change types; know which side (producers or consumers) upgrades first.
#
# **Next:** [05 · Stream processing](05_stream_processing.ipynb)

# %%
from zoomcamp import course

course.record("week_6_streaming/04_schemas_avro.ipynb")  # this notebook ran to the end
