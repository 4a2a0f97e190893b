package org.zoomcamp.streams;

import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link ZoneWindows} topology against a cluster.
 *
 * <pre>
 * java -jar target/zone-windows.jar --bootstrap 127.0.0.1:9092 --input rides --output zone-windows \
 *     [--window-minutes 15] [--grace-minutes 5] [--application-id zone-windows] [--state-dir DIR] \
 *     [--dead-letter-topic TOPIC] [--max-seconds 60] [--follow]
 * </pre>
 *
 * Without --follow it stops once every message that was in the input when it started is processed and
 * committed (a bounded run, for a notebook). It stops in any case after --max-seconds without progress
 * (0: never). Exit status: 0 done, 2 bad arguments, 3 stopped idle before the input was consumed, 1 failed.
 */
public final class ZoneWindowsApp {

    private static final Logger LOG = LoggerFactory.getLogger(ZoneWindowsApp.class);

    private ZoneWindowsApp() {
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args;
        try {
            args = parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("zone-windows: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(run(args));
    }

    static Map<String, String> parse(String[] argv) {
        Map<String, String> args = new HashMap<>(Map.of("--window-minutes", "15", "--grace-minutes", "5",
                "--application-id", "zone-windows", "--max-seconds", "60"));
        List<String> known = List.of("--bootstrap", "--input", "--output", "--window-minutes", "--grace-minutes",
                "--application-id", "--state-dir", "--max-seconds", "--dead-letter-topic");
        for (int i = 0; i < argv.length; i++) {
            if (argv[i].equals("--follow")) {
                args.put("--follow", "true");
            } else if (known.contains(argv[i]) && i + 1 < argv.length) {
                args.put(argv[i], argv[++i]);
            } else {
                throw new IllegalArgumentException("unknown or incomplete argument " + argv[i]);
            }
        }
        for (String required : List.of("--bootstrap", "--input", "--output")) {
            if (!args.containsKey(required)) {
                throw new IllegalArgumentException(required + " is required");
            }
        }
        return args;
    }

    static int run(Map<String, String> args) throws Exception {
        String input = args.get("--input");
        String bootstrap = args.get("--bootstrap");
        String appId = args.get("--application-id");
        Duration size = Duration.ofMinutes(Long.parseLong(args.get("--window-minutes")));
        Duration grace = Duration.ofMinutes(Long.parseLong(args.get("--grace-minutes")));
        long maxIdleMs = Long.parseLong(args.get("--max-seconds")) * 1000;
        boolean follow = args.containsKey("--follow");
        String stateDir = args.getOrDefault("--state-dir",
                Files.createTempDirectory("zone-windows-").toString());

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            // What "the input is consumed" means: the end offsets now, per partition.
            Map<TopicPartition, Long> end = endOffsets(admin, input);
            long total = end.values().stream().mapToLong(Long::longValue).sum();
            LOG.info("{}: {} messages in {} partitions of '{}', windows of {} min with {} min grace", appId,
                    total, end.size(), input, size.toMinutes(), grace.toMinutes());

            KafkaStreams streams = new KafkaStreams(
                    ZoneWindows.topology(input, args.get("--output"), size, grace),
                    ZoneWindows.config(appId, bootstrap, stateDir, args.get("--dead-letter-topic")));
            CountDownLatch failed = new CountDownLatch(1);
            streams.setUncaughtExceptionHandler(e -> {
                LOG.error("stream thread failed", e);
                failed.countDown();
                return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
                        .StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            });
            Runtime.getRuntime().addShutdownHook(new Thread(() -> streams.close(Duration.ofSeconds(10))));
            long started = System.currentTimeMillis();
            streams.start();

            long done = -1;
            long lastProgress = System.currentTimeMillis();
            int status;
            while (true) {
                if (failed.await(500, TimeUnit.MILLISECONDS)) {
                    status = 1;
                    break;
                }
                long committed = committed(admin, appId, end);
                if (committed != done) {
                    done = committed;
                    lastProgress = System.currentTimeMillis();
                }
                if (!follow && done >= total) {
                    status = 0;
                    break;
                }
                if (maxIdleMs > 0 && System.currentTimeMillis() - lastProgress > maxIdleMs) {
                    status = follow ? 0 : 3;
                    LOG.warn("no progress for {} s: stopping ({} of {} input messages committed)",
                            maxIdleMs / 1000, done, total);
                    break;
                }
            }
            double skipped = droppedRecords(streams);
            streams.close(Duration.ofSeconds(30));
            // One summary line the Python helper reads (zoomcamp.streaming.kstreams).
            System.out.printf("zone-windows: processed=%d skipped=%.0f seconds=%.1f status=%d%n", done, skipped,
                    (System.currentTimeMillis() - started) / 1000.0, status);
            return status;
        }
    }

    static Map<TopicPartition, Long> endOffsets(Admin admin, String topic) throws Exception {
        var partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions();
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        partitions.forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
        Map<TopicPartition, Long> end = new HashMap<>();
        admin.listOffsets(latest).all().get().forEach((tp, info) -> end.put(tp, info.offset()));
        return end;
    }

    /** Input messages processed and committed by the app's group, counting each partition up to its end. */
    static long committed(Admin admin, String group, Map<TopicPartition, Long> end) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets =
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        long sum = 0;
        for (var entry : end.entrySet()) {
            OffsetAndMetadata at = offsets.get(entry.getKey());
            sum += at == null ? 0 : Math.min(at.offset(), entry.getValue());
        }
        return sum;
    }

    /** Records the app skipped (malformed ones, late ones): Kafka Streams counts them as dropped records. */
    static double droppedRecords(KafkaStreams streams) {
        double dropped = 0;
        for (Map.Entry<MetricName, ? extends Metric> m : streams.metrics().entrySet()) {
            if (m.getKey().name().equals("dropped-records-total") && m.getKey().group().equals("stream-task-metrics")) {
                dropped += ((Number) m.getValue().metricValue()).doubleValue();
            }
        }
        return dropped;
    }
}
