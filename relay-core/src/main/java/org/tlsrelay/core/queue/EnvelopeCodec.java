package org.tlsrelay.core.queue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
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
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Envelope files as JSON. Times are ISO-8601 instants ({@code 2025-01-31T12:00:00.123Z}); unknown keys are ignored,
 * so that a relay rolled back to an older version still reads envelopes a newer one wrote.
 *
 * <p>The spool writes and reads envelopes on every accept, claim and update, so {@link #encode} and {@link #decode}
 * stream the fields by hand through Jackson's generator and parser, without the object mapper's reflection; the bytes
 * are the ones {@link #mapper()} writes for the record (the tests compare them), so envelopes written by earlier
 * versions and by this one are one format. {@link #mapper()} stays for {@code tlsrelay queue ... --json}.
 */
public final class EnvelopeCodec {
    private static final JsonFactory JSON = new JsonFactory();

    private EnvelopeCodec() {}

    /** The mapper for {@code tlsrelay queue ... --json}: ISO instants, records as objects. */
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

    public static byte[] encode(Envelope e) {
        try (ByteArrayBuilder out = new ByteArrayBuilder(1024);
                JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("id", e.id());
            g.writeStringField("arrival", e.arrival().toString());
            g.writeStringField("sender", e.sender());
            g.writeArrayFieldStart("recipients");
            for (RecipientStatus r : e.recipients()) {
                writeRecipient(g, r);
            }
            g.writeEndArray();
            g.writeStringField("body", e.body().name());
            g.writeBooleanField("smtpUtf8", e.smtpUtf8());
            g.writeStringField("ret", e.ret().name());
            g.writeStringField("envid", e.envid());
            Envelope.Source s = e.source();
            g.writeObjectFieldStart("source");
            g.writeStringField("protocol", s.protocol());
            g.writeStringField("address", s.address());
            g.writeStringField("helo", s.helo());
            g.writeStringField("user", s.user());
            g.writeStringField("tls", s.tls());
            g.writeEndObject();
            g.writeArrayFieldStart("notes");
            for (String n : e.notes()) {
                g.writeString(n);
            }
            g.writeEndArray();
            g.writeNumberField("attempts", e.attempts());
            g.writeStringField("nextAttempt", e.nextAttempt().toString());
            g.writeBooleanField("requireTls", e.requireTls());
            g.writeBooleanField("tlsRequiredNo", e.tlsRequiredNo());
            g.writeEndObject();
            g.flush();
            return out.toByteArray();
        } catch (IOException x) {
            throw new IllegalStateException("cannot encode envelope " + e.id(), x);
        }
    }

    private static void writeRecipient(JsonGenerator g, RecipientStatus r) throws IOException {
        g.writeStartObject();
        g.writeStringField("address", r.address());
        g.writeArrayFieldStart("notify");
        for (RecipientStatus.Notify n : r.dsnNotify()) {
            g.writeString(n.name());
        }
        g.writeEndArray();
        g.writeStringField("orcpt", r.orcpt());
        g.writeStringField("state", r.state().name());
        g.writeNumberField("attempts", r.attempts());
        g.writeStringField("lastReply", r.lastReply());
        g.writeStringField("updated", r.updated().toString());
        // what the mapper writes for isPending(); ignored when read
        g.writeBooleanField("pending", r.isPending());
        g.writeEndObject();
    }

    /** Decodes an envelope; any problem (bad JSON, missing field, bad value) is an {@link IOException}. */
    public static Envelope decode(byte[] json) throws IOException {
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(
                        json.length == 0 || p.currentToken() == null
                                ? "empty envelope"
                                : "the envelope is not a JSON object");
            }
            return readEnvelope(p);
        } catch (IOException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static Envelope readEnvelope(JsonParser p) throws IOException {
        String id = null;
        Instant arrival = null;
        String sender = null;
        List<RecipientStatus> recipients = null;
        Envelope.BodyType body = null;
        boolean smtpUtf8 = false;
        Envelope.Ret ret = null;
        String envid = null;
        Envelope.Source source = null;
        List<String> notes = null;
        int attempts = 0;
        Instant nextAttempt = null;
        boolean requireTls = false;
        boolean tlsRequiredNo = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "id" -> id = text(p);
                case "arrival" -> arrival = instant(p);
                case "sender" -> sender = text(p);
                case "recipients" -> recipients = recipients(p);
                case "body" -> body = enumValue(p, Envelope.BodyType.class);
                case "smtpUtf8" -> smtpUtf8 = p.getValueAsBoolean();
                case "ret" -> ret = enumValue(p, Envelope.Ret.class);
                case "envid" -> envid = text(p);
                case "source" -> source = source(p);
                case "notes" -> notes = strings(p);
                case "attempts" -> attempts = p.getValueAsInt();
                case "nextAttempt" -> nextAttempt = instant(p);
                case "requireTls" -> requireTls = p.getValueAsBoolean();
                case "tlsRequiredNo" -> tlsRequiredNo = p.getValueAsBoolean();
                default -> skip(p, t);
            }
        }
        return new Envelope(
                id,
                arrival,
                sender,
                recipients,
                body,
                smtpUtf8,
                ret,
                envid,
                source,
                notes,
                attempts,
                nextAttempt,
                requireTls,
                tlsRequiredNo);
    }

    private static List<RecipientStatus> recipients(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        expect(p, JsonToken.START_ARRAY, "recipients");
        List<RecipientStatus> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            expect(p, JsonToken.START_OBJECT, "recipients");
            out.add(recipient(p));
        }
        return out;
    }

    private static RecipientStatus recipient(JsonParser p) throws IOException {
        String address = null;
        Set<RecipientStatus.Notify> notify = null;
        String orcpt = null;
        RecipientStatus.State state = null;
        int attempts = 0;
        String lastReply = null;
        Instant updated = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "address" -> address = text(p);
                case "notify" -> notify = notify(p);
                case "orcpt" -> orcpt = text(p);
                case "state" -> state = enumValue(p, RecipientStatus.State.class);
                case "attempts" -> attempts = p.getValueAsInt();
                case "lastReply" -> lastReply = text(p);
                case "updated" -> updated = instant(p);
                default -> skip(p, t); // "pending" and whatever a newer version adds
            }
        }
        return new RecipientStatus(address, notify, orcpt, state, attempts, lastReply, updated);
    }

    private static Set<RecipientStatus.Notify> notify(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        expect(p, JsonToken.START_ARRAY, "notify");
        Set<RecipientStatus.Notify> out = EnumSet.noneOf(RecipientStatus.Notify.class);
        while (p.nextToken() != JsonToken.END_ARRAY) {
            out.add(enumValue(p, RecipientStatus.Notify.class));
        }
        return out;
    }

    private static Envelope.Source source(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        expect(p, JsonToken.START_OBJECT, "source");
        String protocol = null;
        String address = null;
        String helo = null;
        String user = null;
        String tls = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "protocol" -> protocol = text(p);
                case "address" -> address = text(p);
                case "helo" -> helo = text(p);
                case "user" -> user = text(p);
                case "tls" -> tls = text(p);
                default -> skip(p, t);
            }
        }
        return new Envelope.Source(protocol, address, helo, user, tls);
    }

    private static List<String> strings(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        expect(p, JsonToken.START_ARRAY, "notes");
        List<String> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            out.add(text(p));
        }
        return out;
    }

    private static String text(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == null) {
            throw new IOException("the envelope ends too early");
        }
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (!t.isScalarValue()) {
            throw new IOException(
                    "\"" + p.currentName() + "\": a text was expected, not " + t.asString());
        }
        return p.getValueAsString();
    }

    private static Instant instant(JsonParser p) throws IOException {
        String text = text(p);
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new IOException(
                    "\"" + p.currentName() + "\": \"" + text + "\" is not an ISO-8601 instant", e);
        }
    }

    private static <E extends Enum<E>> E enumValue(JsonParser p, Class<E> type) throws IOException {
        String text = text(p);
        if (text == null) {
            return null;
        }
        try {
            return Enum.valueOf(type, text);
        } catch (IllegalArgumentException e) {
            throw new IOException(
                    "\"" + p.currentName() + "\": \"" + text + "\" is not a known value", e);
        }
    }

    private static void expect(JsonParser p, JsonToken want, String what) throws IOException {
        if (p.currentToken() != want) {
            throw new IOException("\"" + what + "\": unexpected " + p.currentToken());
        }
    }

    private static void skip(JsonParser p, JsonToken t) throws IOException {
        if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
            p.skipChildren();
        }
    }
}
