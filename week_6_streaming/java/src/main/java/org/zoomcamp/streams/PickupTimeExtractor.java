package org.zoomcamp.streams;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.processor.TimestampExtractor;

/**
 * Event time: a ride counts in the window of its pickup, not of the moment it was sent (the record's own
 * timestamp). Kafka Streams calls this for every record after its value was deserialized into a {@link Ride}.
 */
public class PickupTimeExtractor implements TimestampExtractor {

    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
        if (record.value() instanceof Ride ride) {
            return ride.pickup().toEpochMilli();
        }
        // Not a ride (a null value): keep the partition's time so that it cannot move the windows' clock.
        return Math.max(partitionTime, 0);
    }
}
