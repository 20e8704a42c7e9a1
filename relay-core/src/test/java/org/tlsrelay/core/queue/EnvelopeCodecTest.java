package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EnvelopeCodecTest {
    private static final Instant NOW = Instant.parse("2025-06-01T10:00:00Z");

    private static Envelope envelope() {
        return Envelope.accepted(
                "Q1",
                NOW,
                "a@example.org",
                List.of(RecipientStatus.pending("b@example.net", Set.of(), "", NOW)),
                null,
                false,
                null,
                "",
                Envelope.Source.local());
    }

    @Test
    void requireTlsAndTlsRequiredNoSurviveTheSpoolFormat() throws Exception {
        Envelope e = envelope().withTlsRequirement(true, true);
        Envelope back = EnvelopeCodec.decode(EnvelopeCodec.encode(e));
        assertTrue(back.requireTls());
        assertTrue(back.tlsRequiredNo());
        assertEquals(e, back);
    }

    @Test
    void envelopesWrittenBeforeRequireTlsReadAsWithoutIt() throws Exception {
        String json =
                new String(EnvelopeCodec.encode(envelope()), StandardCharsets.UTF_8)
                        .replace(",\"requireTls\":false", "")
                        .replace(",\"tlsRequiredNo\":false", "");
        assertFalse(json.contains("requireTls") || json.contains("tlsRequiredNo"), json);
        Envelope old = EnvelopeCodec.decode(json.getBytes(StandardCharsets.UTF_8));
        assertFalse(old.requireTls());
        assertFalse(old.tlsRequiredNo());
        assertEquals("Q1", old.id());
    }

    @Test
    void flagsAreKeptWhenTheEnvelopeChanges() {
        Envelope e =
                envelope()
                        .withTlsRequirement(true, false)
                        .withAttempts(2)
                        .withNotes(List.of("n"))
                        .withNextAttempt(NOW.plusSeconds(60))
                        .withRecipients(envelope().recipients());
        assertTrue(e.requireTls());
        assertFalse(e.tlsRequiredNo());
    }

    @Test
    void tlsRequiredNoIsIgnoredForRequireTlsMessages() {
        assertTrue(envelope().withTlsRequirement(false, true).tlsPolicyOptional());
        assertFalse(envelope().withTlsRequirement(true, true).tlsPolicyOptional(), "RFC 8689 §4.1");
        assertFalse(envelope().tlsPolicyOptional());
    }
}
