package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.smtp.dns.DnssecMonitor;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.DnsProxy;
import org.tlsrelay.testkit.SignedZone;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.Unbound;

/**
 * {@code dns.dnssec: validate} behind every kind of resolver an operator may point {@code dns.servers} at, and behind
 * what an attacker may put on the way: nothing seen on the network switches DANE off. The tree is signed in the test:
 * a TLD {@code dnssec.} with NSEC3 Opt-Out, its trust anchor in {@code dns.trust-anchors}; below it
 *
 * <ul>
 *   <li>{@code good.dnssec} (NSEC3): DANE-EE TLSA matching its MX's certificate, which no CA the relay trusts issued;
 *   <li>{@code bad.dnssec} (NSEC3): TLSA records its MX's certificate does not match: never MAIL FROM;
 *   <li>{@code plain.dnssec}: an unsigned delegation, opportunistic TLS;
 *   <li>{@code ent.dnssec}: an empty non-terminal above unsigned delegations only: no MX, no address, a bounce;
 *   <li>{@code hosted.dnssec}: an unsigned zone whose MX is {@code bad.dnssec}'s host ({@code dane.insecure-mx}).
 * </ul>
 */
class DnssecResolverSetupsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String SENDER = "alice@sender.test";

    @TempDir Path dir;
    private DeliveryFixture f;
    private SignedZone root;
    private TestMx good;
    private TestMx bad;
    private TestMx plain;
    private TestMx senderMx;
    private DnsProxy proxy;
    private Unbound unbound;
    private ListAppender<ILoggingEvent> logs;
    private Logger monitorLog;

    @BeforeEach
    void setUp() throws Exception {
        f = new DeliveryFixture(dir);
        TestCa.Issued goodCert = DeliveryFixture.ROGUE.issue("mx.good.dnssec");
        good = f.mx("mx.good.dnssec", TestMx.builder().startTls(goodCert));
        bad =
                f.mx(
                        "mx.bad.dnssec",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.bad.dnssec")));
        plain =
                f.mx(
                        "mx.plain.dnssec",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.plain.dnssec")));
        // where DSNs to alice@sender.test go: outside the trust anchor, so insecure
        senderMx =
                f.mx(
                        "mx.sender.test",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.sender.test")));
        f.dns.mx("sender.test", 10, "mx.sender.test");
        String port = "_" + f.port() + "._tcp.";
        root = SignedZone.signed("dnssec").nsec3(true);
        root.delegate(
                        zone("good.dnssec", good)
                                .tlsa(port + "mx.good.dnssec", tlsa(goodCert.certificate())))
                .delegate(
                        zone("bad.dnssec", bad)
                                .tlsa(
                                        port + "mx.bad.dnssec",
                                        tlsa(
                                                DeliveryFixture.CA
                                                        .issue("mx.bad.dnssec")
                                                        .certificate())))
                .delegate(
                        SignedZone.unsigned("plain.dnssec")
                                .mx("plain.dnssec", 10, "mx.plain.dnssec")
                                .a("mx.plain.dnssec", plain.address().getHostAddress()))
                .delegate(
                        SignedZone.unsigned("hosted.dnssec")
                                .mx("hosted.dnssec", 10, "mx.bad.dnssec"))
                .delegate(SignedZone.unsigned("a.ent.dnssec").a("a.ent.dnssec", "127.0.0.9"))
                .delegate(SignedZone.unsigned("b.ent.dnssec").a("b.ent.dnssec", "127.0.0.9"));
        f.dns.serve(root);
        Path anchor = Files.writeString(dir.resolve("anchor.zone"), root.trustAnchor());
        f.dnsExtra = "  dnssec: validate\n  trust-anchors: [\"" + anchor + "\"]\n";
        monitorLog = (Logger) LoggerFactory.getLogger(DnssecMonitor.class);
        logs = new ListAppender<>();
        logs.start();
        monitorLog.addAppender(logs);
    }

    @AfterEach
    void tearDown() throws IOException {
        monitorLog.detachAppender(logs);
        f.close();
        if (proxy != null) {
            proxy.close();
        }
        if (unbound != null) {
            unbound.close();
        }
    }

    private static SignedZone zone(String domain, TestMx mx) {
        return SignedZone.signed(domain)
                .nsec3(false)
                .mx(domain, 10, "mx." + domain)
                .a("mx." + domain, mx.address().getHostAddress());
    }

    private static String tlsa(X509Certificate c) throws Exception {
        return "3 1 1 "
                + HexFormat.of()
                        .formatHex(
                                MessageDigest.getInstance("SHA-256")
                                        .digest(c.getPublicKey().getEncoded()));
    }

    // ---- resolvers that can carry validation: every domain ends as RFC 7672 says ----

    @Test
    void behindADnssecAwareResolverThatDoesNotValidateTheRelayValidatesItself() throws Exception {
        // the stub returns signatures and proofs but validates nothing, like a plain BIND with
        // DNSSEC off
        f.start("", "");
        everyDomainEndsAsTheRfcSays();
    }

    @Test
    void behindAValidatingUnboundEveryDomainEndsAsTheRfcSays() throws Exception {
        Assumptions.assumeTrue(
                Unbound.installed(), "unbound is not installed (.ci/run installs it)");
        unbound = Unbound.start(dir, f.dns.address(), root.trustAnchor());
        f.dnsServer = unbound.address();
        f.start("", "");
        everyDomainEndsAsTheRfcSays();
    }

    private void everyDomainEndsAsTheRfcSays() throws Exception {
        String goodId = f.send(SENDER, List.of("bob@good.dnssec"), DeliveryFixture.message("g"));
        String badId = f.send(SENDER, List.of("bob@bad.dnssec"), DeliveryFixture.message("b"));
        f.send(SENDER, List.of("bob@plain.dnssec"), DeliveryFixture.message("p"));
        String entId = f.send(SENDER, List.of("bob@ent.dnssec"), DeliveryFixture.message("e"));

        Await.until(() -> good.messages().size() == 1, WAIT, "delivery under DANE-EE");
        Await.until(() -> plain.messages().size() == 1, WAIT, "opportunistic delivery");
        Await.until(() -> state(badId) == QueueState.DEFERRED, WAIT, "bad.dnssec deferred");
        assertFalse(bad.saw("MAIL FROM"), bad.commands().toString());
        assertTrue(reply(badId).startsWith("451 4.7.5 "), reply(badId));
        // ent.dnssec: insecure NODATA for MX and addresses, bounced as every NODATA (RFC 5321 §5.1)
        Await.until(() -> senderMx.messages().size() == 1, WAIT, "the DSN for ent.dnssec");
        String dsn = senderMx.messages().get(0).text();
        assertTrue(dsn.contains("bob@ent.dnssec") && dsn.contains("5.1.2"), dsn);
        Await.until(() -> state(entId) == null && state(goodId) == null, WAIT, "both done");
    }

    // ---- dane.insecure-mx: an insecure MX RRset naming a host with secure TLSA records ----

    @Test
    void anInsecureMxRrsetGetsOpportunisticTlsByDefaultAsRfc7672Says() throws Exception {
        f.start("", "");
        f.send(SENDER, List.of("bob@hosted.dnssec"), DeliveryFixture.message("h"));
        Await.until(() -> bad.messages().size() == 1, WAIT, "opportunistic delivery");
    }

    @Test
    void withInsecureMxDaneTheHostsTlsaRecordsApplyAndTheMismatchIsRefused() throws Exception {
        f.start("", "dane:\n  insecure-mx: dane\n");
        String id = f.send(SENDER, List.of("bob@hosted.dnssec"), DeliveryFixture.message("h"));
        Await.until(() -> state(id) == QueueState.DEFERRED, WAIT, "deferred under DANE");
        assertFalse(bad.saw("MAIL FROM"), bad.commands().toString());
        assertTrue(reply(id).startsWith("451 4.7.5 "), reply(id));
    }

    // ---- what an attacker or a broken middlebox does: validation stays on, delivery waits ----

    @ParameterizedTest(name = "the anchor's DNSKEY query {0}")
    @EnumSource(
            value = DnsProxy.Action.class,
            names = {"REFUSED", "SERVFAIL", "DROP"})
    void anAnchorKeyQueryRefusedOrDroppedOnTheWayNeverSwitchesDaneOff(DnsProxy.Action action)
            throws Exception {
        proxy = DnsProxy.start(f.dns.address(), DnsProxy.Rule.only("dnssec", "DNSKEY", action));
        f.dnsServer = proxy.address();
        f.start("", "");
        // it starts: such an answer says nothing certain about the resolver...
        assertTrue(
                errors().stream().anyMatch(m -> m.contains("Validation stays on")),
                errors().toString());

        String badId = f.send(SENDER, List.of("bob@bad.dnssec"), DeliveryFixture.message("b"));
        String goodId = f.send(SENDER, List.of("bob@good.dnssec"), DeliveryFixture.message("g"));
        String plainId = f.send(SENDER, List.of("bob@plain.dnssec"), DeliveryFixture.message("p"));

        // ...and nothing under the anchor can be validated, so everything there waits
        for (String id : List.of(badId, goodId, plainId)) {
            Await.until(() -> state(id) == QueueState.DEFERRED, WAIT, "deferred: " + id);
            assertTrue(reply(id).startsWith("451 4.4.3 "), reply(id));
        }
        assertTrue(bad.connections().isEmpty(), "no connection to the mismatching MX");
        assertTrue(good.messages().isEmpty() && plain.messages().isEmpty());
    }

    @Test
    void aResolverThatLosesDnssecWhileRunningDefersWithOneErrorAndAMetric() throws Exception {
        proxy = DnsProxy.start(f.dns.address(), DnsProxy.Rule.always(DnsProxy.Action.PASS));
        f.dnsServer = proxy.address();
        f.start("", "");
        f.send(SENDER, List.of("bob@good.dnssec"), DeliveryFixture.message("g"));
        Await.until(() -> good.messages().size() == 1, WAIT, "delivery while DNSSEC works");
        assertTrue(errors().isEmpty(), errors().toString());

        proxy.rule(DnsProxy.Rule.always(DnsProxy.Action.STRIP_DNSSEC));
        String badId = f.send(SENDER, List.of("bob@bad.dnssec"), DeliveryFixture.message("b1"));
        String again = f.send(SENDER, List.of("bob@bad.dnssec"), DeliveryFixture.message("b2"));

        for (String id : List.of(badId, again)) {
            Await.until(() -> state(id) == QueueState.DEFERRED, WAIT, "deferred: " + id);
        }
        assertFalse(bad.saw("MAIL FROM"), bad.commands().toString());
        Await.until(() -> metric("tlsrelay_dnssec_validating") == 0.0, WAIT, "the gauge at 0");
        assertTrue(metric("tlsrelay_dnssec_failures_total") >= 1);
        List<String> errors = errors();
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).contains("gives no DNSSEC data"), errors.get(0));
    }

    // ---- what cannot carry validation: run stops at start, exit 2, and says what to do ----

    @Test
    void aStrippingForwarderStopsRunWithExitTwoAndSaysWhatToDo() throws Exception {
        proxy = DnsProxy.start(f.dns.address(), DnsProxy.Rule.always(DnsProxy.Action.STRIP_DNSSEC));
        f.dnsServer = proxy.address();
        CliRun r = run();
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("gives no DNSSEC data"), r.err());
        assertTrue(r.err().contains("Point dns.servers at a DNSSEC-capable resolver"), r.err());
        assertTrue(r.err().contains("dns.dnssec: off"), r.err());
        assertTrue(bad.connections().isEmpty());
    }

    @Test
    void trustAnchorsThatDoNotMatchTheResolversKeysStopRunWithExitTwo() throws Exception {
        Path other =
                Files.writeString(
                        dir.resolve("other.zone"), SignedZone.signed("dnssec").trustAnchor());
        f.dnsExtra = "  dnssec: validate\n  trust-anchors: [\"" + other + "\"]\n";
        CliRun r = run();
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("do not validate against the trust anchors"), r.err());
        assertTrue(r.err().contains("Fix dns.trust-anchors"), r.err());
        assertTrue(bad.connections().isEmpty());
    }

    @Test
    void anAuthoritativeOnlyServerStopsRunWithExitTwo() throws Exception {
        f.dns.recursion(false);
        CliRun r = run();
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("without offering recursion"), r.err());
        assertTrue(r.err().contains("must be recursive resolvers"), r.err());
        assertTrue(bad.connections().isEmpty());
    }

    @Test
    void configCheckProbeDnsSaysTheSameAsRun() throws Exception {
        f.writeConfig("", "");
        CliRun ok = CliRun.run("config", "check", "--probe-dns", "--config", config());
        assertEquals(0, ok.exit(), ok.err());
        assertTrue(ok.out().contains("returns DNSSEC data that validates"), ok.out());

        proxy = DnsProxy.start(f.dns.address(), DnsProxy.Rule.always(DnsProxy.Action.STRIP_DNSSEC));
        f.dnsServer = proxy.address();
        f.writeConfig("", "");
        CliRun stripped = CliRun.run("config", "check", "--probe-dns", "--config", config());
        assertEquals(2, stripped.exit(), stripped.out());
        assertTrue(stripped.out().contains("gives no DNSSEC data"), stripped.out());

        proxy.rule(DnsProxy.Rule.only("dnssec", "DNSKEY", DnsProxy.Action.REFUSED));
        CliRun refused = CliRun.run("config", "check", "--probe-dns", "--config", config());
        assertEquals(1, refused.exit(), refused.out());
        assertTrue(refused.out().contains("REFUSED"), refused.out());
    }

    // ---- helpers ----

    private CliRun run() throws IOException {
        f.writeConfig("", "");
        return CliRun.run("run", "--config", config());
    }

    private String config() {
        return f.configFile().toString();
    }

    private List<String> errors() {
        return logs.list.stream()
                .filter(e -> e.getLevel() == Level.ERROR)
                .map(ILoggingEvent::getFormattedMessage)
                .toList();
    }

    private QueueState state(String id) {
        try {
            return f.queued(id).map(QueuedMessage::state).orElse(null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String reply(String id) throws IOException {
        Optional<QueuedMessage> m = f.queued(id);
        return m.map(q -> q.envelope().recipients().get(0))
                .map(RecipientStatus::lastReply)
                .orElse("");
    }

    private double metric(String name) {
        String body;
        try {
            body =
                    HttpClient.newHttpClient()
                            .send(
                                    HttpRequest.newBuilder(
                                                    URI.create(
                                                            "http://127.0.0.1:"
                                                                    + f.relay()
                                                                            .adminAddress()
                                                                            .getPort()
                                                                    + "/metrics"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        Matcher m = Pattern.compile("(?m)^" + name + " ([0-9.eE+-]+)$").matcher(body);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }
}
