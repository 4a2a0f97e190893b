package org.zoomcamp.streams;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.Stores;

/**
 * The topology: rides per pickup zone in tumbling windows of event time.
 *
 * <pre>
 *   rides (key: zone, value: ride JSON)
 *     -> parse the value into a Ride; malformed messages are logged and skipped
 *     -> event time = the pickup (PickupTimeExtractor)
 *     -> group by key (the zone) -> tumbling windows of `size` with `grace` -> count (a window store)
 *     -> output topic (key: zone, value: {"window_start", "window_end", "zone", "rides"})
 * </pre>
 *
 * Every change of a count is written (after the record cache, at each commit): the last message for a
 * (zone, window_start) is its count. A ride older than its window's end + grace is late: dropped, not counted.
 */
public final class ZoneWindows {

    /** The window store; its changelog topic is {@code <application.id>-rides-per-zone-changelog}. */
    public static final String STORE = "rides-per-zone";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter ISO = DateTimeFormatter.ISO_LOCAL_DATE_TIME.withZone(ZoneOffset.UTC);

    private ZoneWindows() {
    }

    /** Rides as values: only read here, so the serializer half is never used. */
    static Serde<Ride> rideSerde() {
        return Serdes.serdeFrom(
                (topic, ride) -> {
                    throw new UnsupportedOperationException("rides are only read");
                },
                (topic, bytes) -> Ride.parse(bytes));
    }

    public static Topology topology(String input, String output, Duration size, Duration grace) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(input, Consumed.with(Serdes.String(), rideSerde())
                        .withTimestampExtractor(new PickupTimeExtractor()))
                // The producer keys rides by zone: grouping by that key needs no repartition topic
                // (groupBy on a field of the value would add one).
                .groupByKey()
                .windowedBy(TimeWindows.ofSizeAndGrace(size, grace))
                // An in-memory window store (its changelog topic still makes it fault tolerant). The default,
                // RocksDB, keeps a segment per half retention of event time: replaying a month of rides in seconds
                // opened and dropped thousands of RocksDB instances and ran at ~30 rides/s.
                .count(Materialized.<String, Long>as(
                        Stores.inMemoryWindowStore(STORE, size.plus(grace), size, false)))
                .toStream()
                .map((window, rides) -> KeyValue.pair(window.key(), toJson(window, rides)))
                .to(output, Produced.with(Serdes.String(), Serdes.String()));
        return builder.build();
    }

    static String toJson(Windowed<String> window, long rides) {
        ObjectNode row = JSON.createObjectNode();
        row.put("window_start", ISO.format(Instant.ofEpochMilli(window.window().start())));
        row.put("window_end", ISO.format(Instant.ofEpochMilli(window.window().end())));
        row.put("zone", Integer.parseInt(window.key()));
        row.put("rides", rides);
        return row.toString();
    }

    /**
     * The app's configuration (the unit tests use it too, so they test the same error handling).
     * {@code deadLetterTopic} (or null) receives the malformed messages as they came, with headers saying why.
     */
    public static Properties config(String applicationId, String bootstrap, String stateDir, String deadLetterTopic) {
        Properties props = new Properties();
        // The application id names the consumer group, the internal topics and the state directory.
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        // A malformed message is logged and skipped (and dead-lettered): one bad message must not stop the app,
        // which the default handler (LogAndFail) would do.
        props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, SkipMalformedRides.class);
        if (deadLetterTopic != null) {
            props.put(SkipMalformedRides.DEAD_LETTER_TOPIC, deadLetterTopic);
        }
        props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true); // Kafka 5's default
        // Exactly once: the counts, the state store's changelog and the input offsets are written in one
        // transaction, so a crash and restart neither loses nor double-counts a ride.
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
        return props;
    }
}
