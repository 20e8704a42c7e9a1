package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.RetrySchedule;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.outbound.OutboundSettings;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.FakeDnsResolver;

/**
 * Issue 11 §1, a full disk must not turn into a duplicate storm: messages each with one recipient at a working MX and
 * one at a dead MX (it answers the greeting with 421), the spool unable to write an envelope while the attempts run,
 * a retry schedule of one second. Seen before: the message retried at once, again and again, the working MX reached
 * about 770 times per message in 45 s. Now: the working MX gets each message once, the dead MX is tried on the
 * schedule, the envelopes are written once space is back, and the dead MX's recipients are delivered when it
 * recovers. Once with a fault injected into the spool's write path (always runs), once on a real full file system (a
 * small tmpfs; needs root and {@code mount}).
 */
class FullDiskTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final int MESSAGES = 5;
    private static final int ATTEMPTS_WHILE_FULL = 3;
    private static final Pattern QUEUE_ID = Pattern.compile("X-Queue-Id: (\\S+)");

    @TempDir Path dir;
    private final FakeDnsResolver dns = new FakeDnsResolver();
    private final List<AutoCloseable> closing = new ArrayList<>();
    private Logger engineLog;
    private ListAppender<ILoggingEvent> lines;

    /** How the test makes the disk full and frees it again. */
    private interface Disk {
        void fill() throws IOException;

        void free() throws IOException;
    }

    @BeforeEach
    void captureLogs() {
        engineLog = (Logger) LoggerFactory.getLogger(DeliveryEngine.class);
        lines = new ListAppender<>();
        lines.start();
        engineLog.addAppender(lines);
    }

    @AfterEach
    void stop() throws Exception {
        engineLog.detachAppender(lines);
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    @Test
    void aFailingEnvelopeWriteKeepsTheResultsInMemoryAndRetriesOnTheSchedule() throws Exception {
        boolean[] full = {false};
        Spool.FaultHook noSpace =
                (step, file) -> {
                    if (full[0] && step == Spool.Step.WRITE_ENVELOPE) {
                        throw new IOException("No space left on device");
                    }
                };
        Spool spool =
                Spool.open(dir.resolve("spool"), Spool.Options.defaults().withFaults(noSpace));
        runScenario(
                spool,
                new Disk() {
                    @Override
                    public void fill() {
                        full[0] = true;
                    }

                    @Override
                    public void free() {
                        full[0] = false;
                    }
                });
    }

    @Test
    void onARealFullFileSystemNoRecipientGetsASecondCopy() throws Exception {
        Path mount = Files.createDirectories(dir.resolve("small-fs"));
        Assumptions.assumeTrue(
                run("mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", mount.toString()),
                "cannot mount a tmpfs here (needs root): only the fault-injection test ran");
        closing.add(() -> run("umount", "-l", mount.toString()));
        Spool spool = Spool.open(mount.resolve("spool"), Spool.Options.defaults());
        Path filler = mount.resolve("filler");
        runScenario(
                spool,
                new Disk() {
                    @Override
                    public void fill() throws IOException {
                        byte[] chunk = new byte[16 * 1024];
                        try (OutputStream out = Files.newOutputStream(filler)) {
                            while (true) {
                                out.write(chunk);
                            }
                        } catch (IOException e) {
                            assertTrue(
                                    String.valueOf(e.getMessage()).contains("No space left"),
                                    "the file system is full: " + e);
                        }
                    }

                    @Override
                    public void free() throws IOException {
                        Files.delete(filler);
                    }
                });
    }

    private void runScenario(Spool spool, Disk disk) throws Exception {
        closing.add(0, spool);
        TestMx[] mxs = workingAndDeadMx();
        TestMx working = mxs[0];
        TestMx dead = mxs[1];
        dns.mx("good.test", 10, "mx.good.test")
                .a("mx.good.test", "127.0.0.1")
                .mx("dead.test", 10, "mx.dead.test")
                .a("mx.dead.test", "127.0.0.2");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            ids.add(enqueue(spool, "a" + i + "@good.test", "b" + i + "@dead.test"));
        }

        disk.fill();
        DeliveryEngine engine = engine(spool, working.port());
        Await.until(
                () -> working.messages().size() == MESSAGES && engine.heldInMemory() == MESSAGES,
                WAIT,
                "the first attempt of every message, its results held in memory");
        Instant firstAttempts = Instant.now();
        Await.until(
                () -> dead.connections().size() >= MESSAGES * ATTEMPTS_WHILE_FULL,
                WAIT,
                ATTEMPTS_WHILE_FULL + " attempts per message at the dead MX");
        Duration fullFor = Duration.between(firstAttempts, Instant.now());
        int deadAttempts = dead.connections().size();
        // on the schedule: one attempt per message and retry wait, plus the first one (and one
        // in flight at either end)
        long allowed = MESSAGES * (fullFor.toMillis() / RETRY.toMillis() + 3);
        assertTrue(
                deadAttempts <= allowed,
                deadAttempts + " attempts at the dead MX in " + fullFor + ", at most " + allowed);
        assertEquals(MESSAGES, working.messages().size(), "one copy per working recipient");
        for (String id : ids) {
            Envelope onDisk = spool.find(id).orElseThrow().envelope();
            assertEquals(0, onDisk.attempts(), "nothing could be written meanwhile: " + onDisk);
        }
        long spaceLines =
                lines.list.stream()
                        .filter(e -> e.getLevel() == Level.ERROR)
                        .filter(e -> e.getFormattedMessage().contains("No space left on device"))
                        .count();
        assertEquals(1, spaceLines, "one line per cause per minute: " + messages());

        disk.free();
        Await.until(
                () -> engine.heldInMemory() == 0 && ids.stream().allMatch(id -> written(spool, id)),
                WAIT,
                "the envelopes written once space is back");
        for (String id : ids) {
            Envelope env = spool.find(id).orElseThrow().envelope();
            assertTrue(env.attempts() >= ATTEMPTS_WHILE_FULL, env.toString());
            assertEquals(RecipientStatus.State.DELIVERED, env.recipients().get(0).state());
            assertEquals(RecipientStatus.State.PENDING, env.recipients().get(1).state());
        }

        // the dead MX comes back: its recipients are delivered, the working MX's are not again
        dns.remove("mx.dead.test").a("mx.dead.test", "127.0.0.1");
        Await.until(
                () -> ids.stream().allMatch(id -> gone(spool, id)),
                WAIT,
                "every message delivered and done");
        Map<String, Integer> copies = new HashMap<>();
        for (TestMx.Received m : working.messages()) {
            Matcher q = QUEUE_ID.matcher(m.text());
            assertTrue(q.find(), m.text());
            for (String rcpt : m.rcptTo()) {
                copies.merge(q.group(1) + " " + rcpt, 1, Integer::sum);
            }
        }
        assertEquals(2 * MESSAGES, copies.size(), copies.toString());
        assertTrue(copies.values().stream().allMatch(n -> n == 1), "one copy each: " + copies);
        System.out.printf(
                "full disk: %d messages, working MX copies per recipient %s, dead MX attempts %d in %s "
                        + "(retry every %s)%n",
                MESSAGES, Set.copyOf(copies.values()), deadAttempts, fullFor, RETRY);
    }

    private static boolean written(Spool spool, String id) {
        try {
            return spool.find(id).map(m -> m.envelope().attempts() > 0).orElse(false);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean gone(Spool spool, String id) {
        try {
            return spool.find(id).isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    private List<String> messages() {
        return lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    /** A working MX on 127.0.0.1 and a dead one (421 to every connection) on 127.0.0.2, on one port. */
    private TestMx[] workingAndDeadMx() throws IOException {
        for (int tries = 0; ; tries++) {
            TestMx working = TestMx.builder().hostname("mx.good.test").start();
            try {
                TestMx dead =
                        TestMx.builder()
                                .hostname("mx.dead.test")
                                .greeting("421 4.3.2 mx.dead.test is not available")
                                .bind(InetAddress.getByName("127.0.0.2"), working.port())
                                .start();
                closing.add(working);
                closing.add(dead);
                return new TestMx[] {working, dead};
            } catch (BindException e) {
                working.close();
                if (tries > 5) {
                    throw e;
                }
            }
        }
    }

    private DeliveryEngine engine(Spool spool, int port) {
        EngineSettings settings =
                new EngineSettings(
                                port,
                                10,
                                5,
                                new RetrySchedule(List.of(RETRY), Duration.ofDays(1)),
                                "relay.test",
                                64,
                                2,
                                Duration.ofMillis(300))
                        .withSpoolRetry(Duration.ofMillis(200));
        DeliveryEngine e =
                DeliveryEngine.builder(spool, dns, new PolicyTable())
                        .settings(settings)
                        .outbound(
                                OutboundSettings.defaults("relay.test")
                                        .withTimeouts(
                                                Duration.ofSeconds(5), Duration.ofSeconds(10)),
                                TrustMaterial.of(List.of()))
                        .random(new Random(1))
                        .start();
        closing.add(0, e);
        return e;
    }

    private static String enqueue(Spool spool, String... recipients) throws IOException {
        try (Spool.Reception r = spool.receive()) {
            r.body()
                    .write(
                            ("X-Queue-Id: " + r.id() + "\r\nSubject: full disk\r\n\r\nhello\r\n")
                                    .getBytes(StandardCharsets.US_ASCII));
            Instant now = spool.clock().instant();
            List<RecipientStatus> rcpts = new ArrayList<>();
            for (String a : recipients) {
                rcpts.add(RecipientStatus.pending(a, Set.of(), "", now));
            }
            QueuedMessage q =
                    r.commit(
                            Envelope.accepted(
                                    r.id(),
                                    now,
                                    "s@x.test",
                                    rcpts,
                                    Envelope.BodyType.UNSPECIFIED,
                                    false,
                                    Envelope.Ret.UNSPECIFIED,
                                    "",
                                    Envelope.Source.local()));
            return q.id();
        }
    }

    private static boolean run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
