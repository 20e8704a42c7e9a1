package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.policy.PolicySource;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.report.Aggregator;
import org.tlsrelay.core.report.OutcomeEvent;
import org.tlsrelay.core.report.TlsReport;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.SignedZone;
import org.tlsrelay.testkit.TestCa;

/**
 * DANE (RFC 7672) end to end through {@code tlsrelay run}: a DNSSEC tree signed in the test under the TLD
 * {@code dnssec.}, served by the DNS stub, with its trust anchor in {@code dns.trust-anchors}; MXs on loopback whose
 * certificates do or do not match their TLSA records. The trust store ({@code delivery.trust}) holds only
 * {@link DeliveryFixture#CA}: a certificate from {@link DeliveryFixture#ROGUE} is trusted only through DANE.
 */
class DaneEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String SENDER = "alice@sender.test";

    @TempDir Path dir;
    private DeliveryFixture f;
    private SignedZone root;

    @BeforeEach
    void setUp() throws Exception {
        f = new DeliveryFixture(dir);
        f.mx(
                "mx.sender.test",
                TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.sender.test")));
        root = SignedZone.signed("dnssec");
    }

    @AfterEach
    void tearDown() throws IOException {
        f.close();
    }

    /** Starts the relay validating against the test root's anchor, serving {@code root} and its children. */
    private void start(String policyYaml) throws Exception {
        Path anchor = Files.writeString(dir.resolve("anchor.zone"), root.trustAnchor());
        f.dnsExtra = "  dnssec: validate\n  trust-anchors: [\"" + anchor + "\"]\n";
        f.dns.serve(root);
        f.start("", policyYaml);
    }

    /** A signed (or unsigned) child zone {@code domain.dnssec} with one MX host, {@code mx.domain.dnssec}. */
    private SignedZone zone(String domain, boolean signed, TestMx mx) {
        String host = "mx." + domain;
        SignedZone z =
                (signed ? SignedZone.signed(domain) : SignedZone.unsigned(domain))
                        .mx(domain, 10, host)
                        .a(host, mx.address().getHostAddress());
        root.delegate(z);
        return z;
    }

    private static String tlsa(int usage, X509Certificate c) throws Exception {
        byte[] spki = c.getPublicKey().getEncoded();
        return usage
                + " 1 1 "
                + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(spki));
    }

    @Test
    void daneEeMatchDeliversEvenThoughTheCaIsNotTrustedAndReportsATlsaPolicy() throws Exception {
        TestCa.Issued cert = DeliveryFixture.ROGUE.issue("some-other-name.example");
        TestMx mx = f.mx("mx.ee.dnssec", TestMx.builder().startTls(cert));
        String record = tlsa(3, cert.certificate());
        zone("ee.dnssec", true, mx).tlsa("_" + f.port() + "._tcp.mx.ee.dnssec", record);
        start("");

        f.send(SENDER, List.of("bob@ee.dnssec"), DeliveryFixture.message("ee"));

        Await.until(() -> mx.messages().size() == 1, WAIT, "delivery under DANE-EE");
        assertTrue(mx.messages().get(0).tls());
        TlsOutcome o = outcome("ee.dnssec", "mx.ee.dnssec").orElseThrow();
        assertTrue(o.success(), o.toString());
        assertTrue(o.policy().daneApplies(), o.toString());
        // RFC 8460 §4.4: policy type tlsa, the TLSA records as strings, the MX host as mx-host
        java.time.LocalDate day = o.time().atZone(java.time.ZoneOffset.UTC).toLocalDate();
        TlsReport report =
                Aggregator.aggregate(
                                day,
                                List.of(OutcomeEvent.of(o)),
                                new Aggregator.Identity(
                                        "relay.test", "mailto:tlsrpt@relay.test", "relay.test"),
                                d -> "r1")
                        .report("ee.dnssec")
                        .orElseThrow();
        TlsReport.PolicyInfo info = report.policies().get(0).policy();
        assertEquals(TlsReport.TLSA, info.policyType());
        assertEquals(
                List.of(record.toLowerCase(java.util.Locale.ROOT)),
                info.policyString().stream()
                        .map(s -> s.toLowerCase(java.util.Locale.ROOT))
                        .toList());
        assertEquals(List.of("mx.ee.dnssec"), info.mxHost());
    }

    @Test
    void aCertificateNoTlsaRecordMatchesIsRefusedBeforeMailFromAndDeferredAsTlsaInvalid()
            throws Exception {
        TestMx mx =
                f.mx(
                        "mx.bad.dnssec",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.bad.dnssec")));
        zone("bad.dnssec", true, mx)
                .tlsa(
                        "_" + f.port() + "._tcp.mx.bad.dnssec",
                        tlsa(3, DeliveryFixture.CA.issue("mx.bad.dnssec").certificate()));
        start("");

        String id = f.send(SENDER, List.of("bob@bad.dnssec"), DeliveryFixture.message("bad"));

        Await.until(() -> deferred(id), WAIT, "the message deferred");
        assertFalse(mx.saw("MAIL FROM"), mx.commands().toString());
        assertEquals(
                Optional.of(TlsFailureType.TLSA_INVALID), failure("bad.dnssec", "mx.bad.dnssec"));
        RecipientStatus r = f.queued(id).orElseThrow().envelope().recipients().get(0);
        assertTrue(r.lastReply().startsWith("451 4.7.5 "), r.lastReply());
    }

    @Test
    void daneTaMatchingTheIssuingCaDeliversAndChecksTheName() throws Exception {
        TestMx good =
                f.mx(
                        "mx.ta.dnssec",
                        TestMx.builder().startTls(DeliveryFixture.ROGUE.issue("mx.ta.dnssec")));
        TestMx misnamed =
                f.mx(
                        "mx.tabad.dnssec",
                        TestMx.builder().startTls(DeliveryFixture.ROGUE.issue("wrong.example")));
        String ta = tlsa(2, DeliveryFixture.ROGUE.certificate());
        zone("ta.dnssec", true, good).tlsa("_" + f.port() + "._tcp.mx.ta.dnssec", ta);
        zone("tabad.dnssec", true, misnamed).tlsa("_" + f.port() + "._tcp.mx.tabad.dnssec", ta);
        start("");

        f.send(SENDER, List.of("bob@ta.dnssec"), DeliveryFixture.message("ta"));
        String id = f.send(SENDER, List.of("bob@tabad.dnssec"), DeliveryFixture.message("tabad"));

        Await.until(() -> good.messages().size() == 1, WAIT, "delivery under DANE-TA");
        Await.until(() -> deferred(id), WAIT, "the misnamed MX's message deferred");
        assertFalse(misnamed.saw("MAIL FROM"));
        assertEquals(
                Optional.of(TlsFailureType.TLSA_INVALID),
                failure("tabad.dnssec", "mx.tabad.dnssec"));
    }

    @Test
    void aBogusTlsaSignatureDefersWithoutConnectingAsDnssecInvalid() throws Exception {
        TestCa.Issued cert = DeliveryFixture.CA.issue("mx.bogus.dnssec");
        TestMx mx = f.mx("mx.bogus.dnssec", TestMx.builder().startTls(cert));
        String owner = "_" + f.port() + "._tcp.mx.bogus.dnssec";
        zone("bogus.dnssec", true, mx)
                .tlsa(owner, tlsa(3, cert.certificate()))
                .tamper(owner, "TLSA");
        start("");

        String id = f.send(SENDER, List.of("bob@bogus.dnssec"), DeliveryFixture.message("bogus"));

        Await.until(() -> deferred(id), WAIT, "the message deferred");
        assertTrue(mx.connections().isEmpty(), "never fall back: no connection at all");
        assertEquals(
                Optional.of(TlsFailureType.DNSSEC_INVALID),
                failure("bogus.dnssec", "mx.bogus.dnssec"));
    }

    @Test
    void anInsecureZoneFallsBackToTheOverrideAndIgnoresItsTlsaRecords() throws Exception {
        TestMx mx =
                f.mx(
                        "mx.plain.dnssec",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.plain.dnssec")));
        zone("plain.dnssec", false, mx)
                .tlsa("_" + f.port() + "._tcp.mx.plain.dnssec", "3 1 1 " + "ab".repeat(32));
        start("  overrides:\n    plain.dnssec: { mode: enforce, mxs: [mx.plain.dnssec] }\n");

        f.send(SENDER, List.of("bob@plain.dnssec"), DeliveryFixture.message("plain"));

        Await.until(() -> mx.messages().size() == 1, WAIT, "delivery under the override");
        TlsOutcome o = outcome("plain.dnssec", "mx.plain.dnssec").orElseThrow();
        assertFalse(o.policy().daneApplies(), o.toString());
        assertEquals(PolicySource.OVERRIDE, o.policy().domainPolicy().source());
        assertTrue(o.success(), o.toString());
    }

    @Test
    void daneWinsOverAnEnforcedOverrideThatDisagrees() throws Exception {
        // the override lists another MX and the CA is not trusted: alone, it would refuse this MX
        TestCa.Issued cert = DeliveryFixture.ROGUE.issue("mx.both.dnssec");
        TestMx mx = f.mx("mx.both.dnssec", TestMx.builder().startTls(cert));
        zone("both.dnssec", true, mx)
                .tlsa("_" + f.port() + "._tcp.mx.both.dnssec", tlsa(3, cert.certificate()));
        start("  overrides:\n    both.dnssec: { mode: enforce, mxs: [mx.elsewhere.dnssec] }\n");

        f.send(SENDER, List.of("bob@both.dnssec"), DeliveryFixture.message("both"));

        Await.until(
                () -> mx.messages().size() == 1, WAIT, "delivery under DANE despite the override");
        assertTrue(outcome("both.dnssec", "mx.both.dnssec").orElseThrow().policy().daneApplies());
    }

    @Test
    void policyCheckSaysPerMxThatDaneAppliesWithItsTlsaRecordsAndDeliversOnTheMatch()
            throws Exception {
        TestCa.Issued cert = DeliveryFixture.ROGUE.issue("mx.check.dnssec");
        TestMx mx = f.mx("mx.check.dnssec", TestMx.builder().startTls(cert));
        String record = tlsa(3, cert.certificate());
        zone("check.dnssec", true, mx).tlsa("_" + f.port() + "._tcp.mx.check.dnssec", record);
        start("  overrides:\n    check.dnssec: { mode: enforce, mxs: [mx.elsewhere.dnssec] }\n");

        CliRun r =
                CliRun.run(
                        "policy",
                        "check",
                        "check.dnssec",
                        "--config",
                        f.configFile().toString(),
                        "--json");

        assertEquals(0, r.exit(), r.err() + r.out());
        com.fasterxml.jackson.databind.JsonNode dane =
                new com.fasterxml.jackson.databind.ObjectMapper()
                        .readTree(r.out())
                        .path("mx")
                        .path(0)
                        .path("dane");
        assertTrue(dane.path("applies").asBoolean(), r.out());
        assertEquals("required", dane.path("state").asText());
        assertEquals(
                record.toLowerCase(java.util.Locale.ROOT),
                dane.path("tlsa").path(0).asText().toLowerCase(java.util.Locale.ROOT));
        assertFalse(mx.saw("MAIL FROM"), "a check sends no mail");

        CliRun show =
                CliRun.run(
                        "policy",
                        "show",
                        "check.dnssec",
                        "--config",
                        f.configFile().toString(),
                        "--json");
        assertEquals(0, show.exit(), show.err());
        com.fasterxml.jackson.databind.JsonNode shown =
                new com.fasterxml.jackson.databind.ObjectMapper()
                        .readTree(show.out())
                        .path("dane")
                        .path("mx")
                        .path(0);
        assertEquals("mx.check.dnssec", shown.path("host").asText(), show.out());
        assertTrue(shown.path("applies").asBoolean(), show.out());
        assertEquals(1, shown.path("tlsa").size(), show.out());
        CliRun text =
                CliRun.run("policy", "show", "check.dnssec", "--config", f.configFile().toString());
        assertTrue(text.out().contains("DANE applies to mx.check.dnssec"), text.out());
    }

    private Optional<TlsOutcome> outcome(String domain, String mxHost) {
        return f.outcomes.stream()
                .filter(o -> o.policy().domain().equals(domain) && o.mxHost().equals(mxHost))
                .findFirst();
    }

    private Optional<TlsFailureType> failure(String domain, String mxHost) {
        return outcome(domain, mxHost)
                .map(TlsOutcome::result)
                .filter(r -> r instanceof TlsResult.Failure)
                .map(r -> ((TlsResult.Failure) r).type());
    }

    private boolean deferred(String id) {
        try {
            return f.queued(id)
                    .map(QueuedMessage::state)
                    .filter(s -> s == QueueState.DEFERRED)
                    .isPresent();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
