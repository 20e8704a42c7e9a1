package org.tlsrelay.smtp.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.SignedZone;
import org.tlsrelay.testkit.Unbound;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * Interoperability with an independent validator: unbound, validating the test kit's NSEC and NSEC3 (Opt-Out and
 * not) zones from the same trust anchor, comes to the same verdict for every name as the relay's resolver; and the
 * relay's resolver and its start-up check, pointed at unbound as at a real validating resolver, work through it.
 */
class UnboundInteropTest {
    @TempDir static Path dir;
    private static DnsStubServer authority;
    private static SignedZone root;
    private static Unbound unbound;
    private static DnssecResolver viaUnbound;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(
                Unbound.installed(), "unbound is not installed (.ci/run installs it)");
        authority = DnsStubServer.start();
        root = DnssecTree.build();
        authority.serve(root);
        unbound = Unbound.start(dir, authority.address(), root.trustAnchor());
        viaUnbound =
                DnssecResolver.create(
                        List.of(unbound.address().toSocketAddress()),
                        Duration.ofSeconds(3),
                        new TrustAnchors(root.trustAnchor(), "test anchors"),
                        Clock.systemUTC());
    }

    @AfterAll
    static void stop() {
        if (unbound != null) {
            unbound.close();
        }
        if (authority != null) {
            authority.close();
        }
    }

    /** name, type, what unbound and the relay's resolver both say: secure, insecure or bogus. */
    @ParameterizedTest(name = "{0}/{1} is {2}")
    @CsvSource({
        "n3.test,             MX,   secure",
        "mx.n3.test,          TLSA, secure",
        "nothing.n3.test,     MX,   secure",
        "_tcp.mx.n3.test,     TXT,  secure",
        "nsec.test,           MX,   secure",
        "nothing.nsec.test,   MX,   secure",
        "plain.test,          MX,   insecure",
        "nothing.test,        MX,   insecure",
        "ent.test,            MX,   insecure",
        "ent.test,            A,    insecure",
        "mx.bogus.test,       A,    bogus",
    })
    void unboundAndTheRelayAgree(String name, String type, String verdict) throws Exception {
        assertEquals(verdict, unboundSays(name, type), unbound.log());
        assertEquals(verdict, relaySays(name, type));
    }

    @Test
    void theStartUpCheckAcceptsUnboundAsAValidatingResolver() {
        DnssecProbe probe =
                new DnssecProbe(
                        List.of(unbound.address().toSocketAddress()),
                        Duration.ofSeconds(3),
                        new TrustAnchors(root.trustAnchor(), "test anchors"),
                        Clock.systemUTC());
        DnssecProbe.Result result = probe.check();
        assertTrue(result.validates(), result.lines().toString());
    }

    @Test
    void theRelaysResolverBehindUnboundFindsTheSecureMx() throws Exception {
        DnsResult<?> mx = viaUnbound.mx("n3.test").get(20, TimeUnit.SECONDS);
        assertInstanceOf(DnsResult.Found.class, mx, mx.describe());
        assertTrue(mx.isSecure(), mx.describe());
    }

    private static String unboundSays(String name, String type) throws Exception {
        SimpleResolver r = new SimpleResolver(unbound.address().toSocketAddress());
        r.setTimeout(Duration.ofSeconds(5));
        Message query =
                Message.newQuery(
                        Record.newRecord(Name.fromString(name + "."), Type.value(type), DClass.IN));
        query.getHeader().setFlag(Flags.AD); // RFC 6840 §5.7: ask for the AD bit
        Message answer = r.send(query);
        if (answer.getRcode() == Rcode.SERVFAIL) {
            return "bogus";
        }
        return answer.getHeader().getFlag(Flags.AD) ? "secure" : "insecure";
    }

    private static String relaySays(String name, String type) throws Exception {
        DnssecResolver relay =
                DnssecResolver.create(
                        List.of(authority.address().toSocketAddress()),
                        Duration.ofSeconds(3),
                        new TrustAnchors(root.trustAnchor(), "test anchors"),
                        Clock.systemUTC());
        DnsResult<?> r =
                switch (type) {
                    case "MX" -> relay.mx(name).get(20, TimeUnit.SECONDS);
                    case "TLSA" -> relay.tlsa(name).get(20, TimeUnit.SECONDS);
                    case "TXT" -> relay.txt(name).get(20, TimeUnit.SECONDS);
                    default -> relay.addresses(name).get(20, TimeUnit.SECONDS);
                };
        if (r instanceof DnsResult.Failed<?> f) {
            return f.failure() == DnsResult.Failure.BOGUS ? "bogus" : "failed: " + f.describe();
        }
        return r.isSecure() ? "secure" : "insecure";
    }
}
