package org.tlsrelay.smtp.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.tlsrelay.testkit.DnsProxy;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.SignedZone;

/** The start-up check per DNS server: only what a server says every time is taken as a configuration error. */
class DnssecProbeTest {
    private DnsStubServer dns;
    private SignedZone root;

    @BeforeEach
    void start() throws Exception {
        dns = DnsStubServer.start();
        root = SignedZone.signed("test").nsec3(true);
        dns.serve(root);
    }

    @AfterEach
    void stop() {
        dns.close();
    }

    private DnssecProbe.Result check(InetSocketAddress server, String anchor, Duration timeout) {
        return new DnssecProbe(
                        List.of(server),
                        timeout,
                        new TrustAnchors(anchor, "test anchors"),
                        Clock.systemUTC())
                .check();
    }

    private DnssecProbe.Result check(InetSocketAddress server) {
        return check(server, root.trustAnchor(), Duration.ofSeconds(2));
    }

    @Test
    void aResolverWithKeysThatValidatePasses() {
        DnssecProbe.Result r = check(dns.address().toSocketAddress());
        assertTrue(r.validates(), r.lines().toString());
        assertTrue(r.misconfiguration().isEmpty());
    }

    @Test
    void aStrippingForwarderIsAConfigurationError() throws Exception {
        try (DnsProxy strip =
                DnsProxy.start(dns.address(), DnsProxy.Rule.always(DnsProxy.Action.STRIP_DNSSEC))) {
            DnssecProbe.Result r = check(strip.address().toSocketAddress());
            assertInstanceOf(DnssecProbe.Finding.NoDnssecData.class, r.findings().get(0));
            String message = r.misconfiguration().orElseThrow();
            assertTrue(message.contains("without signatures (RRSIG)"), message);
            assertTrue(message.contains("dns.dnssec: off"), message);
        }
    }

    @Test
    void keysTheAnchorsDoNotValidateAreAConfigurationError() {
        DnssecProbe.Result r =
                check(
                        dns.address().toSocketAddress(),
                        SignedZone.signed("test").trustAnchor(),
                        Duration.ofSeconds(2));
        assertInstanceOf(DnssecProbe.Finding.AnchorsDoNotMatch.class, r.findings().get(0));
        assertTrue(r.misconfiguration().orElseThrow().contains("Fix dns.trust-anchors"));
    }

    @Test
    void aServerWithoutRecursionIsAConfigurationError() {
        dns.recursion(false);
        DnssecProbe.Result r = check(dns.address().toSocketAddress());
        assertInstanceOf(DnssecProbe.Finding.NotAResolver.class, r.findings().get(0));
    }

    @Test
    void errorAnswersAndSilenceProveNothing() throws Exception {
        for (DnsProxy.Action action : List.of(DnsProxy.Action.REFUSED, DnsProxy.Action.SERVFAIL)) {
            try (DnsProxy p = DnsProxy.start(dns.address(), DnsProxy.Rule.always(action))) {
                DnssecProbe.Result r = check(p.address().toSocketAddress());
                assertInstanceOf(DnssecProbe.Finding.NoAnswer.class, r.findings().get(0));
                assertTrue(r.misconfiguration().isEmpty(), action.toString());
                assertTrue(r.unanswered().orElseThrow().contains(action.name()));
            }
        }
        try (DatagramSocket silent = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            DnssecProbe.Result r =
                    check(
                            new InetSocketAddress(
                                    InetAddress.getLoopbackAddress(), silent.getLocalPort()),
                            root.trustAnchor(),
                            Duration.ofMillis(300));
            assertInstanceOf(DnssecProbe.Finding.NoAnswer.class, r.findings().get(0));
            assertTrue(r.misconfiguration().isEmpty());
        }
    }

    @Test
    void answersThatDisagreeBetweenAttemptsProveNothing() throws Exception {
        // stripped once, then fine, then stripped: not "every time", and it validated once: it
        // passes
        int[] n = {0};
        try (DnsProxy flaky =
                DnsProxy.start(
                        dns.address(),
                        (name, type) ->
                                n[0]++ == 0
                                        ? DnsProxy.Action.STRIP_DNSSEC
                                        : DnsProxy.Action.PASS)) {
            DnssecProbe.Result r = check(flaky.address().toSocketAddress());
            assertTrue(r.validates(), r.lines().toString());
        }
        // stripped, then refused: no configuration error either
        int[] m = {0};
        try (DnsProxy mixed =
                DnsProxy.start(
                        dns.address(),
                        (name, type) ->
                                m[0]++ == 0
                                        ? DnsProxy.Action.STRIP_DNSSEC
                                        : DnsProxy.Action.REFUSED)) {
            DnssecProbe.Result r = check(mixed.address().toSocketAddress());
            assertEquals(List.of(), r.misconfiguration().stream().toList(), r.lines().toString());
        }
    }
}
