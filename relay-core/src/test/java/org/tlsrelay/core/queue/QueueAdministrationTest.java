package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 11 §5: {@code queue flush} in batches that let delivery start at once, and damage named by {@code queue list}. */
class QueueAdministrationTest {
    private static final int MESSAGES = 300;

    @TempDir Path dir;

    @Test
    void flushMakesEveryMessageDueInBatchesAndWakesTheRelayAfterTheFirst() throws Exception {
        AtomicInteger directorySyncs = new AtomicInteger();
        AtomicBoolean counting = new AtomicBoolean();
        Spool.FaultHook count =
                (step, file) -> {
                    if (counting.get() && step == Spool.Step.SYNC_DIRECTORY) {
                        directorySyncs.incrementAndGet();
                    }
                };
        try (Spool relay = Spool.open(dir, Spool.Options.defaults());
                SpoolAdmin admin =
                        SpoolAdmin.open(dir, Spool.Options.defaults().withFaults(count))) {
            Instant later = relay.clock().instant().plus(Duration.ofHours(4));
            for (int i = 0; i < MESSAGES; i++) {
                String id = SpoolTest.accept(relay, "x\r\n", "r" + i + "@example.com").id();
                relay.takeDue(1);
                relay.defer(id, later);
            }
            assertTrue(relay.takeDue(1).isEmpty(), "nothing due before the flush");
            CountDownLatch woken = new CountDownLatch(1);
            relay.addListener(woken::countDown);
            List<String> takenDuringFlush = new ArrayList<>();
            AtomicInteger seen = new AtomicInteger();

            counting.set(true);
            long start = System.nanoTime();
            int flushed =
                    admin.flush(
                            id -> {
                                if (seen.incrementAndGet() == Administration.FLUSH_BATCH + 1) {
                                    // the second batch: the relay heard of the first and can take
                                    // it
                                    try {
                                        assertTrue(woken.await(10, TimeUnit.SECONDS), "woken");
                                        for (QueuedMessage m : relay.takeDue(10)) {
                                            takenDuringFlush.add(m.id());
                                        }
                                    } catch (IOException | InterruptedException e) {
                                        throw new AssertionError(e);
                                    }
                                }
                            });
            long took = System.nanoTime() - start;
            counting.set(false);

            assertFalse(takenDuringFlush.isEmpty(), "delivery started while the flush ran");
            assertEquals(MESSAGES, flushed);
            int batches = (MESSAGES + Administration.FLUSH_BATCH - 1) / Administration.FLUSH_BATCH;
            assertTrue(
                    directorySyncs.get() <= batches,
                    directorySyncs.get() + " directory fsyncs for " + batches + " batches");
            Set<String> due = new java.util.HashSet<>(takenDuringFlush);
            for (List<QueuedMessage> b = relay.takeDue(100); !b.isEmpty(); b = relay.takeDue(100)) {
                b.forEach(m -> due.add(m.id()));
            }
            assertEquals(MESSAGES, due.size(), "every message due");
            System.out.printf(
                    "queue flush: %d messages in %d ms, %d directory fsyncs%n",
                    MESSAGES, TimeUnit.NANOSECONDS.toMillis(took), directorySyncs.get());
        }
    }

    @Test
    void listNamesEachDamagedEntryUnderItsOwnFileIdWithWhatIsWrong() throws Exception {
        Map<String, String> expected;
        String good;
        String twice;
        try (Spool relay = Spool.open(dir, Spool.Options.defaults())) {
            good = SpoolTest.accept(relay, "good\r\n", "a@example.com").id();
            String truncated = SpoolTest.accept(relay, "x\r\n", "b@example.com").id();
            String empty = SpoolTest.accept(relay, "x\r\n", "c@example.com").id();
            String impostor = SpoolTest.accept(relay, "x\r\n", "d@example.com").id();
            String noContent = SpoolTest.accept(relay, "x\r\n", "e@example.com").id();
            twice = SpoolTest.accept(relay, "x\r\n", "f@example.com").id();
            String setAside = SpoolTest.accept(relay, "x\r\n", "g@example.com").id();
            String orphan = SpoolTest.accept(relay, "x\r\n", "h@example.com").id();
            Path in = dir.resolve("incoming");
            byte[] goodEnvelope = Files.readAllBytes(in.resolve(good + ".json"));
            Files.write(
                    in.resolve(truncated + ".json"), "{\"id\":\"".getBytes(StandardCharsets.UTF_8));
            Files.write(in.resolve(empty + ".json"), new byte[0]);
            Files.write(in.resolve(impostor + ".json"), goodEnvelope); // names the good message
            Files.delete(in.resolve(noContent + ".eml"));
            Files.copy(in.resolve(twice + ".json"), dir.resolve("hold").resolve(twice + ".json"));
            Files.move(
                    in.resolve(setAside + ".json"), dir.resolve("corrupt/" + setAside + ".json"));
            Files.move(in.resolve(setAside + ".eml"), dir.resolve("corrupt/" + setAside + ".eml"));
            Files.delete(in.resolve(orphan + ".json"));
            Files.copy(in.resolve(twice + ".json"), dir.resolve("corrupt/" + twice + ".dup.json"));
            expected =
                    Map.of(
                            truncated,
                            "unreadable envelope",
                            empty,
                            "unreadable envelope",
                            impostor,
                            "the envelope names another message, " + good,
                            noContent,
                            "its message content (" + noContent + ".eml) is missing",
                            twice,
                            "a second envelope of this message (the one in incoming/ counts)",
                            setAside,
                            "set aside in corrupt/",
                            orphan,
                            "message content without an envelope",
                            twice + ".dup",
                            "a second envelope of message " + twice);
        }
        try (SpoolAdmin admin = SpoolAdmin.open(dir)) {
            List<QueueEntry> entries = admin.entries();
            List<QueueEntry.Damaged> damaged =
                    entries.stream()
                            .filter(QueueEntry.Damaged.class::isInstance)
                            .map(QueueEntry.Damaged.class::cast)
                            .toList();
            Map<String, String> errors =
                    damaged.stream()
                            .collect(
                                    Collectors.toMap(
                                            QueueEntry.Damaged::id, QueueEntry.Damaged::error));
            assertEquals(expected.keySet(), errors.keySet(), errors.toString());
            expected.forEach(
                    (id, what) ->
                            assertTrue(errors.get(id).contains(what), id + ": " + errors.get(id)));
            List<String> messages =
                    entries.stream()
                            .filter(QueueEntry.Message.class::isInstance)
                            .map(QueueEntry::id)
                            .toList();
            assertEquals(
                    Set.of(good, twice),
                    Set.copyOf(messages),
                    "the impostor is not listed as the message it names");
            assertEquals(messages, admin.list().stream().map(QueuedMessage::id).toList());
        }
    }
}
