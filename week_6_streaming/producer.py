"""Replay a month of taxi rides into a Kafka topic, as JSON keyed by pickup zone.

    python producer.py [--topic rides] [--month 2021-01] [--type yellow] [--speedup 60] [--limit 1000]

``--speedup 60`` replays one minute of pickups per second (the gaps between rides kept); without it, the rides
go as fast as the broker takes them. The broker is the course's (``zoomcamp stack up``), or the cluster in
``kafka_bootstrap`` (e.g. the docker-compose one: ZOOMCAMP_KAFKA_BOOTSTRAP=localhost:19092,...).
"""

from __future__ import annotations

import argparse

from zoomcamp import streaming


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="rides")
    parser.add_argument("--month", default="2021-01")
    parser.add_argument("--type", dest="kind", default="yellow", choices=["yellow"])
    parser.add_argument("--speedup", type=float, default=None, help="replay speed (60 = a minute per second)")
    parser.add_argument("--limit", type=int, default=None, help="send only the first N rides")
    parser.add_argument("--partitions", type=int, default=3, help="partitions if the topic has to be created")
    args = parser.parse_args()

    streaming.ensure_topic(args.topic, args.partitions)
    rides = streaming.load_rides(args.month, args.kind)
    if args.limit is not None:
        rides = rides.head(args.limit)
    print(streaming.replay(rides, args.topic, speedup=args.speedup, kind=args.kind), flush=True)


if __name__ == "__main__":
    main()
