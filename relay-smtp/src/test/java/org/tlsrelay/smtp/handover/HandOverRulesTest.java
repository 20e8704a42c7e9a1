package org.tlsrelay.smtp.handover;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;

class HandOverRulesTest {
    private static final Instant T = Instant.parse("2026-12-06T12:00:00Z");

    private static Envelope envelope(String kind) {
        RecipientStatus plain = RecipientStatus.pending("bob@example.com", Set.of(), "", T);
        RecipientStatus notify =
                RecipientStatus.pending(
                        "bob@example.com", Set.of(RecipientStatus.Notify.SUCCESS), "", T);
        RecipientStatus utf8 = RecipientStatus.pending("bob@bücher.example", Set.of(), "", T);
        Envelope e =
                Envelope.accepted(
                        "1j1v7tv5ks0lsh",
                        T,
                        "alice@example.org",
                        List.of(kind.equals("dsn") ? notify : kind.equals("utf8") ? utf8 : plain),
                        kind.equals("8bit")
                                ? Envelope.BodyType.EIGHT_BIT_MIME
                                : Envelope.BodyType.UNSPECIFIED,
                        false,
                        Envelope.Ret.UNSPECIFIED,
                        "",
                        Envelope.Source.local());
        return switch (kind) {
            case "requiretls" -> e.withTlsRequirement(true, false);
            case "tlsoptional" -> e.withTlsRequirement(false, true);
            default -> e;
        };
    }

    /** message kind × session (tls, verified, extensions) → the reason it stays here ("" when it goes). */
    @ParameterizedTest(name = "{0} over tls={1} verified={2} [{3}] → {4}")
    @CsvSource(
            delimiter = '|',
            value = {
                "plain       | none    | false |                            | ''",
                "plain       | TLSv1.3 | false | SIZE                       | ''",
                "tlsoptional | none    | false |                            | ''",
                "requiretls  | none    | false | REQUIRETLS                 | offered no STARTTLS",
                "requiretls  | TLSv1.3 | false | REQUIRETLS                 | with a verified certificate",
                "requiretls  | TLSv1.3 | true  |                            | does not advertise REQUIRETLS",
                "requiretls  | TLSv1.3 | true  | REQUIRETLS                 | ''",
                "utf8        | TLSv1.3 | true  | 8BITMIME DSN               | needs SMTPUTF8",
                "utf8        | none    | false | SMTPUTF8                   | ''",
                "8bit        | none    | false | DSN                        | is 8BITMIME",
                "8bit        | none    | false | 8BITMIME                   | ''",
                "dsn         | TLSv1.3 | true  | 8BITMIME SMTPUTF8          | DSN parameters (RFC 3461) would be lost",
                "dsn         | TLSv1.3 | true  | DSN                        | ''",
            })
    void decidesWhatTheSessionCanCarry(
            String kind, String tls, boolean verified, String extensions, String reason) {
        Set<String> ext =
                extensions == null
                        ? Set.of()
                        : Set.copyOf(Arrays.asList(extensions.trim().split("\\s+")));
        SessionFacts s = new SessionFacts("relay-1[10.0.0.5]:25", tls, verified, ext, 0);
        String got = HandOverRules.refusal(envelope(kind), 100, s).orElse("");
        if (reason.isEmpty()) {
            assertEquals("", got);
        } else {
            assertEquals(true, got.contains(reason), got);
        }
    }

    @ParameterizedTest
    @CsvSource({"100, ''", "101, above the limit"})
    void keepsToTheAdvertisedSize(long size, String reason) {
        SessionFacts s =
                new SessionFacts("relay-1[10.0.0.5]:25", "none", false, Set.of("SIZE"), 100);
        String got = HandOverRules.refusal(envelope("plain"), size, s).orElse("");
        assertEquals(reason.isEmpty(), got.isEmpty(), got);
        assertEquals(true, got.contains(reason), got);
    }
}
