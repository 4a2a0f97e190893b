"""Spark Structured Streaming on Kafka, with or without Spark's Kafka connector.

Spark reads Kafka through a connector jar (``spark-sql-kafka-0-10``) that ``spark.jars.packages`` downloads from
Maven Central. Offline that download is impossible, so :func:`read_stream` falls back to a Spark 4 *Python data
source* (:class:`KafkaClientSource`) that reads the topic with kafka-python inside Spark's Python workers. Both
give the same columns (``key, value, topic, partition, offset, timestamp, timestampType``) and take the same
options, so the query after ``load()`` is the same either way.
"""

from __future__ import annotations

import socket

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition

from ..settings import Settings
from .broker import bootstrap_servers

KAFKA_SCHEMA = ("key binary, value binary, topic string, partition int, offset long, timestamp timestamp, "
                "timestampType int")


def connector_package() -> str:
    import pyspark

    return f"org.apache.spark:spark-sql-kafka-0-10_2.13:{pyspark.__version__}"


def maven_reachable(timeout: float = 1.5) -> bool:
    try:
        socket.create_connection(("repo1.maven.org", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def spark_session(app_name: str = "zoomcamp-streaming", cores: int = 2, connector: bool | None = None,
                  settings: Settings | None = None):
    """Week 5's session (:func:`zoomcamp.spark.session`), sized for short streaming jobs: ``local[cores]``, as many
    shuffle partitions as cores, no UI. ``connector``: True asks for the Kafka connector jar (downloaded by Spark from
    Maven), False never, None = when Maven Central can be reached."""
    from .. import spark

    config = {"spark.jars.packages": connector_package()} if connector or (
        connector is None and maven_reachable()) else {}
    return spark.session(app_name, master=f"local[{cores}]", shuffle_partitions=cores, ui=False, config=config,
                         settings=settings)


class _Partition(InputPartition):
    def __init__(self, servers: str, topic: str, partition: int, start: int, end: int):
        self.servers, self.topic, self.partition, self.start, self.end = servers, topic, partition, start, end


class _StreamReader(DataSourceStreamReader):
    """Offsets are ``{"<partition>": next offset}``; each micro-batch reads [start, end) of every partition."""

    def __init__(self, options: dict):
        self.servers = options["kafka.bootstrap.servers"]
        self.topic = options["subscribe"]
        self.starting = options.get("startingOffsets", "latest")

    def _offsets(self) -> tuple[dict, dict]:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=self.servers.split(","), enable_auto_commit=False)
        try:
            found = consumer.partitions_for_topic(self.topic)
            if not found:
                raise ValueError(f"topic {self.topic!r} does not exist")
            tps = [TopicPartition(self.topic, p) for p in sorted(found)]
            first, last = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        finally:
            consumer.close()
        return ({str(tp.partition): first[tp] for tp in tps}, {str(tp.partition): last[tp] for tp in tps})

    def initialOffset(self) -> dict:
        first, last = self._offsets()
        return first if self.starting == "earliest" else last

    def latestOffset(self) -> dict:
        return self._offsets()[1]

    def partitions(self, start: dict, end: dict) -> list[_Partition]:
        return [_Partition(self.servers, self.topic, int(p), start.get(p, 0), stop)
                for p, stop in end.items() if stop > start.get(p, 0)]

    def read(self, partition: _Partition):
        import datetime
        import time

        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=partition.servers.split(","), enable_auto_commit=False)
        tp = TopicPartition(partition.topic, partition.partition)
        try:
            consumer.assign([tp])
            consumer.seek(tp, partition.start)
            deadline = time.monotonic() + 60
            while consumer.position(tp) < partition.end:
                if time.monotonic() > deadline:  # the planned offsets are gone (topic recreated?)
                    raise RuntimeError(f"{tp}: no progress towards offset {partition.end} for 60 s")
                for record in consumer.poll(timeout_ms=1000).get(tp, []):
                    if record.offset >= partition.end:
                        break
                    deadline = time.monotonic() + 60
                    yield (record.key, record.value, record.topic, record.partition, record.offset,
                           datetime.datetime.fromtimestamp(record.timestamp / 1000, datetime.UTC).replace(tzinfo=None),
                           record.timestamp_type)
        finally:
            consumer.close()

    def commit(self, end: dict) -> None:
        """Spark keeps the offsets in the query's checkpoint; nothing to tell Kafka."""


class KafkaClientSource(DataSource):
    """``spark.readStream.format("kafka_client")``: a topic read with kafka-python, the connector's columns."""

    @classmethod
    def name(cls) -> str:
        return "kafka_client"

    def schema(self) -> str:
        return KAFKA_SCHEMA

    def streamReader(self, schema):
        return _StreamReader(self.options)  # case-insensitive keys, as Spark passes them


def read_stream(spark, topic: str, starting_offsets: str = "earliest", settings: Settings | None = None):
    """A streaming DataFrame over ``topic``: Spark's Kafka connector if it is on the classpath, otherwise
    :class:`KafkaClientSource`. Returns ``(dataframe, path)``, path being "Kafka connector" or "python data source"."""
    from pyspark.errors import AnalysisException

    def options(reader):
        return (reader.option("kafka.bootstrap.servers", bootstrap_servers(settings)).option("subscribe", topic)
                .option("startingOffsets", starting_offsets))

    try:
        return options(spark.readStream.format("kafka")).load(), "Kafka connector"
    except AnalysisException as exc:
        if "kafka" not in str(exc).lower():
            raise
    spark.dataSource.register(KafkaClientSource)
    return options(spark.readStream.format(KafkaClientSource.name())).load(), "python data source"
