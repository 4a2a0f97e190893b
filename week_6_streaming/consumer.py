"""The sink consumer as a process of its own: rides from a topic into PostgreSQL, exactly-once effect.

    python consumer.py --topic rides --group zone-hours [--sink zone-hours|rides] [--dead-letter-topic rides-dlt]
                       [--follow] [--pause 0.1]

Kill it at any moment (even ``kill -9``) and start it again: it resumes from the position stored in PostgreSQL
with the last committed batch, so every message ends in the table exactly once. ``--follow`` keeps waiting
for new messages (Ctrl-C stops it); without it, it stops once it has read everything there is.
"""

from __future__ import annotations

import argparse
import time

from zoomcamp import streaming

SINKS = {
    "zone-hours": (streaming.ZONE_HOURS, streaming.zone_hour_rows),
    "rides": (streaming.RIDES, streaming.ride_rows),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="rides")
    parser.add_argument("--group", default="zone-hours", help="consumer group (and key of the stored positions)")
    parser.add_argument("--sink", choices=SINKS, default="zone-hours",
                        help="zone-hours: rides and revenue per pickup zone and hour; rides: every ride")
    parser.add_argument("--dead-letter-topic", default=None, help="where unusable messages go (default: TOPIC-dlt)")
    parser.add_argument("--instance", default="sink-1",
                        help="static member name: a restart under the same name resumes at once")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--follow", action="store_true", help="keep waiting for new messages")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds to wait after each batch (to watch it)")
    args = parser.parse_args()

    table, to_rows = SINKS[args.sink]

    def progress(result: streaming.SinkResult) -> None:
        print(f"batch {result.batches}: consumed={result.consumed} rows={result.rows} "
              f"dead_letters={result.dead_letters}", flush=True)
        if args.pause:
            time.sleep(args.pause)

    try:
        result = streaming.sink_to_postgres(
            args.topic, table, to_rows, group=args.group,
            dead_letter_topic=args.dead_letter_topic or f"{args.topic}-dlt", batch_size=args.batch_size,
            until_caught_up=not args.follow, idle_seconds=None if args.follow else 30, instance=args.instance,
            on_batch=progress)
    except KeyboardInterrupt:
        print("stopped (the last committed batch is kept; start again to resume)")
        return
    print(result, flush=True)


if __name__ == "__main__":
    main()
