"""Week 6: streaming the rides through Kafka.

>>> from zoomcamp import stack, streaming
>>> stack.up()                                          # PostgreSQL + Apache Kafka (KRaft)
>>> streaming.recreate_topic("rides", partitions=3)
>>> streaming.replay(streaming.load_rides("2021-01"), "rides")
>>> streaming.sink_to_postgres("rides", streaming.ZONE_HOURS, streaming.zone_hour_rows, group="zone-hours",
...                            dead_letter_topic="rides-dlt")

Modules: ``broker`` (topics, offsets, lag), ``rides`` (the message format and its checks), ``produce`` (producer
settings, replay), ``sink`` (PostgreSQL upserts with an exactly-once effect, dead letters), ``avro`` (schema
registry), and, imported when used, ``quix`` (Quix Streams) and ``spark`` (Structured Streaming).
"""

from .avro import IncompatibleSchema, SchemaRegistry, deserializer, serializer
from .broker import (
    GroupError,
    TopicError,
    bootstrap_servers,
    clear,
    client_config,
    consumer_groups,
    delete_topics,
    describe_topic,
    ensure_topic,
    forget_group,
    group_lag,
    message_count,
    read_topic,
    recreate_topic,
    topic_offsets,
    topics,
)
from .produce import PRODUCER_DEFAULTS, DeliveryError, ReplayResult, producer, replay, send_all
from .rides import KEY, RIDE_FIELDS, BadMessage, in_pickup_order, load_rides, parse_ride, ride_messages
from .sink import (
    RIDES,
    ZONE_HOURS,
    SinkResult,
    SinkTable,
    reset_sink,
    ride_rows,
    sink_to_postgres,
    stored_offsets,
    zone_hour_rows,
)

__all__ = [
    "BadMessage", "DeliveryError", "GroupError", "IncompatibleSchema", "KEY", "PRODUCER_DEFAULTS", "RIDES",
    "RIDE_FIELDS", "ReplayResult", "SchemaRegistry", "SinkResult", "SinkTable", "TopicError", "ZONE_HOURS",
    "bootstrap_servers", "clear", "client_config", "consumer_groups", "delete_topics", "describe_topic", "deserializer",
    "ensure_topic", "forget_group", "group_lag", "in_pickup_order", "load_rides", "message_count", "parse_ride",
    "producer", "read_topic", "recreate_topic", "replay", "reset_sink", "ride_messages", "ride_rows", "send_all",
    "serializer", "sink_to_postgres", "stored_offsets", "topic_offsets", "topics", "zone_hour_rows",
]
