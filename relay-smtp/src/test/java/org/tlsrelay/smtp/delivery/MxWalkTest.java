package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.enforce.Admission;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.enforce.TlsRequirement;
import org.tlsrelay.core.enforce.Verdict;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.testkit.FakeDnsResolver;
import org.tlsrelay.testkit.TestPolicies;

/**
 * The MX walk delivery and {@code policy check} share, with a strategy that only writes down what it is handed: which
 * hosts Enforcer skips (without an address look-up), which it allows, and from which resolver their addresses come.
 */
class MxWalkTest {
    private static final String TLSA = "3 1 1 " + "ab".repeat(32);

    private final FakeDnsResolver general = new FakeDnsResolver();
    private final FakeDnsResolver validating = new FakeDnsResolver();

    /** What the walk handed the strategy, one line per host. */
    private static final class Recording implements MxWalk.Strategy {
        final List<String> seen = new ArrayList<>();
        final List<Admission.Connect> permits = new ArrayList<>();
        final List<MxPolicy> skippedPolicies = new ArrayList<>();
        int hostsWanted = Integer.MAX_VALUE;

        @Override
        public boolean wantsNextHost() {
            return seen.size() < hostsWanted;
        }

        @Override
        public CompletableFuture<Void> skipped(
                MxPlan.MxHost host, MxPolicy policy, Verdict.Refuse refusal) {
            seen.add(
                    host.name()
                            + " skip "
                            + refusal.ground()
                            + " "
                            + refusal.failure().resultType());
            skippedPolicies.add(policy);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> connect(
                MxPlan.MxHost host,
                Admission.Connect permit,
                DnsResult<List<InetAddress>> addresses) {
            seen.add(
                    host.name()
                            + " connect "
                            + addresses
                                    .found()
                                    .map(
                                            l ->
                                                    l.stream()
                                                            .map(InetAddress::getHostAddress)
                                                            .toList()
                                                            .toString())
                                    .orElse(addresses.describe()));
            permits.add(permit);
            return CompletableFuture.completedFuture(null);
        }
    }

    private Recording walk(
            MxResolvers dns, String domain, ResolvedPolicy policy, TlsRequirement requirement)
            throws Exception {
        return walk(dns, domain, policy, requirement, new Recording());
    }

    private Recording walk(
            MxResolvers dns,
            String domain,
            ResolvedPolicy policy,
            TlsRequirement requirement,
            Recording strategy)
            throws Exception {
        MxPlan plan = MxPlan.lookUp(dns.mx(), domain, new Random(1)).get(5, TimeUnit.SECONDS);
        new MxWalk(dns, 25)
                .walk(policy, requirement, assertInstanceOf(MxPlan.Hosts.class, plan), strategy)
                .get(5, TimeUnit.SECONDS);
        return strategy;
    }

    @Test
    void skipsAnMxTheEnforcedPolicyDoesNotListWithoutLookingUpItsAddresses() throws Exception {
        general.mx("walk.test", 10, "mx.other.test")
                .mx("walk.test", 20, "mx.walk.test")
                .a("mx.other.test", "192.0.2.1")
                .a("mx.walk.test", "192.0.2.2");

        Recording r =
                walk(
                        MxResolvers.withoutDnssec(general),
                        "walk.test",
                        TestPolicies.enforce("walk.test", "mx.walk.test"),
                        TlsRequirement.POLICY);

        assertEquals(
                List.of(
                        "mx.other.test skip TLS_POLICY validation-failure",
                        "mx.walk.test connect [192.0.2.2]"),
                r.seen);
        assertFalse(
                general.queries().contains("A+AAAA mx.other.test"), general.queries().toString());
        assertEquals("mx.walk.test", r.permits.get(0).mxHost());
    }

    @Test
    void takesTheAddressesOfAnMxWithTlsaRecordsFromTheValidatingResolverOnly() throws Exception {
        validating
                .signed("dane.test")
                .mx("dane.test", 10, "mx.dane.test")
                .a("mx.dane.test", "192.0.2.3")
                .tlsa("_25._tcp.mx.dane.test", TLSA);
        general.mx("dane.test", 10, "mx.dane.test").a("mx.dane.test", "198.51.100.9");

        Recording r =
                walk(
                        MxResolvers.withDnssec(general, validating),
                        "dane.test",
                        TestPolicies.none("dane.test"),
                        TlsRequirement.POLICY);

        assertEquals(List.of("mx.dane.test connect [192.0.2.3]"), r.seen);
        assertInstanceOf(DanePolicy.Required.class, r.permits.get(0).policy().dane());
        assertTrue(
                general.queries().isEmpty(), "the general resolver was asked " + general.queries());
    }

    @Test
    void aBogusTlsaAnswerKeepsTheHostWaitingWithoutAnAddressLookUp() throws Exception {
        validating
                .signed("bogus.test")
                .mx("bogus.test", 10, "mx.bogus.test")
                .a("mx.bogus.test", "192.0.2.4")
                .bogus("_25._tcp.mx.bogus.test");

        Recording r =
                walk(
                        MxResolvers.withDnssec(general, validating),
                        "bogus.test",
                        TestPolicies.none("bogus.test"),
                        TlsRequirement.POLICY);

        assertEquals(List.of("mx.bogus.test skip TLS_POLICY dnssec-invalid"), r.seen);
        assertInstanceOf(DanePolicy.Failed.class, r.skippedPolicies.get(0).dane());
        assertEquals(
                TlsFailureType.DNSSEC_INVALID.resultType(),
                r.seen.get(0).substring(r.seen.get(0).lastIndexOf(' ') + 1));
    }

    @Test
    void anImplicitMxUsesTheAddressesTheMxLookUpFound() throws Exception {
        general.a("implicit.test", "192.0.2.5");

        Recording r =
                walk(
                        MxResolvers.withoutDnssec(general),
                        "implicit.test",
                        TestPolicies.none("implicit.test"),
                        TlsRequirement.POLICY);

        assertEquals(List.of("implicit.test connect [192.0.2.5]"), r.seen);
        assertEquals(
                1,
                general.queries().stream().filter(q -> q.startsWith("A+AAAA")).count(),
                "the addresses are looked up once, for the MX plan: " + general.queries());
    }

    @Test
    void aRequireTlsMessageSkipsEveryMxNoPolicyAuthenticates() throws Exception {
        general.mx("open.test", 10, "mx1.open.test")
                .mx("open.test", 20, "mx2.open.test")
                .a("mx1.open.test", "192.0.2.6")
                .a("mx2.open.test", "192.0.2.7");

        Recording r =
                walk(
                        MxResolvers.withoutDnssec(general),
                        "open.test",
                        TestPolicies.sts(
                                "open.test", PolicyMode.TESTING, "mx1.open.test", "mx2.open.test"),
                        TlsRequirement.REQUIRETLS);

        assertEquals(
                List.of(
                        "mx1.open.test skip REQUIRETLS validation-failure",
                        "mx2.open.test skip REQUIRETLS validation-failure"),
                r.seen);
    }

    @Test
    void stopsWhenTheStrategyWantsNoMoreHosts() throws Exception {
        general.mx("two.test", 10, "mx1.two.test")
                .mx("two.test", 20, "mx2.two.test")
                .a("mx1.two.test", "192.0.2.8")
                .a("mx2.two.test", "192.0.2.9");
        Recording strategy = new Recording();
        strategy.hostsWanted = 1;

        Recording r =
                walk(
                        MxResolvers.withoutDnssec(general),
                        "two.test",
                        TestPolicies.none("two.test"),
                        TlsRequirement.POLICY,
                        strategy);

        assertEquals(List.of("mx1.two.test connect [192.0.2.8]"), r.seen);
        assertFalse(general.queries().contains("A+AAAA mx2.two.test"));
    }
}
