package org.zoomcamp.streams;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The two fields of a ride message this lesson needs: its pickup zone and its pickup time (the event time).
 *
 * <p>A message is one yellow-taxi trip as a JSON object, keyed by its pickup zone, as the course's producer
 * writes it (zoomcamp.streaming.rides): {@code {"tpep_pickup_datetime": "2021-01-01T00:30:10", "PULocationID":
 * 142, ...}}. TLC times have no zone; like the Python side, the course reads them as UTC.
 */
public record Ride(int zone, Instant pickup) {

    static final String PICKUP = "tpep_pickup_datetime";
    static final String ZONE = "PULocationID";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The ride in a message's value; a SerializationException says what is wrong with a malformed one. */
    public static Ride parse(byte[] value) {
        if (value == null) {
            throw new SerializationException("empty message (a tombstone?)");
        }
        JsonNode node;
        try {
            node = JSON.readTree(value);
        } catch (JsonProcessingException e) {
            throw new SerializationException("not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new SerializationException("not valid JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new SerializationException("expected a JSON object");
        }
        JsonNode zone = node.get(ZONE);
        JsonNode pickup = node.get(PICKUP);
        if (zone == null || !zone.canConvertToExactIntegral() || !zone.canConvertToInt()) {
            throw new SerializationException(ZONE + ": expected an integer, got " + zone);
        }
        if (pickup == null || !pickup.isTextual()) {
            throw new SerializationException(PICKUP + ": expected an ISO timestamp, got " + pickup);
        }
        try {
            return new Ride(zone.asInt(), LocalDateTime.parse(pickup.asText()).toInstant(ZoneOffset.UTC));
        } catch (DateTimeParseException e) {
            throw new SerializationException(PICKUP + ": not a timestamp: " + pickup);
        }
    }
}
