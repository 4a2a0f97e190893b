package org.zoomcamp.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The topology without a broker: TopologyTestDriver runs it in this JVM, record by record, and commits after
 * each one (so every change of a count shows up in the output).
 */
class ZoneWindowsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    java.nio.file.Path stateDir;

    private TopologyTestDriver driver;
    private TestInputTopic<String, String> rides;
    private TestOutputTopic<String, String> counts;

    @BeforeEach
    void start() {
        // 15-minute windows with 5 minutes of grace, the app's defaults.
        var topology = ZoneWindows.topology("rides", "zone-windows", Duration.ofMinutes(15), Duration.ofMinutes(5));
        driver = new TopologyTestDriver(topology, ZoneWindows.config("test", "unused:9092", stateDir.toString(), "bad-rides"));
        // Sent "now": the windows must follow the pickup times in the values, not these record timestamps.
        rides = driver.createInputTopic("rides", new StringSerializer(), new StringSerializer(),
                Instant.parse("2026-01-01T00:00:00Z"), Duration.ofSeconds(1));
        counts = driver.createOutputTopic("zone-windows", new StringDeserializer(), new StringDeserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private void ride(int zone, String pickup) {
        rides.pipeInput(String.valueOf(zone),
                "{\"VendorID\": 1, \"tpep_pickup_datetime\": \"" + pickup + "\", \"PULocationID\": " + zone
                        + ", \"trip_distance\": 1.2}");
    }

    /** The last count written per "zone@window_start": each window's count so far. */
    private Map<String, Long> latest() throws Exception {
        Map<String, Long> out = new TreeMap<>();
        for (var record : counts.readKeyValuesToList()) {
            JsonNode row = JSON.readTree(record.value);
            assertEquals(record.key, row.get("zone").asText()); // keyed by zone
            out.put(row.get("zone").asInt() + "@" + row.get("window_start").asText(), row.get("rides").asLong());
        }
        return out;
    }

    @Test
    void countsRidesPerZoneAndWindow() throws Exception {
        ride(1, "2021-01-01T10:01:00");
        ride(2, "2021-01-01T10:02:00");
        ride(1, "2021-01-01T10:07:30");
        ride(1, "2021-01-01T10:16:00");
        ride(2, "2021-01-01T10:29:59");
        assertEquals(Map.of(
                "1@2021-01-01T10:00:00", 2L,
                "1@2021-01-01T10:15:00", 1L,
                "2@2021-01-01T10:00:00", 1L,
                "2@2021-01-01T10:15:00", 1L), latest());
    }

    @Test
    void windowsIncludeTheirStartAndExcludeTheirEnd() throws Exception {
        ride(7, "2021-01-01T10:00:00");
        ride(7, "2021-01-01T10:14:59.999");
        ride(7, "2021-01-01T10:15:00");
        assertEquals(Map.of("7@2021-01-01T10:00:00", 2L, "7@2021-01-01T10:15:00", 1L), latest());
    }

    @Test
    void writesTheWindowAsJson() throws Exception {
        ride(132, "2021-01-01T23:59:00");
        JsonNode row = JSON.readTree(counts.readValue());
        assertEquals("2021-01-01T23:45:00", row.get("window_start").asText());
        assertEquals("2021-01-02T00:00:00", row.get("window_end").asText());
        assertEquals(132, row.get("zone").asInt());
        assertEquals(1, row.get("rides").asLong());
    }

    @Test
    void aLateRideWithinGraceStillCounts() throws Exception {
        ride(1, "2021-01-01T10:05:00");
        ride(1, "2021-01-01T10:19:00"); // stream time 10:19 < 10:15 + 5 min grace: 10:00 still open
        ride(1, "2021-01-01T10:10:00");
        assertEquals(Map.of("1@2021-01-01T10:00:00", 2L, "1@2021-01-01T10:15:00", 1L), latest());
    }

    @Test
    void aRideLaterThanTheGraceIsDropped() throws Exception {
        ride(1, "2021-01-01T10:05:00");
        ride(1, "2021-01-01T10:21:00"); // stream time passes 10:15 + 5 min grace: 10:00 is closed
        ride(1, "2021-01-01T10:10:00"); // late: dropped, no new count for 10:00
        assertEquals(Map.of("1@2021-01-01T10:00:00", 1L, "1@2021-01-01T10:15:00", 1L), latest());
        assertEquals(1.0, droppedRecords());
    }

    @Test
    void malformedMessagesAreSkipped() throws Exception {
        ride(1, "2021-01-01T10:05:00");
        rides.pipeInput("1", "not json at all");
        rides.pipeInput("1", "{\"PULocationID\": 1}"); // no pickup time
        rides.pipeInput("1", "{\"PULocationID\": \"one\", \"tpep_pickup_datetime\": \"2021-01-01T10:06:00\"}");
        rides.pipeInput("1", "{\"PULocationID\": 1, \"tpep_pickup_datetime\": \"yesterday\"}");
        rides.pipeInput("1", "[1, 2, 3]");
        ride(1, "2021-01-01T10:06:00"); // the app is still running
        assertEquals(Map.of("1@2021-01-01T10:00:00", 2L), latest());
        assertEquals(5.0, droppedRecords());
        // (Their dead letters are not checked here: TopologyTestDriver does not pass on the records a
        // deserialization handler returns. Notebook 08 reads them from the broker.)
    }

    private double droppedRecords() {
        return driver.metrics().entrySet().stream()
                .filter(m -> m.getKey().name().equals("dropped-records-total"))
                .mapToDouble(m -> ((Number) m.getValue().metricValue()).doubleValue())
                .sum();
    }
}
