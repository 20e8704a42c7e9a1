package org.tlsrelay.core.queue;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Envelope files as JSON. Times are ISO-8601 instants ({@code 2025-01-31T12:00:00.123Z}); unknown keys are ignored,
 * so that a relay rolled back to an older version still reads envelopes a newer one wrote.
 */
public final class EnvelopeCodec {
    private static final ObjectMapper MAPPER = mapper();

    private EnvelopeCodec() {}

    /** The mapper for envelopes and for {@code tlsrelay queue ... --json}: ISO instants, records as objects. */
    public static ObjectMapper mapper() {
        SimpleModule time = new SimpleModule("tlsrelay-instant");
        time.addSerializer(
                Instant.class,
                new JsonSerializer<>() {
                    @Override
                    public void serialize(
                            Instant value, JsonGenerator gen, SerializerProvider serializers)
                            throws IOException {
                        gen.writeString(value.toString());
                    }
                });
        time.addDeserializer(
                Instant.class,
                new JsonDeserializer<>() {
                    @Override
                    public Instant deserialize(JsonParser p, DeserializationContext ctxt)
                            throws IOException {
                        String text = p.getValueAsString();
                        try {
                            return Instant.parse(text);
                        } catch (DateTimeParseException | NullPointerException e) {
                            return (Instant)
                                    ctxt.handleWeirdStringValue(
                                            Instant.class, text, "not an ISO-8601 instant");
                        }
                    }
                });
        return JsonMapper.builder()
                .addModule(time)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .build();
    }

    public static byte[] encode(Envelope envelope) {
        try {
            return MAPPER.writeValueAsBytes(envelope);
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode envelope " + envelope.id(), e);
        }
    }

    /** Decodes an envelope; any problem (bad JSON, missing field, bad value) is an {@link IOException}. */
    public static Envelope decode(byte[] json) throws IOException {
        try {
            Envelope e = MAPPER.readValue(json, Envelope.class);
            if (e == null) {
                throw new IOException("empty envelope");
            }
            return e;
        } catch (IOException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new IOException(e.getMessage(), e);
        }
    }
}
