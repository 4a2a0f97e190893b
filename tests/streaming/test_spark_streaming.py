"""Week 6's Spark Structured Streaming on the course's Kafka broker, through Spark's own ``kafka`` source and sink
(the ``spark-kafka`` bundle of the JVM artifacts): what kafka-python produced is what Spark reads, and what Spark's
sink writes is what kafka-python reads."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from zoomcamp import jvm, streaming
from zoomcamp import spark as zspark
from zoomcamp.streaming import spark as kafka_spark

pytestmark = pytest.mark.stack

MESSAGES = [(f"ride-{i}".encode(), f'{{"ride": {i}}}'.encode()) for i in range(500)]


@pytest.fixture(scope="module")
def spark(settings):
    # A JVM started without the connector first (as week 5's session, or test_spark.py's, would leave it): the
    # streaming session must still find the kafka source (spark.jars only reach the driver when its JVM starts).
    zspark.session("plain", master="local[1]", ui=False, settings=settings)
    session = kafka_spark.spark_session("test_spark_streaming", cores=2, settings=settings)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def produced():
    streaming.recreate_topic("t-spark-in", partitions=3)
    streaming.send_all(streaming.producer(), "t-spark-in", MESSAGES)
    return MESSAGES


def test_spark_reads_every_message_kafka_python_produced(spark, produced):
    query = (kafka_spark.read_stream(spark, "t-spark-in").writeStream.format("memory").queryName("t_spark_in")
             .trigger(availableNow=True).start())
    query.awaitTermination(120)
    assert not query.isActive, "the availableNow query did not finish in 120 s"
    rows = spark.sql("SELECT key, value, partition, offset FROM t_spark_in").collect()
    assert sorted((bytes(r.key), bytes(r.value)) for r in rows) == sorted(produced)
    assert len({(r.partition, r.offset) for r in rows}) == len(rows) == streaming.message_count("t-spark-in")
    assert {r.partition for r in rows} == {0, 1, 2}  # every partition read


def test_the_kafka_sink_writes_messages_kafka_python_reads(spark, produced, settings):
    streaming.recreate_topic("t-spark-out", partitions=2)
    out = (kafka_spark.read_stream(spark, "t-spark-in")
           .select("key", F.upper(F.col("value").cast("string")).alias("value")))
    query = (kafka_spark.write_stream(out, "t-spark-out", kafka_spark.checkpoint("t-spark-out", settings=settings))
             .trigger(availableNow=True).start())
    query.awaitTermination(120)
    assert not query.isActive and query.exception() is None
    written = streaming.read_topic("t-spark-out", decode=None)
    assert len(written) == len(produced)
    # read_topic gives keys as text, values as bytes (decode=None)
    assert sorted(zip(written["key"].str.encode("utf-8"), written["value"], strict=True)) == sorted(
        (k, v.decode().upper().encode()) for k, v in produced)


def test_a_missing_connector_bundle_is_one_line_not_a_java_stack_trace(settings, tmp_path):
    with pytest.raises(jvm.JvmError) as error:
        kafka_spark.spark_session(settings=settings.replace(jvm_dir=tmp_path / "jvm"))
    message = str(error.value)
    assert "\n" not in message and "spark-kafka" in message and "make setup" in message
