package org.tlsrelay.smtp.outbound;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.core.enforce.TlsObservation;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestPolicies;

/**
 * The outbound client on each pair of engines (BoringSSL or the JDK's TLS, epoll or NIO), over real sockets and real
 * TLS: every pair delivers, reuses its connection and observes the same certificate facts, so that {@code Enforcer}
 * decides the same whichever engine carried the handshake.
 */
class IoEnginesTest {
    private static final String DOMAIN = "example.test";
    private static final String MX_HOST = "mx1.example.test";
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static TestCa ca;
    private static Map<String, TestCa.Issued> certificates;

    private final List<TestMx> mxs = new ArrayList<>();
    private final List<OutboundClient> clients = new ArrayList<>();

    @BeforeAll
    static void certificates() {
        ca = TestCa.create("Test CA");
        TestCa rogue = TestCa.create("Rogue CA");
        Instant now = Instant.now();
        certificates =
                Map.of(
                        "good", ca.issue(MX_HOST),
                        "wrong-name", ca.issue("mx.elsewhere.test"),
                        "expired",
                                ca.issue(
                                        now.minus(Duration.ofDays(30)),
                                        now.minus(Duration.ofDays(1)),
                                        MX_HOST),
                        "not-yet-valid",
                                ca.issue(
                                        now.plus(Duration.ofDays(1)),
                                        now.plus(Duration.ofDays(30)),
                                        MX_HOST),
                        "untrusted", rogue.issue(MX_HOST),
                        "expired-untrusted",
                                rogue.issue(
                                        now.minus(Duration.ofDays(30)),
                                        now.minus(Duration.ofDays(1)),
                                        MX_HOST));
    }

    @AfterEach
    void stop() throws IOException {
        for (OutboundClient c : clients) {
            c.close();
        }
        for (TestMx mx : mxs) {
            mx.close();
        }
    }

    static List<IoEngines> pairs() {
        List<IoEngines> pairs = new ArrayList<>(List.of(IoEngines.jdk()));
        IoEngines preferred = IoEngines.preferred();
        if (preferred.tls() == IoEngines.Tls.BORINGSSL) {
            pairs.add(new IoEngines(IoEngines.Tls.BORINGSSL, IoEngines.Transport.NIO));
        }
        if (preferred.transport() == IoEngines.Transport.EPOLL) {
            pairs.add(new IoEngines(IoEngines.Tls.JDK, IoEngines.Transport.EPOLL));
        }
        if (!pairs.contains(preferred)) {
            pairs.add(preferred);
        }
        return pairs;
    }

    /** The native engines ship for Linux x86-64 inside the relay: there they must load, or the relay pays for it. */
    @Test
    void takesTheNativeEnginesOnLinuxX86_64() {
        assumeTrue(
                System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux")
                        && System.getProperty("os.arch").equals("amd64"),
                "the native engines are shipped for Linux x86-64 only");
        assumeTrue(
                System.getProperty(IoEngines.TLS_PROPERTY) == null
                        && System.getProperty(IoEngines.TRANSPORT_PROPERTY) == null,
                "the engines were chosen by system property");

        IoEngines preferred = IoEngines.preferred();

        assertEquals(
                new IoEngines(IoEngines.Tls.BORINGSSL, IoEngines.Transport.EPOLL),
                preferred,
                preferred.fallback().orElse(""));
        assertEquals("TLS by BoringSSL, epoll", preferred.describe());
    }

    @Test
    void systemPropertiesChooseTheJdkEngines() {
        String tls = System.getProperty(IoEngines.TLS_PROPERTY);
        String transport = System.getProperty(IoEngines.TRANSPORT_PROPERTY);
        try {
            System.setProperty(IoEngines.TLS_PROPERTY, "jdk");
            System.setProperty(IoEngines.TRANSPORT_PROPERTY, "nio");

            IoEngines chosen = IoEngines.preferred();

            assertEquals(IoEngines.jdk(), chosen);
            assertTrue(chosen.fallback().isEmpty(), "chosen on purpose, not a fallback");
            assertEquals("TLS by the JDK, nio", chosen.describe());
        } finally {
            restore(IoEngines.TLS_PROPERTY, tls);
            restore(IoEngines.TRANSPORT_PROPERTY, transport);
        }
    }

    @ParameterizedTest
    @MethodSource("pairs")
    void deliversOverVerifiedTlsAndReusesTheConnection(IoEngines engines) throws Exception {
        TestMx mx = start(certificates.get("good"));
        OutboundClient client = client(engines);
        ResolvedPolicy enforce = TestPolicies.sts(DOMAIN, PolicyMode.ENFORCE, "*.example.test");

        for (int i = 0; i < 2; i++) {
            DeliveryAttemptResult result =
                    client.deliver(
                                    target(mx),
                                    OutboundMessage.of(
                                            "Q" + i,
                                            "sender@relay.test",
                                            List.of("rcpt@example.test"),
                                            MessageContent.ofBytes(
                                                    ("Subject: " + i + "\r\n\r\n.leading dot\r\n")
                                                            .getBytes(StandardCharsets.UTF_8))),
                                    TestPolicies.permit(enforce, MX_HOST))
                            .get(WAIT.toSeconds() * 2, TimeUnit.SECONDS);
            DeliveryAttemptResult.Completed done =
                    assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
            assertEquals(1, done.count(RecipientReply.Status.DELIVERED));
            assertEquals("deliver-tls", done.session().verdict().label());
        }

        assertEquals(2, mx.messages().size());
        for (int i = 0; i < 2; i++) {
            assertTrue(mx.messages().get(i).tls());
            assertEquals("Subject: " + i + "\r\n\r\n.leading dot\r\n", mx.messages().get(i).text());
        }
        assertEquals(1, mx.connections().size(), "the second message reused the connection");
    }

    /** One certificate case: what both TLS engines must observe alike. */
    enum Certificate {
        GOOD("good"),
        WRONG_NAME("wrong-name"),
        EXPIRED("expired"),
        NOT_YET_VALID("not-yet-valid"),
        UNTRUSTED("untrusted"),
        EXPIRED_UNTRUSTED("expired-untrusted");

        final String key;

        Certificate(String key) {
            this.key = key;
        }
    }

    @ParameterizedTest
    @EnumSource(Certificate.class)
    void observesTheSameCertificateWithEitherTlsEngine(Certificate which) throws Exception {
        assumeTrue(
                IoEngines.preferred().tls() == IoEngines.Tls.BORINGSSL,
                "BoringSSL does not load here: only the JDK's TLS runs");
        TestCa.Issued issued = certificates.get(which.key);
        TestMx mx = start(issued);
        ResolvedPolicy enforce = TestPolicies.sts(DOMAIN, PolicyMode.ENFORCE, "*.example.test");

        ProbeResult.Observed jdk = probe(client(IoEngines.jdk()), mx, enforce);
        ProbeResult.Observed boring =
                probe(
                        client(new IoEngines(IoEngines.Tls.BORINGSSL, IoEngines.Transport.NIO)),
                        mx,
                        enforce);

        TlsObservation.Established a =
                assertInstanceOf(TlsObservation.Established.class, jdk.observation());
        TlsObservation.Established b =
                assertInstanceOf(TlsObservation.Established.class, boring.observation());
        assertEquals(a.chainTrusted(), b.chainTrusted(), "chain trusted");
        assertEquals(a.trustDetail(), b.trustDetail(), "why not trusted");
        assertEquals(a.validity(), b.validity(), "validity");
        assertEquals(a.hostNameMatched(), b.hostNameMatched(), "name matched");
        assertEquals(a.peer(), b.peer(), "the leaf as summarised");
        assertEquals(encoded(a.chain()), encoded(b.chain()), "the chain as presented");
        assertEquals(a.protocol(), b.protocol(), "protocol");
        assertEquals(jdk.verdict(), boring.verdict(), "Enforcer's verdict");
        // DANE (RFC 7672 §3.1): the same TLSA records match, or not, the same chain
        Instant now = Instant.now();
        for (TlsaRecord record : tlsaRecords(issued)) {
            DanePolicy.Required dane = new DanePolicy.Required(MX_HOST, MX_HOST, List.of(record));
            assertEquals(dane.match(a.chain(), now), dane.match(b.chain(), now), "TLSA " + record);
        }
        // and what the test knows to be true, so that two wrong observations do not agree
        assertEquals(
                which == Certificate.GOOD
                        || which == Certificate.WRONG_NAME
                        || which == Certificate.EXPIRED
                        || which == Certificate.NOT_YET_VALID,
                b.chainTrusted());
        assertEquals(which != Certificate.WRONG_NAME, b.hostNameMatched());
        assertArrayEquals(issued.certificate().getEncoded(), b.chain().get(0).getEncoded());
    }

    // ---- helpers ----

    /** DANE-EE and DANE-TA records for this certificate and its CA, and one that matches neither. */
    private static List<TlsaRecord> tlsaRecords(TestCa.Issued issued) throws Exception {
        byte[] spki = issued.certificate().getPublicKey().getEncoded();
        byte[] caCert = issued.ca().getEncoded();
        return List.of(
                new TlsaRecord(
                        TlsaRecord.DANE_EE,
                        TlsaRecord.SELECTOR_SPKI,
                        TlsaRecord.MATCH_SHA256,
                        sha256(spki)),
                new TlsaRecord(
                        TlsaRecord.DANE_TA,
                        TlsaRecord.SELECTOR_CERT,
                        TlsaRecord.MATCH_SHA256,
                        sha256(caCert)),
                new TlsaRecord(
                        TlsaRecord.DANE_EE,
                        TlsaRecord.SELECTOR_SPKI,
                        TlsaRecord.MATCH_SHA256,
                        sha256("something else".getBytes(StandardCharsets.US_ASCII))));
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    private static List<String> encoded(List<X509Certificate> chain)
            throws CertificateEncodingException {
        List<String> out = new ArrayList<>();
        for (X509Certificate c : chain) {
            out.add(java.util.HexFormat.of().formatHex(c.getEncoded()));
        }
        return out;
    }

    private static ProbeResult.Observed probe(
            OutboundClient client, TestMx mx, ResolvedPolicy policy) throws Exception {
        ProbeResult r =
                client.probe(target(mx), TestPolicies.permit(policy, MX_HOST))
                        .get(WAIT.toSeconds() * 2, TimeUnit.SECONDS);
        return assertInstanceOf(ProbeResult.Observed.class, r, r.toString());
    }

    private OutboundClient client(IoEngines engines) {
        OutboundClient c =
                new OutboundClient(
                        OutboundSettings.defaults("relay.test")
                                .withTimeouts(WAIT, WAIT)
                                .withEngines(engines),
                        TrustMaterial.of(List.of(ca.certificate())),
                        outcome -> {});
        clients.add(c);
        return c;
    }

    private TestMx start(TestCa.Issued certificate) throws IOException {
        TestMx mx = TestMx.builder().hostname(MX_HOST).startTls(certificate).start();
        mxs.add(mx);
        return mx;
    }

    private static DeliveryTarget target(TestMx mx) {
        return new DeliveryTarget(MX_HOST, mx.address(), mx.port());
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
