"""Benchmark: week 6's producer and sink on a generated month of rides, in one run.

    python bench/stream.py [--rides 200000] [--naive 3000]

(a) produce: the course's producer (``streaming.producer()``: acks=all, idempotent, 20 ms linger, 256 kB batches,
    zstd) sending every ride, vs (b) the naive loop that sends one message and flushes before the next (on the
    first ``--naive`` rides: it is that slow);
(a') the same rides sent by confluent-kafka's producer (librdkafka, C) with the same settings: the peer;
(c) consume: a plain consumer reading the topic back (the broker and client, no database);
(d) sink: ``streaming.sink_to_postgres`` upserting rides per zone and hour into PostgreSQL with the offsets in
    the same transaction.

Uses the course's settings (``ZOOMCAMP_HOME`` etc.) and starts the stack if needed; its topics and table are
its own (``bench-*``) and removed afterwards. The last line is ``name=value`` pairs to compare runs:
``vs_naive=<a/b> produce_msgs_s=<a> naive_msgs_s=<b> vs_confluent=<a/a'> confluent_msgs_s=<a'> consume_msgs_s=<c>
sink_msgs_s=<d>``. Runs against the stack's Apache Kafka broker (or the cluster in ``kafka_bootstrap``).
"""

from __future__ import annotations

import argparse
import dataclasses
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rides", type=int, default=200_000, help="rides generated for January 2021")
    parser.add_argument("--naive", type=int, default=3_000, help="rides sent by the send-then-flush loop")
    args = parser.parse_args()

    from kafka import KafkaConsumer

    from zoomcamp import db, stack, streaming
    from zoomcamp.datasets.sample import trips_frame

    stack.up()
    rides = streaming.in_pickup_order(trips_frame("yellow", "2021-01", args.rides), "2021-01")
    started = time.perf_counter()
    messages = streaming.ride_messages(rides)
    serialise_s = time.perf_counter() - started
    n = len(messages)
    print(f"{n:,} rides, serialised to JSON in {serialise_s:.2f} s ({n / serialise_s:,.0f}/s), "
          f"{sum(len(v) for _, v in messages) / n:.0f} bytes each", flush=True)

    topic, naive_topic, confluent_topic, group = "bench-rides", "bench-naive", "bench-confluent", "bench-sink"
    table = dataclasses.replace(streaming.ZONE_HOURS, name="bench_rides_per_zone_hour")
    try:
        streaming.recreate_topic(topic, partitions=3)
        prod = streaming.producer()
        started = time.perf_counter()
        streaming.send_all(prod, topic, messages)
        produce = n / (time.perf_counter() - started)
        prod.close()
        assert streaming.message_count(topic) == n
        print(f"  course producer: {produce:>10,.0f} msgs/s", flush=True)

        # The peer: confluent-kafka (librdkafka, C) with the same settings, into a topic of its own.
        from confluent_kafka import Producer

        streaming.recreate_topic(confluent_topic, partitions=3)
        peer = Producer({"bootstrap.servers": streaming.bootstrap_servers(), "acks": "all",
                         "enable.idempotence": True, "linger.ms": 20, "batch.size": 256 * 1024,
                         "compression.type": "zstd"})
        failures = []
        started = time.perf_counter()
        for key, value in messages:
            while True:
                try:
                    peer.produce(confluent_topic, value, key, on_delivery=lambda err, _: err and failures.append(err))
                    break
                except BufferError:  # its local queue is full: let it send
                    peer.poll(0.05)
            peer.poll(0)
        peer.flush()
        confluent = n / (time.perf_counter() - started)
        assert not failures and streaming.message_count(confluent_topic) == n
        print(f"  confluent-kafka: {confluent:>10,.0f} msgs/s", flush=True)

        streaming.recreate_topic(naive_topic, partitions=3)
        prod = streaming.producer()
        started = time.perf_counter()
        for key, value in messages[: args.naive]:
            prod.send(naive_topic, key=key, value=value)
            prod.flush()
        naive = min(args.naive, n) / (time.perf_counter() - started)
        prod.close()
        print(f"  send + flush:    {naive:>10,.0f} msgs/s", flush=True)

        consumer = KafkaConsumer(topic, **streaming.client_config(), auto_offset_reset="earliest",
                                 enable_auto_commit=False, max_poll_records=5_000)
        started, read = time.perf_counter(), 0
        while read < n:
            read += sum(len(batch) for batch in consumer.poll(1000).values())
        consume = n / (time.perf_counter() - started)
        consumer.close()
        print(f"  consume:         {consume:>10,.0f} msgs/s", flush=True)

        streaming.reset_sink(table, group)
        result = streaming.sink_to_postgres(topic, table, streaming.zone_hour_rows, group=group, batch_size=5_000)
        assert result.consumed == n
        assert db.query(f"SELECT sum(rides) AS n FROM {table.name}")["n"].item() == n
        print(f"  sink:            {result.rate:>10,.0f} msgs/s ({result.rows:,} rows upserted in "
              f"{result.batches} transactions)", flush=True)
    finally:
        streaming.delete_topics([topic, naive_topic, confluent_topic])
        streaming.reset_sink(table, group)
        db.execute(f"DROP TABLE IF EXISTS {table.name}")
    print(f"vs_naive={produce / naive:.1f} produce_msgs_s={produce:.0f} naive_msgs_s={naive:.0f} "
          f"vs_confluent={produce / confluent:.2f} confluent_msgs_s={confluent:.0f} "
          f"consume_msgs_s={consume:.0f} sink_msgs_s={result.rate:.0f}")


if __name__ == "__main__":
    main()
