package org.zoomcamp.streams;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happens to a message that is not a ride (not JSON, a missing or mistyped field): one warning line, and
 * the app goes on (Kafka Streams' default handler stops the app instead). With a dead-letter topic configured,
 * the message goes there as it came, with the reason in an {@code error} header, like the Python sink's
 * dead letters. Kafka Streams counts it in the {@code dropped-records-total} metric.
 */
public class SkipMalformedRides implements DeserializationExceptionHandler {

    /** The dead-letter topic's configuration key (read in {@link #configure}). */
    public static final String DEAD_LETTER_TOPIC = "zoomcamp.dead.letter.topic";

    private static final Logger LOG = LoggerFactory.getLogger(SkipMalformedRides.class);
    private String deadLetterTopic;

    @Override
    public void configure(Map<String, ?> configs) {
        Object topic = configs.get(DEAD_LETTER_TOPIC);
        deadLetterTopic = topic == null ? null : topic.toString();
    }

    @Override
    public Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record,
                                Exception exception) {
        LOG.warn("skipped {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), exception.getMessage());
        if (deadLetterTopic == null) {
            return Response.resume();
        }
        var dead = new ProducerRecord<>(deadLetterTopic, null, record.timestamp(), record.key(), record.value());
        dead.headers().add("error", String.valueOf(exception.getMessage()).getBytes(StandardCharsets.UTF_8));
        dead.headers().add("source", (record.topic() + "-" + record.partition() + "@" + record.offset())
                .getBytes(StandardCharsets.UTF_8));
        return Response.resume(List.of(dead));
    }
}
