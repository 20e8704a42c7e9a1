package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The envelope update after an attempt ({@link Spool#defer(Envelope)}) under an I/O error at each step of its write
 * protocol: the message stays readable with either the old or the new envelope, no temp file stays behind, and the
 * same call succeeds once the disk takes writes again — what the delivery engine relies on to hold results in memory
 * and write them later.
 */
class SpoolWriteFaultTest {
    @TempDir Path dir;

    @ParameterizedTest
    @EnumSource(
            value = Spool.Step.class,
            names = {"WRITE_ENVELOPE", "SYNC_ENVELOPE", "RENAME", "SYNC_DIRECTORY"})
    void aFailedEnvelopeUpdateLeavesTheOldOrTheNewEnvelopeAndCanBeRepeated(Spool.Step failing)
            throws IOException {
        AtomicReference<Spool.Step> fault = new AtomicReference<>();
        Spool.FaultHook hook =
                (step, file) -> {
                    if (step == fault.get()) {
                        throw new IOException("No space left on device");
                    }
                };
        try (Spool spool = Spool.open(dir, Spool.Options.defaults().withFaults(hook))) {
            QueuedMessage m =
                    SpoolTest.accept(spool, "Subject: x\r\n\r\nx\r\n", "a@a.test", "b@b.test");
            Envelope before = spool.takeDue(1).get(0).envelope();
            Instant now = spool.clock().instant();
            Envelope after =
                    before.withResults(
                                    List.of(
                                            RecipientResult.delivered("a@a.test", "250 2.0.0 Ok"),
                                            RecipientResult.deferred("b@b.test", "451 4.4.1 down")),
                                    now)
                            .deferredUntil(now.plus(Duration.ofMinutes(5)));

            fault.set(failing);
            IOException e = assertThrows(IOException.class, () -> spool.defer(after));
            assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
            Envelope onDisk = spool.find(m.id()).orElseThrow().envelope();
            assertTrue(
                    onDisk.equals(before) || onDisk.equals(after),
                    "old or new after a failure at " + failing + ": " + onDisk);
            assertEquals(List.of(), temps(), "no temp file after a failure at " + failing);

            fault.set(null);
            assertTrue(spool.defer(after));
            QueuedMessage written = spool.find(m.id()).orElseThrow();
            assertEquals(after, written.envelope());
            assertEquals(QueueState.DEFERRED, written.state());
            assertEquals(
                    RecipientStatus.State.DELIVERED,
                    written.envelope().recipients().get(0).state());
        }
    }

    private List<Path> temps() throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
        }
    }
}
