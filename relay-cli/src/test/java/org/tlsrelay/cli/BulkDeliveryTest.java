package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;

/** A thousand messages to twenty enforce-policy domains through {@code tlsrelay run}: each delivered once, over TLS. */
class BulkDeliveryTest {
    private static final int MESSAGES = 1000;
    private static final int DOMAINS = 20;
    private static final int CLIENTS = 4;
    private static final Pattern SUBJECT = Pattern.compile("Subject: (m\\d+)\r\n");

    @TempDir Path dir;

    @Test
    void deliversEveryMessageExactlyOnceOverReusedConnections() throws Exception {
        try (DeliveryFixture f = new DeliveryFixture(dir)) {
            String[] hosts = new String[DOMAINS];
            for (int d = 0; d < DOMAINS; d++) {
                hosts[d] = "mx.d" + d + ".test";
            }
            TestMx mx = f.mx(hosts[0], TestMx.builder().startTls(DeliveryFixture.CA.issue(hosts)));
            StringBuilder overrides = new StringBuilder("  overrides:\n");
            for (int d = 0; d < DOMAINS; d++) {
                f.dns.a(hosts[d], mx.address().getHostAddress())
                        .mx("d" + d + ".test", 10, hosts[d]);
                overrides
                        .append("    d")
                        .append(d)
                        .append(".test: { mode: enforce, mxs: [")
                        .append(hosts[d])
                        .append("] }\n");
            }
            f.start("", overrides.toString());

            // every tenth message also goes to a second domain: one attempt per (message, domain)
            Map<String, List<String>> expected = new HashMap<>();
            for (int i = 0; i < MESSAGES; i++) {
                List<String> to =
                        new ArrayList<>(List.of("u" + i + "@d" + (i % DOMAINS) + ".test"));
                if (i % 10 == 0) {
                    to.add("v" + i + "@d" + ((i + 7) % DOMAINS) + ".test");
                }
                expected.put("m" + i, to);
            }
            int deliveries = expected.values().stream().mapToInt(List::size).sum();
            ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
            List<Future<?>> sent = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int first = c;
                sent.add(
                        clients.submit(
                                () -> {
                                    try (RawSmtpClient client = f.client()) {
                                        for (int i = first; i < MESSAGES; i += CLIENTS) {
                                            DeliveryFixture.queueId(
                                                    client.sendMessage(
                                                            "sender@sender.test",
                                                            expected.get("m" + i),
                                                            DeliveryFixture.message("m" + i)));
                                        }
                                    } catch (IOException e) {
                                        throw new UncheckedIOException(e);
                                    }
                                    return null;
                                }));
            }
            for (Future<?> s : sent) {
                s.get();
            }
            clients.shutdown();

            Await.until(
                    () -> mx.messages().size() >= deliveries,
                    Duration.ofSeconds(60),
                    "every delivery");
            Await.until(
                    () -> f.relay().engine().stats().inHand() == 0,
                    Duration.ofSeconds(10),
                    "the engine idle");

            Map<String, Integer> seen = new HashMap<>();
            for (TestMx.Received r : mx.messages()) {
                Matcher m = SUBJECT.matcher(r.text());
                assertTrue(m.find(), r.text());
                assertTrue(r.tls(), "over TLS");
                for (String rcpt : r.rcptTo()) {
                    String address = rcpt.substring(1, rcpt.indexOf('>'));
                    assertTrue(
                            expected.get(m.group(1)).contains(address),
                            m.group(1) + " went to " + address);
                    seen.merge(m.group(1) + " " + address, 1, Integer::sum);
                }
            }
            assertEquals(deliveries, mx.messages().size(), "no message delivered twice");
            assertEquals(deliveries, seen.size(), "every (message, recipient) delivered");
            assertTrue(seen.values().stream().allMatch(n -> n == 1), "each exactly once");
            int connections = mx.connections().size();
            assertTrue(
                    connections < MESSAGES / 4,
                    "connections are reused: " + connections + " for " + deliveries);
            assertTrue(f.relay().spool().list().isEmpty(), "the queue is empty");
        }
    }
}
