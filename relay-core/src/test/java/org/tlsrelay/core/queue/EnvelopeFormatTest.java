package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The spool's hand-streamed envelope codec writes the bytes the object mapper writes for the {@link Envelope} record
 * (the format of spools written by earlier versions, and of {@code queue show --json}), and reads what the mapper reads.
 */
class EnvelopeFormatTest {
    private static final ObjectMapper MAPPER = EnvelopeCodec.mapper();
    private static final Instant T = Instant.parse("2025-06-01T10:00:00.123456Z");

    /** Every character class the JSON escaping distinguishes: controls, quotes, non-ASCII, a surrogate pair. */
    private static String awkward() {
        StringBuilder sb = new StringBuilder();
        for (char c = 0; c < 0x80; c++) {
            sb.append(c);
        }
        return sb.append("é\u2028\u00ff\ud83d\udce7 ünïcødé").toString();
    }

    static List<Envelope> envelopes() {
        Envelope plain =
                Envelope.accepted(
                        "1j1vls8gnfk5k9",
                        T,
                        "a@example.org",
                        List.of(RecipientStatus.pending("b@example.net", Set.of(), "", T)),
                        null,
                        false,
                        null,
                        "",
                        Envelope.Source.local());
        Envelope full =
                Envelope.accepted(
                                "1j1vls8gnfk5ka",
                                T,
                                awkward(),
                                List.of(
                                        RecipientStatus.pending(
                                                "b@example.net",
                                                Set.of(
                                                        RecipientStatus.Notify.DELAY,
                                                        RecipientStatus.Notify.SUCCESS),
                                                "rfc822;b@example.net",
                                                T),
                                        new RecipientStatus(
                                                "c@x.test",
                                                Set.of(RecipientStatus.Notify.NEVER),
                                                "",
                                                RecipientStatus.State.FAILED,
                                                7,
                                                "550 5.1.1 " + awkward(),
                                                Instant.EPOCH)),
                                Envelope.BodyType.EIGHT_BIT_MIME,
                                true,
                                Envelope.Ret.HDRS,
                                "env</id>" + awkward(),
                                new Envelope.Source(
                                        "smtp", "::1", "helo", "user", "TLSv1.3 TLS_AES"))
                        .withNotes(List.of("n1", awkward()))
                        .withAttempts(3)
                        .withNextAttempt(T.plusSeconds(300))
                        .withTlsRequirement(true, false);
        return List.of(plain, full, full.withTlsRequirement(false, true));
    }

    @Test
    void writesTheBytesTheObjectMapperWrites() throws Exception {
        for (Envelope e : envelopes()) {
            assertEquals(
                    new String(MAPPER.writeValueAsBytes(e), StandardCharsets.UTF_8),
                    new String(EnvelopeCodec.encode(e), StandardCharsets.UTF_8));
            assertEquals(e, EnvelopeCodec.decode(MAPPER.writeValueAsBytes(e)));
            assertEquals(e, MAPPER.readValue(EnvelopeCodec.encode(e), Envelope.class));
        }
    }

    @Test
    void readsOlderAndNewerEnvelopesAsTheMapperDoes() throws Exception {
        String older =
                "{\"id\":\"Q1\",\"arrival\":\"2025-06-01T10:00:00Z\",\"sender\":\"\","
                        + "\"recipients\":[{\"address\":\"b@example.net\",\"notify\":null,"
                        + "\"updated\":\"2025-06-01T10:00:00Z\",\"future\":{\"x\":[1,2]}}],"
                        + "\"source\":null,\"newer\":[{\"a\":1}],\"attempts\":2}";
        byte[] json = older.getBytes(StandardCharsets.UTF_8);
        Envelope mine = EnvelopeCodec.decode(json);
        assertEquals(MAPPER.readValue(json, Envelope.class), mine);
        assertEquals(2, mine.attempts());
        assertEquals(Envelope.Source.local(), mine.source());
        assertEquals(mine.arrival(), mine.nextAttempt());
    }

    @Test
    void anythingUnreadableIsAnIoException() {
        for (String bad :
                List.of(
                        "",
                        "[]",
                        "{ not json",
                        "{\"id\":\"Q1\"}",
                        "{\"id\":\"Q1\",\"arrival\":\"yesterday\",\"sender\":\"\",\"recipients\":[]}",
                        "{\"id\":\"Q1\",\"arrival\":\"2025-06-01T10:00:00Z\",\"sender\":\"\","
                                + "\"recipients\":[{\"address\":\"b@x\",\"state\":\"LOST\","
                                + "\"updated\":\"2025-06-01T10:00:00Z\"}]}",
                        "{\"id\":\"Q1\",\"arrival\":\"2025-06-01T10:00:00Z\",\"sender\":\"\","
                                + "\"recipients\":[{\"address\":\"b@x\"")) {
            assertThrows(
                    IOException.class,
                    () -> EnvelopeCodec.decode(bad.getBytes(StandardCharsets.UTF_8)),
                    bad);
        }
    }
}
