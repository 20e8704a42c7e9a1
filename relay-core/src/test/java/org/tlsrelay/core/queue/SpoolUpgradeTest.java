package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A spool written by the previous version (0.1.0, before the envelope codec streamed its fields: the files under
 * {@code spool-0.1.0/} were written by that version's {@code Spool}) is taken over by this one as it is: both messages
 * are scheduled and claimed with their envelopes, a recipient delivered before the upgrade stays delivered, and what
 * this version writes back the previous version's object mapper still reads (a rollback).
 */
class SpoolUpgradeTest {
    private static final String NEW = "1j1hr050h00gkc";
    private static final String DEFERRED = "1j1hr050h00gkd";
    private static final String[] FILES = {
        "incoming/" + NEW + ".json",
        "incoming/" + NEW + ".eml",
        "deferred/" + DEFERRED + ".json",
        "deferred/" + DEFERRED + ".eml"
    };

    @TempDir Path dir;

    private void copyOldSpool() throws IOException {
        for (String f : FILES) {
            Path to = dir.resolve(f);
            Files.createDirectories(to.getParent());
            try (InputStream in = getClass().getResourceAsStream("spool-0.1.0/" + f)) {
                Files.copy(in, to);
            }
        }
    }

    @Test
    void aSpoolOfThePreviousVersionIsDeliveredAfterTheUpgrade() throws Exception {
        copyOldSpool();
        byte[] oldBody = Files.readAllBytes(dir.resolve("deferred/" + DEFERRED + ".eml"));
        Clock later = Clock.fixed(Instant.parse("2026-12-01T09:10:00Z"), ZoneOffset.UTC);
        try (Spool spool = Spool.open(dir, Spool.Options.defaults().withClock(later))) {
            Map<String, QueuedMessage> taken =
                    spool.takeDue(10).stream()
                            .collect(Collectors.toMap(QueuedMessage::id, Function.identity()));
            assertEquals(List.of(NEW, DEFERRED), taken.keySet().stream().sorted().toList());

            Envelope fresh = taken.get(NEW).envelope();
            assertEquals("old@example.org", fresh.sender());
            assertEquals(2, fresh.pending().size());
            assertEquals(Envelope.BodyType.EIGHT_BIT_MIME, fresh.body());
            assertEquals(Envelope.Ret.HDRS, fresh.ret());
            assertEquals("envid-0", fresh.envid());
            assertEquals("rfc822;x@example.net", fresh.recipients().get(0).orcpt());

            Envelope deferred = taken.get(DEFERRED).envelope();
            assertTrue(deferred.requireTls());
            assertEquals(1, deferred.attempts());
            assertEquals(
                    List.of("y@example.com"),
                    deferred.pending().stream().map(RecipientStatus::address).toList(),
                    "the recipient delivered before the upgrade is not sent again");
            assertEquals(List.of("mx1.example.com: policy mta-sts/enforce"), deferred.notes());
            assertArrayEquals(oldBody, Files.readAllBytes(taken.get(DEFERRED).body()));

            // this version writes an update; the previous version's mapper reads it (a rollback)
            Instant now = later.instant();
            Envelope after =
                    deferred.withResults(
                                    List.of(
                                            RecipientResult.deferred(
                                                    "y@example.com", "451 4.4.1 again")),
                                    now)
                            .deferredUntil(now.plusSeconds(900));
            assertTrue(spool.defer(after));
            byte[] written = Files.readAllBytes(dir.resolve("deferred/" + DEFERRED + ".json"));
            assertEquals(after, EnvelopeCodec.mapper().readValue(written, Envelope.class));

            assertTrue(spool.complete(NEW));
            assertTrue(spool.complete(DEFERRED));
            try (var files = Files.walk(dir)) {
                assertEquals(
                        List.of(),
                        files.filter(
                                        p ->
                                                p.toString().endsWith(".json")
                                                        || p.toString().endsWith(".eml"))
                                .sorted(Comparator.naturalOrder())
                                .toList());
            }
        }
    }
}
