package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class SpoolTest {
    @TempDir Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2025-03-01T10:00:00Z"));

    private Spool.Options options() {
        return Spool.Options.defaults().withClock(clock);
    }

    static QueuedMessage accept(Spool spool, String content, String... rcpts) throws IOException {
        try (Spool.Reception r = spool.receive()) {
            r.body().write(content.getBytes(StandardCharsets.UTF_8));
            Instant now = spool.clock().instant();
            List<RecipientStatus> rs = new ArrayList<>();
            for (String a : rcpts) {
                rs.add(
                        RecipientStatus.pending(
                                a, EnumSet.of(RecipientStatus.Notify.FAILURE), "rfc822;" + a, now));
            }
            return r.commit(
                    Envelope.accepted(
                            r.id(),
                            now,
                            "sender@example.org",
                            rs,
                            Envelope.BodyType.EIGHT_BIT_MIME,
                            true,
                            Envelope.Ret.HDRS,
                            "env-1",
                            new Envelope.Source("smtp", "127.0.0.1", "client.test", "", "")));
        }
    }

    private List<String> names(QueueState s) throws IOException {
        try (Stream<Path> st = Files.list(dir.resolve(s.dirName()))) {
            return st.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void committedMessageIsOnDiskWithItsEnvelopeAndDue() throws IOException {
        try (Spool spool = Spool.open(dir, options())) {
            QueuedMessage m =
                    accept(spool, "Subject: hi\r\n\r\nbody\r\n", "a@example.com", "b@example.net");
            assertEquals(List.of(m.id() + ".eml", m.id() + ".json"), names(QueueState.INCOMING));
            assertEquals("Subject: hi\r\n\r\nbody\r\n", Files.readString(m.body()));
            Envelope read =
                    EnvelopeCodec.decode(
                            Files.readAllBytes(dir.resolve("incoming/" + m.id() + ".json")));
            assertEquals(m.envelope(), read);
            assertEquals(
                    Set.of(RecipientStatus.Notify.FAILURE), read.recipients().get(0).dsnNotify());
            assertEquals(Envelope.Ret.HDRS, read.ret());
            assertEquals(java.util.Optional.of(clock.instant()), spool.nextDue());
        }
    }

    @Test
    void closingWithoutCommitLeavesNothing() throws IOException {
        try (Spool spool = Spool.open(dir, options())) {
            try (Spool.Reception r = spool.receive()) {
                r.body().write(new byte[100_000]);
            }
            assertEquals(List.of(), names(QueueState.INCOMING));
            assertTrue(spool.nextDue().isEmpty());
        }
    }

    @Test
    void anIoErrorAtAnyStepOfTheCommitLeavesNoHalfMessage() throws IOException {
        for (Spool.Step failing : Spool.Step.values()) {
            Path d = dir.resolve(failing.name());
            java.util.concurrent.atomic.AtomicBoolean armed =
                    new java.util.concurrent.atomic.AtomicBoolean();
            Spool.FaultHook hook =
                    (step, file) -> {
                        if (armed.get()
                                && step == failing
                                && file.toString().contains("incoming")) {
                            throw new IOException("No space left on device");
                        }
                    };
            try (Spool spool = Spool.open(d, options().withFaults(hook))) {
                armed.set(true);
                IOException e =
                        assertThrows(
                                IOException.class, () -> accept(spool, "x\r\n", "a@example.com"));
                assertEquals("No space left on device", e.getMessage());
                try (Stream<Path> st = Files.list(d.resolve("incoming"))) {
                    assertEquals(List.of(), st.toList(), "after a failure at " + failing);
                }
                assertTrue(spool.list().isEmpty());
            }
        }
    }

    @Test
    void takeDueHandsEachMessageToExactlyOneOfManyWorkers() throws Exception {
        try (Spool spool = Spool.open(dir, options())) {
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < 200; i++) {
                ids.add(accept(spool, "m" + i + "\r\n", "r@example.com").id());
            }
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<String> taken = Collections.synchronizedList(new ArrayList<>());
            List<Future<?>> fs = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                fs.add(
                        pool.submit(
                                () -> {
                                    List<QueuedMessage> batch;
                                    while (!(batch = spool.takeDue(3)).isEmpty()) {
                                        batch.forEach(m -> taken.add(m.id()));
                                    }
                                    return null;
                                }));
            }
            for (Future<?> f : fs) {
                f.get(30, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertEquals(200, taken.size());
            assertEquals(ids, new HashSet<>(taken));
            assertEquals(200, names(QueueState.ACTIVE).size() / 2);
        }
    }

    @Test
    void perRecipientResultsAreOnDiskAfterEachRecordAndDeferSchedulesTheNextAttempt()
            throws IOException {
        try (Spool spool = Spool.open(dir, options())) {
            String id = accept(spool, "x\r\n", "a@example.com", "b@example.net").id();
            QueuedMessage m = spool.takeDue(10).get(0);
            assertEquals(QueueState.ACTIVE, m.state());
            spool.record(
                    id,
                    List.of(RecipientResult.delivered("a@example.com", "250 2.0.0 Ok")),
                    List.of("note 1"));
            Envelope onDisk =
                    EnvelopeCodec.decode(Files.readAllBytes(dir.resolve("active/" + id + ".json")));
            assertEquals(RecipientStatus.State.DELIVERED, onDisk.recipients().get(0).state());
            assertEquals("250 2.0.0 Ok", onDisk.recipients().get(0).lastReply());
            assertEquals(List.of(onDisk.recipients().get(1)), onDisk.pending());
            assertEquals(List.of("note 1"), onDisk.notes());

            Instant next = clock.instant().plus(Duration.ofMinutes(5));
            assertTrue(spool.defer(id, next));
            assertEquals(List.of(id + ".eml", id + ".json"), names(QueueState.DEFERRED));
            assertTrue(spool.takeDue(10).isEmpty());
            clock.advance(Duration.ofMinutes(5));
            QueuedMessage again = spool.takeDue(10).get(0);
            assertEquals(1, again.envelope().attempts());
            assertEquals(
                    RecipientStatus.State.DELIVERED, again.envelope().recipients().get(0).state());
            assertTrue(spool.complete(id));
            assertTrue(spool.list().isEmpty());
            assertFalse(spool.complete(id));
        }
    }

    @Test
    void aDeliveredMessageLeavesWithoutAnOperatorLineAndADeleteNamesItsOperator()
            throws IOException {
        Logger log = (Logger) LoggerFactory.getLogger(OperatorAction.class);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        lines.start();
        log.addAppender(lines);
        try (Spool spool = Spool.open(dir, options())) {
            String done = accept(spool, "x\r\n", "a@example.com").id();
            String deleted = accept(spool, "y\r\n", "b@example.com").id();
            spool.takeDue(10);
            assertTrue(spool.complete(done));
            assertTrue(spool.delete(deleted).isPresent());
            List<String> told =
                    lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
            assertEquals(1, told.size(), told.toString());
            assertTrue(told.get(0).startsWith(deleted + ": deleted by "), told.get(0));
        } finally {
            log.detachAppender(lines);
        }
    }

    @Test
    void recoveryRemovesTempFilesAndOrphansQuarantinesBadEnvelopesAndMakesActiveDueAgain()
            throws IOException {
        String active;
        String deferred;
        String held;
        byte[] content = "Subject: keep me\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        try (Spool spool = Spool.open(dir, options())) {
            active = accept(spool, "Subject: keep me\r\n\r\n", "a@example.com").id();
            spool.takeDue(1);
            deferred = accept(spool, "d\r\n", "d@example.com").id();
            spool.takeDue(1);
            spool.defer(deferred, clock.instant().plus(Duration.ofMinutes(5)));
            held = accept(spool, "h\r\n", "h@example.com").id();
            spool.hold(held);
        }
        // What a crash leaves: a half-written body and envelope, a body that was never
        // acknowledged, a broken envelope.
        Files.writeString(dir.resolve("incoming/0000000000zzzz.eml.tmp"), "half");
        Files.writeString(dir.resolve("incoming/0000000000zzzz.json.tmp"), "{");
        Files.writeString(dir.resolve("incoming/0000000000yyyy.eml"), "never acknowledged");
        Files.writeString(dir.resolve("deferred/" + deferred + ".json"), "{ not json");
        try (Spool spool = Spool.open(dir, options())) {
            assertEquals(List.of(active + ".eml", active + ".json"), names(QueueState.INCOMING));
            assertEquals(List.of(), names(QueueState.ACTIVE));
            assertEquals(List.of(deferred + ".eml", deferred + ".json"), names(QueueState.CORRUPT));
            assertEquals(List.of(held + ".eml", held + ".json"), names(QueueState.HOLD));
            assertEquals(List.of(deferred), spool.unreadable());
            QueuedMessage m = spool.takeDue(10).get(0);
            assertEquals(active, m.id());
            assertArrayEquals(content, Files.readAllBytes(m.body()));
        }
    }

    @Test
    void anInterruptedMoveIsRepairedFromTheEnvelopesDirectory() throws IOException {
        String id;
        try (Spool spool = Spool.open(dir, options())) {
            id = accept(spool, "x\r\n", "a@example.com").id();
        }
        Files.move(
                dir.resolve("incoming/" + id + ".json"), dir.resolve("deferred/" + id + ".json"));
        try (Spool spool = Spool.open(dir, options())) {
            assertEquals(List.of(id + ".eml", id + ".json"), names(QueueState.DEFERRED));
            assertEquals(id, spool.takeDue(1).get(0).id());
        }
    }

    @Test
    void aSecondRelayOnTheSameSpoolIsRefused() throws IOException {
        try (Spool spool = Spool.open(dir, options())) {
            IOException e = assertThrows(IOException.class, () -> Spool.open(dir, options()));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
            try (SpoolAdmin admin = SpoolAdmin.open(dir)) {
                assertTrue(admin.relayRunning());
            }
        }
        try (SpoolAdmin admin = SpoolAdmin.open(dir)) {
            assertFalse(admin.relayRunning());
        }
    }

    @Test
    void operatorCommandsWorkWhileTheRelayRunsAndWakeIt() throws Exception {
        try (Spool relay = Spool.open(dir, options());
                SpoolAdmin admin = SpoolAdmin.open(dir, options())) {
            String id = accept(relay, "x\r\n", "a@example.com").id();
            assertEquals(QueueState.INCOMING, admin.hold(id).orElseThrow());
            assertTrue(relay.takeDue(10).isEmpty(), "a held message is not taken");
            assertEquals(QueueState.HOLD, admin.find(id).orElseThrow().state());

            CountDownLatch woken = new CountDownLatch(1);
            relay.addListener(woken::countDown);
            assertEquals(QueueState.HOLD, admin.release(id).orElseThrow());
            assertTrue(
                    woken.await(10, TimeUnit.SECONDS),
                    "the relay notices a release by another process");
            assertEquals(id, relay.takeDue(10).get(0).id());

            assertEquals(QueueState.ACTIVE, admin.delete(id).orElseThrow());
            assertTrue(
                    relay.record(
                                    id,
                                    List.of(RecipientResult.delivered("a@example.com", "250")),
                                    List.of())
                            .isEmpty(),
                    "a message deleted during delivery stays deleted");
            assertFalse(relay.defer(id, clock.instant()));
            assertTrue(admin.find(id).isEmpty());
            assertTrue(admin.delete("0000000000abcd").isEmpty());
            assertTrue(admin.delete("../../etc/passwd").isEmpty());
        }
    }

    @Test
    void flushMakesDeferredMessagesDueNow() throws Exception {
        try (Spool relay = Spool.open(dir, options());
                SpoolAdmin admin = SpoolAdmin.open(dir, options())) {
            String id = accept(relay, "x\r\n", "a@example.com").id();
            relay.takeDue(1);
            relay.defer(id, clock.instant().plus(Duration.ofHours(4)));
            assertTrue(relay.takeDue(1).isEmpty());
            AtomicReference<Boolean> woken = new AtomicReference<>(false);
            CountDownLatch latch = new CountDownLatch(1);
            relay.addListener(
                    () -> {
                        woken.set(true);
                        latch.countDown();
                    });
            assertEquals(1, admin.flush());
            assertTrue(latch.await(10, TimeUnit.SECONDS));
            assertEquals(id, relay.takeDue(1).get(0).id());
        }
    }

    @Test
    void enqueuedLocalMessagesAreDueAtOnce() throws IOException {
        try (Spool spool = Spool.open(dir, options())) {
            QueuedMessage m =
                    spool.enqueue(
                            "",
                            List.of("sender@example.org"),
                            new ByteArrayInputStream(
                                    "Subject: bounce\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            assertTrue(m.envelope().nullSender());
            assertEquals("local", m.envelope().source().protocol());
            assertEquals(m.id(), spool.takeDue(1).get(0).id());
        }
    }

    @Test
    void adminOnAMissingSpoolIsAnEmptyQueue() throws IOException {
        try (SpoolAdmin admin = SpoolAdmin.open(dir.resolve("nothing-here"))) {
            assertTrue(admin.list().isEmpty());
            assertTrue(admin.find("0000000000abcd").isEmpty());
            assertEquals(0, admin.flush());
        }
    }

    /** A clock the test moves by hand. */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
