package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolDrainTest {
    @TempDir Path dir;

    private static final Spool.Options OPTIONS = Spool.Options.defaults();

    private static String accept(Spool spool, String... rcpts) throws IOException {
        try (Spool.Reception r = spool.receive()) {
            r.body().write("Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
            Instant now = Instant.now();
            return r.commit(
                            Envelope.accepted(
                                    r.id(),
                                    now,
                                    "alice@example.org",
                                    List.of(rcpts).stream()
                                            .map(a -> RecipientStatus.pending(a, Set.of(), "", now))
                                            .toList(),
                                    Envelope.BodyType.UNSPECIFIED,
                                    false,
                                    Envelope.Ret.UNSPECIFIED,
                                    "",
                                    Envelope.Source.local()))
                    .id();
        }
    }

    private static HandOverJournal.Entry entry(String id, String... rcpts) {
        return new HandOverJournal.Entry(
                id, List.of(rcpts), "relay-1:25", "250 2.0.0 Ok: queued as NEW", Instant.now());
    }

    @Test
    void neverRunsBesideARelayOnTheSameSpool() throws Exception {
        Path spool = dir.resolve("spool");
        try (Spool relay = Spool.open(spool, OPTIONS)) {
            assertThrows(SpoolDrain.InUse.class, () -> SpoolDrain.open(spool, OPTIONS));
        }
        try (SpoolDrain drain = SpoolDrain.open(spool, OPTIONS)) {
            IOException e = assertThrows(IOException.class, () -> Spool.open(spool, OPTIONS));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
            assertThrows(SpoolDrain.InUse.class, () -> SpoolDrain.open(spool, OPTIONS));
        }
    }

    @Test
    void removesAMessageOnlyWhenEveryPendingRecipientWasTaken() throws Exception {
        Path spool = dir.resolve("spool");
        String whole;
        String part;
        try (Spool relay = Spool.open(spool, OPTIONS)) {
            whole = accept(relay, "bob@example.com");
            part = accept(relay, "carol@example.net", "dave@example.net");
        }
        try (SpoolDrain drain = SpoolDrain.open(spool, OPTIONS)) {
            assertEquals(2, drain.waiting().size());
            assertEquals(
                    SpoolDrain.Result.REMOVED,
                    drain.handedOver(
                            whole,
                            List.of("bob@example.com"),
                            "relay-1:25",
                            "250 ok",
                            Instant.now()));
            assertEquals(
                    SpoolDrain.Result.KEPT,
                    drain.handedOver(
                            part,
                            List.of("carol@example.net"),
                            "relay-1:25",
                            "250 ok",
                            Instant.now()));
            List<QueuedMessage> left = drain.waiting();
            assertEquals(List.of(part), left.stream().map(QueuedMessage::id).toList());
            RecipientStatus carol = left.get(0).envelope().recipients().get(0);
            assertEquals(RecipientStatus.State.DELIVERED, carol.state());
            assertEquals("handed over to relay-1:25: 250 ok", carol.lastReply());
            assertEquals(
                    List.of("dave@example.net"),
                    left.get(0).envelope().pending().stream()
                            .map(RecipientStatus::address)
                            .toList());
        }
        assertTrue(Files.notExists(spool.resolve(HandOverJournal.FILE)), "journal removed");
    }

    /** A drain killed between its journal record and the removal: the next drain applies the record. */
    @Test
    void theNextDrainAppliesWhatAnInterruptedOneRecorded() throws Exception {
        Path spool = dir.resolve("spool");
        String a;
        String b;
        String c;
        try (Spool relay = Spool.open(spool, OPTIONS)) {
            a = accept(relay, "bob@example.com");
            b = accept(relay, "carol@example.net", "dave@example.net");
            c = accept(relay, "erin@example.com");
        }
        HandOverJournal.append(spool, entry(a, "bob@example.com"), true);
        HandOverJournal.append(spool, entry(b, "carol@example.net"), true);
        // a torn last line: the drain died while appending (the RFC 1047 window: c goes again)
        Files.writeString(
                spool.resolve(HandOverJournal.FILE),
                "{\"id\":\"" + c + "\",\"recip",
                java.nio.file.StandardOpenOption.APPEND);
        try (SpoolDrain drain = SpoolDrain.open(spool, OPTIONS)) {
            assertEquals(2, drain.replayed());
            assertEquals(List.of(b, c), drain.waiting().stream().map(QueuedMessage::id).toList());
            assertEquals(1, drain.waiting().get(0).envelope().pending().size());
        }
        assertTrue(Files.notExists(spool.resolve(HandOverJournal.FILE)));
    }

    /** A relay started on the spool of an interrupted drain does not deliver what the other relay took. */
    @Test
    void aRelayStartAppliesTheJournalBeforeItSchedules() throws Exception {
        Path spool = dir.resolve("spool");
        String a;
        String b;
        try (Spool relay = Spool.open(spool, OPTIONS)) {
            a = accept(relay, "bob@example.com");
            b = accept(relay, "carol@example.net");
        }
        HandOverJournal.append(spool, entry(a, "bob@example.com"), true);
        try (Spool relay = Spool.open(spool, OPTIONS)) {
            assertEquals(Set.of(b), relay.scheduledIds());
            assertTrue(relay.find(a).isEmpty());
        }
        assertTrue(Files.notExists(spool.resolve(HandOverJournal.FILE)));
    }

    @Test
    void heldAndDamagedMessagesAreLeftAlone() throws Exception {
        Path spool = dir.resolve("spool");
        String held;
        String queued;
        try (Spool relay = Spool.open(spool, OPTIONS)) {
            held = accept(relay, "bob@example.com");
            queued = accept(relay, "carol@example.net");
        }
        try (SpoolAdmin admin = SpoolAdmin.open(spool)) {
            admin.hold(held);
        }
        Files.writeString(spool.resolve("incoming/1j1v7tv5ks0lsh.json"), "{not json");
        try (SpoolDrain drain = SpoolDrain.open(spool, OPTIONS)) {
            assertEquals(List.of(queued), drain.waiting().stream().map(QueuedMessage::id).toList());
            assertEquals(
                    Set.of(held, "1j1v7tv5ks0lsh"),
                    Set.copyOf(drain.leftAlone().stream().map(QueueEntry::id).toList()));
        }
    }
}
