package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.RetrySchedule;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.outbound.OutboundSettings;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.FakeDnsResolver;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestPolicies;

/**
 * REQUIRETLS (RFC 8689) and {@code TLS-Required: No} in delivery: the engine with its real spool and outbound client,
 * MXs on loopback addresses sharing one port, DNS and policies from tables in memory.
 */
class RequireTlsDeliveryTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final TestCa CA = TestCa.create("RequireTls Test CA");

    @TempDir Path dir;
    private final FakeDnsResolver dns = new FakeDnsResolver();
    private final PolicyTable policies = new PolicyTable();
    private final List<AutoCloseable> closeFirst = new ArrayList<>();
    private final List<AutoCloseable> closeLast = new ArrayList<>();
    private Spool spool;
    private int port;
    private int nextAddress = 1;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeFirst) {
            c.close();
        }
        for (AutoCloseable c : closeLast) {
            c.close();
        }
    }

    /** An MX on the next loopback address and the shared port, with {@code host}'s A record pointing at it. */
    private TestMx mx(String host, TestMx.Builder b) throws IOException {
        String ip = "127.0.0." + nextAddress++;
        TestMx mx = b.hostname(host).bind(InetAddress.getByName(ip), port).start();
        port = mx.port();
        dns.a(host, ip);
        closeLast.add(mx);
        return mx;
    }

    private void engine() throws IOException {
        spool = Spool.open(dir.resolve("spool"), Spool.Options.defaults());
        closeLast.add(spool);
        EngineSettings settings =
                new EngineSettings(
                        port,
                        10,
                        5,
                        new RetrySchedule(List.of(Duration.ofHours(1)), Duration.ofDays(5)),
                        "relay.test",
                        64,
                        2,
                        Duration.ofMillis(300));
        DeliveryEngine e =
                DeliveryEngine.builder(spool, dns, policies)
                        .settings(settings)
                        .outbound(
                                OutboundSettings.defaults("relay.test")
                                        .withTimeouts(
                                                Duration.ofSeconds(5), Duration.ofSeconds(30)),
                                TrustMaterial.of(List.of(CA.certificate())))
                        .random(new Random(1))
                        .start();
        closeFirst.add(0, e);
    }

    private String enqueue(String recipient, boolean requireTls, boolean tlsRequiredNo)
            throws IOException {
        try (Spool.Reception r = spool.receive()) {
            r.body().write("Subject: test\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            Instant now = spool.clock().instant();
            return r.commit(
                            Envelope.accepted(
                                            r.id(),
                                            now,
                                            "s@sender.test",
                                            List.of(
                                                    RecipientStatus.pending(
                                                            recipient,
                                                            Set.of(),
                                                            "",
                                                            Instant.EPOCH)),
                                            Envelope.BodyType.UNSPECIFIED,
                                            false,
                                            Envelope.Ret.UNSPECIFIED,
                                            "",
                                            Envelope.Source.local())
                                    .withTlsRequirement(requireTls, tlsRequiredNo))
                    .id();
        }
    }

    private boolean gone(String id) {
        try {
            return spool.find(id).isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aRequireTlsMessageSkipsTheMxWithoutRequireTlsAndPassesTheParameterOn() throws Exception {
        TestMx plain = mx("mx1.req.test", TestMx.builder().startTls(CA.issue("mx1.req.test")));
        TestMx capable =
                mx(
                        "mx2.req.test",
                        TestMx.builder().startTls(CA.issue("mx2.req.test")).requireTls(true));
        dns.mx("req.test", 10, "mx1.req.test").mx("req.test", 20, "mx2.req.test");
        policies.put(TestPolicies.enforce("req.test", "mx1.req.test", "mx2.req.test"));
        engine();

        String id = enqueue("bob@req.test", true, false);

        Await.until(
                () -> capable.messages().size() == 1,
                WAIT,
                "delivery to the MX that advertises REQUIRETLS");
        assertFalse(plain.saw("MAIL FROM"), plain.commands().toString());
        TestMx.Received got = capable.messages().get(0);
        assertTrue(got.tls());
        assertTrue(
                got.mailFrom().toUpperCase(java.util.Locale.ROOT).endsWith(" REQUIRETLS"),
                got.mailFrom());
        Await.until(() -> gone(id), WAIT, "the message done");
    }

    @Test
    void aRequireTlsMessageFailsWith5730WhenNoMxQualifiesAndTheDsnGoesWithoutRequireTls()
            throws Exception {
        TestMx plain = mx("mx.noreq.test", TestMx.builder().startTls(CA.issue("mx.noreq.test")));
        TestMx open =
                mx(
                        "mx.open.test",
                        TestMx.builder().startTls(CA.issue("mx.open.test")).requireTls(true));
        TestMx sender =
                mx(
                        "mx.sender.test",
                        TestMx.builder().startTls(CA.issue("mx.sender.test")).requireTls(true));
        dns.mx("noreq.test", 10, "mx.noreq.test")
                .mx("open.test", 10, "mx.open.test")
                .mx("sender.test", 10, "mx.sender.test");
        policies.put(TestPolicies.enforce("noreq.test", "mx.noreq.test"));
        // open.test has no policy: nothing authenticates its MX, however capable
        engine();

        String noreq = enqueue("bob@noreq.test", true, false);
        String unauthenticated = enqueue("bob@open.test", true, false);

        Await.until(() -> sender.messages().size() == 2, WAIT, "two DSNs to the sender");
        assertTrue(gone(noreq) && gone(unauthenticated));
        assertFalse(plain.saw("MAIL FROM"));
        assertTrue(
                open.connections().isEmpty(),
                "an MX no policy authenticates is not even connected to");
        for (TestMx.Received dsn : sender.messages()) {
            assertTrue(dsn.mailFrom().startsWith("<>"), dsn.mailFrom());
            assertFalse(
                    dsn.mailFrom().toUpperCase(java.util.Locale.ROOT).contains("REQUIRETLS"),
                    "the DSN goes without REQUIRETLS (RFC 8689 §5): " + dsn.mailFrom());
            assertTrue(dsn.text().contains("5.7.30"), dsn.text());
            assertTrue(
                    dsn.text().contains("text/rfc822-headers"),
                    "the header section only: " + dsn.text());
        }
    }

    @Test
    void tlsRequiredNoDeliversDespiteThePolicyButStillOverTls() throws Exception {
        TestMx mx = mx("mx.optional.test", TestMx.builder().startTls(CA.issue("wrong-name.test")));
        dns.mx("optional.test", 10, "mx.optional.test");
        policies.put(TestPolicies.enforce("optional.test", "mx.elsewhere.test"));
        engine();

        String optional = enqueue("bob@optional.test", false, true);

        Await.until(() -> mx.messages().size() == 1, WAIT, "delivery despite the enforced policy");
        assertTrue(mx.messages().get(0).tls(), "still over TLS when offered");
        Await.until(() -> gone(optional), WAIT, "the message done");

        String normal = enqueue("carol@optional.test", false, false);
        Await.until(
                () -> {
                    try {
                        return spool.find(normal)
                                .map(m -> m.envelope().attempts() > 0)
                                .orElse(false);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                },
                WAIT,
                "the normal message attempted");
        assertEquals(1, mx.messages().size(), "without the header field the policy refuses");
    }
}
