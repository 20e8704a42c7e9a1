package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.RetrySchedule;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.outbound.OutboundClient;
import org.tlsrelay.smtp.outbound.OutboundSettings;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.FakeDnsResolver;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestPolicies;

/**
 * {@code policy check} shows what delivery does, by construction: the same scenario (DNS, policy, MXs on loopback)
 * through the delivery engine and through {@link MxProbe}, and the same decision for every MX host, and the same
 * reason for a DNS failure.
 */
class ProbeAgreesWithDeliveryTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final TestCa CA = TestCa.create("Probe Test CA");

    @TempDir Path dir;
    private final FakeDnsResolver dns = new FakeDnsResolver();
    private final PolicyTable policies = new PolicyTable();
    private final List<TlsOutcome> outcomes = new CopyOnWriteArrayList<>();
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

    @Test
    void theProbeDecidesEveryMxAsDeliveryDid() throws Exception {
        TestMx unlisted = mx("mx0.same.test", TestMx.builder().startTls(CA.issue("mx0.same.test")));
        TestMx misnamed = mx("mx1.same.test", TestMx.builder().startTls(CA.issue("other.test")));
        TestMx good = mx("mx2.same.test", TestMx.builder().startTls(CA.issue("mx2.same.test")));
        dns.mx("same.test", 5, "mx0.same.test")
                .mx("same.test", 10, "mx1.same.test")
                .mx("same.test", 20, "mx2.same.test");
        ResolvedPolicy policy =
                TestPolicies.sts("same.test", PolicyMode.ENFORCE, "mx1.same.test", "mx2.same.test");
        policies.put(policy);
        engine(dns, Optional.empty());

        enqueue("bob@same.test");
        Await.until(
                () -> good.messages().size() == 1 && outcomes.size() == 3,
                WAIT,
                "delivery to the third MX, an outcome for each");
        Map<String, String> delivery = new TreeMap<>();
        for (TlsOutcome o : outcomes) {
            delivery.put(o.mxHost(), o.verdict() + " " + resultType(o.result()));
        }
        int connectionsBefore = misnamed.connections().size() + good.connections().size();

        MxProbe.Report report = probe(MxResolvers.withoutDnssec(dns), policy, "same.test");

        Map<String, String> probed = new TreeMap<>();
        for (MxProbe.MxCheck m : report.mxs()) {
            for (MxProbe.AddressCheck a : m.addresses()) {
                probed.put(
                        m.record().host(),
                        a.verdict() + " " + a.result().map(this::resultType).orElse("-"));
            }
        }
        assertEquals(
                Map.of(
                        "mx0.same.test", "refuse validation-failure",
                        "mx1.same.test", "refuse certificate-host-mismatch",
                        "mx2.same.test", "deliver-tls success"),
                delivery);
        assertEquals(delivery, probed);
        assertTrue(unlisted.connections().isEmpty(), "neither contacts the unlisted MX");
        assertEquals(
                connectionsBefore + 2,
                misnamed.connections().size() + good.connections().size(),
                "the probe connected once to each allowed MX");
        assertEquals(1, good.messages().size(), "the probe sent no message");
    }

    /** Issue #12 §3: the check asks the validating resolver for the MX, as delivery does, and says BOGUS too. */
    @Test
    void theProbeReportsTheSameDnsFailureAsDelivery() throws Exception {
        FakeDnsResolver general = new FakeDnsResolver().servfail("bogus.test");
        FakeDnsResolver validating = new FakeDnsResolver().bogus("bogus.test");
        engine(general, Optional.of(validating));

        String id = enqueue("bob@bogus.test");
        AtomicReference<String> reply = new AtomicReference<>("");
        Await.until(() -> lastReply(id, reply), WAIT, "the attempt");

        MxProbe.Report report =
                probe(
                        MxResolvers.withDnssec(general, validating),
                        TestPolicies.none("bogus.test"),
                        "bogus.test");

        assertEquals(MxProbe.Lookup.DNS_FAILURE, report.lookup());
        assertEquals("451 4.4.3 " + report.detail(), reply.get());
        assertTrue(report.detail().contains("BOGUS"), report.detail());
    }

    // ---- helpers ----

    private MxProbe.Report probe(MxResolvers resolvers, ResolvedPolicy policy, String domain)
            throws Exception {
        try (OutboundClient client =
                new OutboundClient(
                        OutboundSettings.defaults("relay.test")
                                .withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(10)),
                        TrustMaterial.of(List.of(CA.certificate())),
                        TlsOutcomeListener.none())) {
            List<String> progress = new CopyOnWriteArrayList<>();
            return new MxProbe(resolvers, client, port == 0 ? 25 : port, WAIT, progress::add)
                    .check(domain, policy)
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
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

    private void engine(DnsResolver general, Optional<DnsResolver> validating) throws IOException {
        spool = Spool.open(dir.resolve("spool"), Spool.Options.defaults());
        closeLast.add(spool);
        EngineSettings settings =
                new EngineSettings(
                        port == 0 ? 25 : port,
                        10,
                        5,
                        new RetrySchedule(List.of(Duration.ofHours(1)), Duration.ofDays(5)),
                        "relay.test",
                        64,
                        2,
                        Duration.ofMillis(300));
        EngineBuilder b =
                DeliveryEngine.builder(spool, general, policies)
                        .settings(settings)
                        .outbound(
                                OutboundSettings.defaults("relay.test")
                                        .withTimeouts(
                                                Duration.ofSeconds(5), Duration.ofSeconds(30)),
                                TrustMaterial.of(List.of(CA.certificate())))
                        .outcomes(outcomes::add)
                        .random(new Random(1));
        validating.ifPresent(b::dane);
        closeFirst.add(0, b.start());
    }

    private String enqueue(String recipient) throws IOException {
        try (Spool.Reception r = spool.receive()) {
            r.body().write("Subject: test\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            return r.commit(
                            Envelope.accepted(
                                    r.id(),
                                    spool.clock().instant(),
                                    "s@sender.test",
                                    List.of(
                                            RecipientStatus.pending(
                                                    recipient, Set.of(), "", Instant.EPOCH)),
                                    Envelope.BodyType.UNSPECIFIED,
                                    false,
                                    Envelope.Ret.UNSPECIFIED,
                                    "",
                                    Envelope.Source.local()))
                    .id();
        }
    }

    private Optional<QueuedMessage> find(String id) {
        try {
            return spool.find(id);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether the message was attempted; then {@code reply} holds its recipient's last reply. */
    private boolean lastReply(String id, AtomicReference<String> reply) {
        Optional<QueuedMessage> m = find(id).filter(q -> q.envelope().attempts() > 0);
        m.ifPresent(q -> reply.set(q.envelope().recipients().get(0).lastReply()));
        return m.isPresent();
    }

    private String resultType(TlsResult r) {
        return r instanceof TlsResult.Failure f ? f.type().resultType() : "success";
    }
}
