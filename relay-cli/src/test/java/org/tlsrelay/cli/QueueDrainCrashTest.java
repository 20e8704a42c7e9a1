package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.queue.SpoolAdmin;
import org.tlsrelay.smtp.testmx.TestMx;

/**
 * A drain in a child process killed with SIGKILL in the middle of its work (it has just sent the fourth message's MAIL
 * FROM to relay B), then a second drain: every message reaches the final MX exactly once, and nothing stays on A. The
 * first drain's log tells each handed-over message's story under its queue id, with B's queue id.
 */
class QueueDrainCrashTest {
    @TempDir Path dir;

    @Test
    void aKilledDrainResumesWithoutLossOrDuplicates() throws Exception {
        try (DeliveryFixture b = new DeliveryFixture(Files.createDirectories(dir.resolve("b")))) {
            TestMx sink = b.mx("mx.sink.test", TestMx.builder());
            b.dns.mx("sink.test", 10, "mx.sink.test");
            b.start("", ""); // plain SMTP; loopback may relay without AUTH

            Path aSpool = dir.resolve("a/spool");
            Path aConfig =
                    Files.writeString(
                            dir.resolve("a.yaml"),
                            "server:\n  hostname: relay-a.test\nspool:\n  dir: " + aSpool + "\n");
            List<String> ids = new ArrayList<>();
            try (Spool a = Spool.open(aSpool, Spool.Options.defaults())) {
                for (int i = 1; i <= 6; i++) {
                    ids.add(
                            QueueDrainTest.queue(
                                    a,
                                    "crash" + i,
                                    List.of(QueueDrainTest.rcpt("user" + i + "@sink.test")),
                                    e -> e,
                                    ""));
                }
            }
            InetSocketAddress bAddress = b.relay().address();
            List<String> log;
            try (PausingProxy proxy = new PausingProxy(bAddress, "MAIL FROM", 4);
                    RelayProcess first =
                            RelayProcess.start(
                                    "queue",
                                    "drain",
                                    "--config",
                                    aConfig.toString(),
                                    "--to",
                                    "127.0.0.1:" + proxy.port())) {
                proxy.awaitPaused(Duration.ofSeconds(60));
                first.process.destroyForcibly(); // SIGKILL
                assertTrue(first.process.waitFor(30, TimeUnit.SECONDS));
                log = first.drain();
            }
            try (SpoolAdmin admin = SpoolAdmin.open(aSpool)) {
                assertEquals(
                        ids.subList(3, 6),
                        admin.list().stream().map(QueuedMessage::id).toList(),
                        String.join("\n", log));
            }
            // grep ID: the recipient's line with B's queue id, the hand-over, the removal, in order
            String id = ids.get(0);
            List<String> story = log.stream().filter(l -> l.contains(id)).toList();
            assertEquals(4, story.size(), String.join("\n", log));
            Matcher m =
                    Pattern.compile(
                                    id
                                            + ": to=<user1@sink.test>, relay=127.0.0.1\\[127.0.0.1\\]:"
                                            + "\\d+, delay=[0-9.]+, tls=none, dsn=2.0.0,"
                                            + " status=handed-over \\(250 2.0.0 Ok: queued as (\\w+)\\)$")
                            .matcher(story.get(0));
            assertTrue(m.find(), story.toString());
            String newId = m.group(1);
            assertTrue(
                    story.get(1).contains(id + ": handed over to 127.0.0.1[127.0.0.1]:"),
                    story.toString());
            assertTrue(story.get(1).contains(" as " + newId + " by "), story.toString());
            assertTrue(story.get(2).endsWith(id + ": removed"), story.toString());
            assertTrue(story.get(3).startsWith(id + ": handed over as " + newId), story.toString());

            CliRun second =
                    CliRun.run(
                            "queue",
                            "drain",
                            "--config",
                            aConfig.toString(),
                            "--to",
                            "127.0.0.1:" + bAddress.getPort());
            assertEquals(0, second.exit(), second.out() + second.err());
            assertTrue(second.out().contains("handed over: 3, left: 0, failed: 0"), second.out());
            try (SpoolAdmin admin = SpoolAdmin.open(aSpool)) {
                assertEquals(List.of(), admin.list());
            }

            Set<String> all = Set.of("crash1", "crash2", "crash3", "crash4", "crash5", "crash6");
            TestMx.await(
                    () -> subjects(sink).keySet().containsAll(all),
                    Duration.ofSeconds(30),
                    "six messages at the final MX");
            Map<String, Long> counts = subjects(sink);
            for (String s : all) {
                assertEquals(1L, counts.get(s), "copies of " + s + ": " + counts);
            }
            assertEquals(6, sink.messages().size());
        }
    }

    private static Map<String, Long> subjects(TestMx mx) {
        return mx.messages().stream()
                .map(r -> r.text().replaceAll("(?s).*Subject: (\\S+).*", "$1"))
                .collect(Collectors.groupingBy(s -> s, Collectors.counting()));
    }
}
