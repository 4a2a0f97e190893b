"""Spark Structured Streaming on the course's Kafka, through Spark's own ``kafka`` source and sink.

>>> from zoomcamp.streaming import spark as kafka_spark
>>> spark = kafka_spark.spark_session()                 # Spark with the Kafka connector on its class path
>>> rides = kafka_spark.read_stream(spark, "rides")      # key, value, topic, partition, offset, timestamp, ...
>>> query = (kafka_spark.write_stream(out, "zone-hours", kafka_spark.checkpoint("zone-hours"))
...          .trigger(availableNow=True).start())        # out: a ``value`` column (and ``key``), string or binary

The connector (``spark-sql-kafka-0-10``, plus kafka-clients) is not part of pyspark. It is the ``spark-kafka`` bundle
of the course's JVM artifacts (``shared/jvm/pom.xml``), which ``make setup`` resolves from Maven Central once; the
session gets those local files as ``spark.jars``. Nothing is downloaded when Spark starts (no
``spark.jars.packages``, no Ivy), so it works offline.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .. import jvm
from ..settings import Settings, get_settings
from .broker import bootstrap_servers

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import DataStreamWriter

BUNDLE = "spark-kafka"
CONNECTOR = "spark-sql-kafka-0-10_2.13"


def connector_jars(settings: Settings | None = None) -> list[Path]:
    """The connector's jars (``<jvm>/lib/spark-kafka``); a one-line :class:`~zoomcamp.jvm.JvmError` when ``make setup``
    did not resolve them, or when they were built for another major version of Spark than the installed pyspark (the
    connector uses Spark's internals; 4.2.0's, the newest on Maven Central, is tested with pyspark 4.3)."""
    import pyspark

    jars = jvm.classpath(BUNDLE, settings)
    major = pyspark.__version__.split(".")[0]
    if not any(j.name.startswith(f"{CONNECTOR}-{major}.") for j in jars):
        found = ", ".join(j.name for j in jars if j.name.startswith(CONNECTOR)) or "none"
        raise jvm.JvmError(f"the spark-kafka bundle has {found}, which does not fit pyspark {pyspark.__version__}: "
                           "set spark.version in shared/jvm/pom.xml to pyspark's version, then `make jvm-lock`")
    return jars


def spark_session(app_name: str = "zoomcamp-streaming", cores: int = 2,
                  settings: Settings | None = None) -> SparkSession:
    """Week 5's session (:func:`zoomcamp.spark.session`) with the Kafka connector, sized for short streaming jobs:
    ``local[cores]``, as many shuffle partitions as cores (Spark's 200 would mean 200 state stores per batch), no
    UI."""
    from .. import spark

    jars = connector_jars(settings)  # before Spark starts: a missing bundle is one line, not a Java stack trace
    return spark.session(app_name, master=f"local[{cores}]", shuffle_partitions=cores, ui=False, jars=jars,
                         settings=settings)


def read_stream(spark: SparkSession, topic: str, starting_offsets: str = "earliest",
                settings: Settings | None = None) -> DataFrame:
    """A streaming DataFrame over ``topic`` on the course's broker (Spark's ``kafka`` source): one row per message,
    ``key`` and ``value`` as bytes. ``starting_offsets`` applies to a query's first run only; after that its
    checkpoint says where it stopped."""
    return (spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap_servers(settings))
            .option("subscribe", topic)
            .option("startingOffsets", starting_offsets)
            .load())


def write_stream(frame: DataFrame, topic: str, checkpoint_dir: str | Path,
                 settings: Settings | None = None) -> DataStreamWriter:
    """A writer of ``frame`` into ``topic`` (Spark's ``kafka`` sink): one message per row, from its ``value`` column
    and, when present, ``key`` (strings or bytes). Set the trigger and ``start()`` it. The checkpoint holds the
    query's offsets and state: the same folder resumes where the last run stopped."""
    return (frame.writeStream.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap_servers(settings))
            .option("topic", topic)
            .option("checkpointLocation", str(checkpoint_dir)))


def checkpoint(name: str, fresh: bool = True, settings: Settings | None = None) -> Path:
    """``<home>/streaming/spark-checkpoints/<name>``; ``fresh`` empties it, so that a re-run starts over instead of
    resuming (a checkpoint refuses a changed query, and remembers offsets of a recreated topic)."""
    path = (settings or get_settings()).home / "streaming" / "spark-checkpoints" / name
    if fresh:
        shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


__all__ = ["BUNDLE", "checkpoint", "connector_jars", "read_stream", "spark_session", "write_stream"]
