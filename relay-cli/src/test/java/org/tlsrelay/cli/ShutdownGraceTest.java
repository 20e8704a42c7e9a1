package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;

/**
 * Issue 11 §3, a clean stop delivers once. The relay runs as a child JVM ({@code tlsrelay run}) and delivers to an MX
 * that takes its time to answer the final dot (it counts a message as received on the dot, as real MXs do); SIGTERM
 * arrives while two deliveries wait for that answer and more messages wait their turn. Seen before: the relay cut them
 * after a fixed 10 s whatever the grace, blamed the MX, deferred them 5 minutes, and 10 of 12 arrived twice.
 */
class ShutdownGraceTest {
    private static final Pattern LISTENING =
            Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) ");
    private static final Pattern SUBJECT = Pattern.compile("Subject: (m\\d+)");
    private static final Pattern POSSIBLE_DUPLICATE =
            Pattern.compile("queue ([0-9a-v]{14}): possible duplicate");
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir Path dir;

    @Test
    void deliveriesThatFinishWithinTheGraceArriveOnceAndTheStopIsClean() throws Exception {
        try (DeliveryFixture f = new DeliveryFixture(dir)) {
            TestMx mx = setUp(f, "4s");
            mx.delayEndOfDataReply(Duration.ofSeconds(1));
            Run first = run(f, mx, 6);
            assertEquals(0, first.exit, "every delivery under way finished within the grace");
            assertTrue(
                    first.log.stream().noneMatch(l -> l.contains("cut")),
                    String.join("\n", first.log));

            mx.delayEndOfDataReply(Duration.ZERO);
            restartUntilDelivered(f, mx, 6);
            Map<String, Long> copies = copies(mx);
            assertEquals(6, copies.size(), copies.toString());
            assertTrue(copies.values().stream().allMatch(n -> n == 1), "once each: " + copies);
            System.out.printf(
                    "SIGTERM, MX answering within the grace: exit %d, copies per message %s%n",
                    first.exit, new TreeMap<>(copies));
        }
    }

    @Test
    void deliveriesCutAfterTheGraceAreDueAtOnceAndOnlyThoseCutAfterTheEndOfDataArriveTwice()
            throws Exception {
        try (DeliveryFixture f = new DeliveryFixture(dir)) {
            TestMx mx = setUp(f, "2s");
            mx.delayEndOfDataReply(Duration.ofSeconds(30));
            Run first = run(f, mx, 5);
            assertEquals(1, first.exit, "deliveries had to be cut: not a clean stop");
            String log = String.join("\n", first.log);
            assertTrue(log.contains("the relay cuts their connections"), log);
            assertFalse(log.contains("the MX closed the connection"), log);
            Set<String> cutAfterData =
                    first.log.stream()
                            .map(POSSIBLE_DUPLICATE::matcher)
                            .filter(Matcher::find)
                            .map(m -> first.subjects.get(m.group(1)))
                            .collect(Collectors.toSet());
            assertEquals(2, cutAfterData.size(), log);

            mx.delayEndOfDataReply(Duration.ZERO);
            long restarted = System.nanoTime();
            restartUntilDelivered(f, mx, 5);
            Duration redelivered = Duration.ofNanos(System.nanoTime() - restarted);
            Map<String, Long> copies = copies(mx);
            assertEquals(5, copies.size(), copies.toString());
            Set<String> twice =
                    copies.entrySet().stream()
                            .filter(e -> e.getValue() > 1)
                            .map(Map.Entry::getKey)
                            .collect(Collectors.toSet());
            assertEquals(cutAfterData, twice, "duplicates only where the log said so: " + copies);
            assertTrue(copies.values().stream().allMatch(n -> n <= 2), copies.toString());
            System.out.printf(
                    "SIGTERM, MX slower than the grace: exit %d, copies per message %s, possible duplicates "
                            + "logged %s, all delivered %d ms after the restart%n",
                    first.exit, new TreeMap<>(copies), cutAfterData, redelivered.toMillis());
        }
    }

    /** What a first run did: its exit status, its log, and the subject of each queue id. */
    private record Run(int exit, List<String> log, Map<String, String> subjects) {}

    private static TestMx setUp(DeliveryFixture f, String grace) throws Exception {
        TestMx mx = f.mx("mx.slow.test", TestMx.builder());
        f.dns.mx("slow.test", 10, "mx.slow.test");
        f.serverExtra = "  shutdown-grace: " + grace + "\n";
        f.writeConfig(
                "  concurrency: { total: 10, per-domain: 2 }\n  retry: { schedule: [1h] }\n", "");
        return mx;
    }

    /**
     * Starts the relay, queues {@code n} messages, waits until two deliveries wait for the MX's answer to the final
     * dot, sends SIGTERM and waits for the exit.
     */
    private static Run run(DeliveryFixture f, TestMx mx, int n) throws Exception {
        Map<String, String> subjects = new HashMap<>();
        try (RelayProcess relay =
                RelayProcess.start("run", "--config", f.configFile().toString())) {
            int port = relay.awaitNumber(LISTENING);
            try (RawSmtpClient c = new RawSmtpClient(new InetSocketAddress("127.0.0.1", port))) {
                RawSmtpClient.expect(c.reply(), 220);
                RawSmtpClient.expect(c.command("EHLO client.test"), 250);
                for (int i = 0; i < n; i++) {
                    String subject = "m" + i;
                    String id =
                            DeliveryFixture.queueId(
                                    c.sendMessage(
                                            "sender@sender.test",
                                            List.of(subject + "@slow.test"),
                                            DeliveryFixture.message(subject)));
                    subjects.put(id, subject);
                }
            }
            Await.until(() -> mx.messages().size() == 2, WAIT, "two deliveries at the final dot");
            relay.sigterm();
            assertTrue(relay.process.waitFor(60, TimeUnit.SECONDS), "stopped");
            return new Run(relay.process.exitValue(), relay.drain(), subjects);
        }
    }

    /** Starts the relay again on the same spool until every message left the queue, then stops it cleanly. */
    private static void restartUntilDelivered(DeliveryFixture f, TestMx mx, int n)
            throws Exception {
        try (RelayProcess relay =
                RelayProcess.start("run", "--config", f.configFile().toString())) {
            relay.awaitNumber(LISTENING);
            Await.until(
                    () -> copies(mx).size() == n && queueEmpty(f), WAIT, "everything delivered");
            relay.sigterm();
            assertTrue(relay.process.waitFor(60, TimeUnit.SECONDS), "stopped");
            assertEquals(0, relay.process.exitValue(), "nothing left running at the second stop");
        }
    }

    private static boolean queueEmpty(DeliveryFixture f) {
        Path spool = f.dir.resolve("data/spool");
        for (String state : List.of("incoming", "active", "deferred")) {
            try (Stream<Path> files = Files.list(spool.resolve(state))) {
                if (files.anyMatch(p -> p.toString().endsWith(".json"))) {
                    return false;
                }
            } catch (java.io.IOException e) {
                return false;
            }
        }
        return true;
    }

    /** How often the MX received each message, by subject. */
    private static Map<String, Long> copies(TestMx mx) {
        return mx.messages().stream()
                .map(m -> SUBJECT.matcher(m.text()))
                .filter(Matcher::find)
                .collect(Collectors.groupingBy(m -> m.group(1), Collectors.counting()));
    }
}
