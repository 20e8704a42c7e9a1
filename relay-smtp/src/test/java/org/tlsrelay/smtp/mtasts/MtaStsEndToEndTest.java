package org.tlsrelay.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.PolicySource;
import org.tlsrelay.core.policy.list.ListedPolicy;
import org.tlsrelay.core.policy.list.PolicyLists;
import org.tlsrelay.core.policy.mtasts.HttpsPolicyFetcher;
import org.tlsrelay.core.policy.mtasts.MtaStsResolver;
import org.tlsrelay.core.policy.mtasts.PolicyCache;
import org.tlsrelay.core.policy.resolve.PolicyResolver;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.dns.DnsjavaResolver;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.MutableClock;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestHttpsServer;

/**
 * The policy resolver over real sockets: dnsjava against a DNS stub on loopback, the policy host a real HTTPS server
 * with a test-CA certificate, the cache in a temporary directory. Only the policy logic's clock is moved by hand.
 */
class MtaStsEndToEndTest {
    static final String PATH = "/.well-known/mta-sts.txt";
    static final String POLICY_1 =
            "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400\n";
    static final String POLICY_2 =
            "version: STSv1\nmode: testing\nmx: *.example.com\nmax_age: 86400\n";
    static final TestCa CA = TestCa.create("tlsrelay test CA");
    static final Policy LISTED =
            new Policy(PolicyMode.ENFORCE, List.of(MxPattern.ofListEntry(".listed-mx.example")));

    @TempDir Path stateDir;
    DnsStubServer dns;
    TestHttpsServer https;
    DnsjavaResolver resolver;
    ExecutorService executor;
    final MutableClock clock = MutableClock.atFixedStart();

    /** The list helper's InstalledPolicyLists stands here as a hand-written fake: one list naming example.com. */
    final PolicyLists lists =
            (domain, now) ->
                    domain.equals("example.com")
                            ? Optional.of(
                                    new ListedPolicy(
                                            "partners",
                                            domain,
                                            LISTED,
                                            Instant.parse("2030-01-01T00:00:00Z")))
                            : Optional.empty();

    @BeforeEach
    void start() throws Exception {
        dns = DnsStubServer.start();
        https = TestHttpsServer.start(CA.issue("mta-sts.example.com").serverContext());
        dns.a("mta-sts.example.com", "127.0.0.1").txt("_mta-sts.example.com", "v=STSv1; id=1");
        https.respond(PATH, TestHttpsServer.Response.text(POLICY_1));
        resolver =
                DnsjavaResolver.create(
                        List.of(dns.address().toSocketAddress()), Duration.ofSeconds(1));
        executor = Executors.newFixedThreadPool(2);
    }

    @AfterEach
    void stop() {
        https.close();
        dns.close();
        executor.shutdownNow();
    }

    PolicyResolver policyResolver(int httpsPort) throws Exception {
        HttpsPolicyFetcher fetcher =
                new HttpsPolicyFetcher(
                        resolver,
                        TrustMaterial.of(List.of(CA.certificate())),
                        httpsPort,
                        Duration.ofSeconds(5),
                        executor);
        MtaStsResolver mtaSts =
                MtaStsResolver.open(
                        resolver,
                        fetcher,
                        new PolicyCache(stateDir.resolve("mta-sts")),
                        clock,
                        executor,
                        MtaStsResolver.Settings.defaults());
        return new PolicyResolver(PolicyResolver.Settings.defaults(), mtaSts, lists, clock);
    }

    ResolvedPolicy resolve(PolicyResolver r, String domain) throws Exception {
        return r.resolveNow(domain, Duration.ofSeconds(10));
    }

    void publish(String id, String policy) {
        dns.remove("_mta-sts.example.com").txt("_mta-sts.example.com", "v=STSv1; id=" + id);
        https.respond(PATH, TestHttpsServer.Response.text(policy));
    }

    @Test
    void aLivePolicyIsFetchedThenServedFromTheCache() throws Exception {
        PolicyResolver r = policyResolver(https.port());
        ResolvedPolicy live = resolve(r, "example.com");
        assertEquals(PolicySource.MTA_STS_LIVE, live.source(), live::explanation);
        assertEquals(PolicyMode.ENFORCE, live.mode());
        assertTrue(live.policy().allowsMx("mx1.example.com"));
        assertTrue(
                live.explanation().contains("MTA-STS takes precedence over list partners"),
                live.explanation());
        ResolvedPolicy cached = resolve(r, "example.com");
        assertEquals(PolicySource.MTA_STS_CACHED, cached.source());
        assertEquals(1, https.requests().size());
        assertTrue(Files.exists(stateDir.resolve("mta-sts").resolve("example.com.json")));
    }

    @Test
    void aNewTxtIdTriggersARefetch() throws Exception {
        PolicyResolver r = policyResolver(https.port());
        resolve(r, "example.com");
        publish("2", POLICY_2);
        clock.advance(Duration.ofMinutes(6));
        ResolvedPolicy p = resolve(r, "example.com");
        assertEquals(PolicySource.MTA_STS_LIVE, p.source());
        assertEquals("2", p.policyId().orElseThrow());
        assertEquals(PolicyMode.TESTING, p.mode());
        assertEquals(2, https.requests().size());
    }

    @Test
    void theCacheSurvivesARestartOfTheResolver() throws Exception {
        resolve(policyResolver(https.port()), "example.com");
        https.close(); // the policy host is gone: only the cache can answer
        PolicyResolver restarted = policyResolver(https.port());
        ResolvedPolicy p = resolve(restarted, "example.com");
        assertEquals(PolicySource.MTA_STS_CACHED, p.source(), p::explanation);
        assertEquals("1", p.policyId().orElseThrow());
    }

    @Test
    void anExpiredCachedPolicyIsNotUsed() throws Exception {
        PolicyResolver r = policyResolver(https.port());
        resolve(r, "example.com");
        https.respond(PATH, TestHttpsServer.Response.status(503));
        publish("2", POLICY_2);
        https.respond(PATH, TestHttpsServer.Response.status(503));
        clock.advance(Duration.ofSeconds(86400));
        ResolvedPolicy p = resolve(r, "example.com");
        assertEquals(PolicySource.LIST, p.source(), p::explanation);
        assertEquals(TlsFailureType.STS_POLICY_FETCH_ERROR, p.stsFailure().orElseThrow().type());
    }

    @Test
    void aTxtRecordThatDisappearsKeepsTheCachedPolicy() throws Exception {
        PolicyResolver r = policyResolver(https.port());
        resolve(r, "example.com");
        dns.remove("_mta-sts.example.com");
        clock.advance(Duration.ofHours(2));
        ResolvedPolicy p = resolve(r, "example.com");
        assertEquals(PolicySource.MTA_STS_CACHED, p.source());
        assertTrue(p.explanation().contains("NXDOMAIN"), p.explanation());
    }

    @Test
    void withoutCacheServfailAndNxdomainBothMeanNoPolicyButAreExplainedApart() throws Exception {
        PolicyResolver r = policyResolver(https.port());
        dns.servfail("_mta-sts.other.example");
        ResolvedPolicy servfail = resolve(r, "other.example");
        assertEquals(PolicySource.NONE, servfail.source());
        assertTrue(
                servfail.explanation().contains("TXT look-up failed (SERVFAIL"),
                servfail.explanation());
        assertTrue(servfail.stsFailure().isEmpty());
        ResolvedPolicy nx = resolve(r, "third.example");
        assertTrue(
                nx.explanation().contains("no _mta-sts TXT record (NXDOMAIN)"), nx.explanation());
    }

    @Test
    void aWrongCertificateOnFirstContactFallsBackToTheList() throws Exception {
        try (TestHttpsServer impostor =
                TestHttpsServer.start(CA.issue("www.example.com").serverContext())) {
            impostor.respond(PATH, TestHttpsServer.Response.text(POLICY_2));
            ResolvedPolicy p = resolve(policyResolver(impostor.port()), "example.com");
            assertEquals(PolicySource.LIST, p.source(), p::explanation);
            assertEquals("partners", p.listName().orElseThrow());
            assertEquals(LISTED, p.policy());
            assertEquals(TlsFailureType.STS_WEBPKI_INVALID, p.stsFailure().orElseThrow().type());
        }
    }

    @Test
    void aWrongCertificateAfterAGoodFetchKeepsTheCachedPolicy() throws Exception {
        resolve(policyResolver(https.port()), "example.com");
        publish("2", POLICY_2);
        try (TestHttpsServer impostor =
                TestHttpsServer.start(CA.issue("www.example.com").serverContext())) {
            impostor.respond(PATH, TestHttpsServer.Response.text(POLICY_2));
            ResolvedPolicy p = resolve(policyResolver(impostor.port()), "example.com");
            assertEquals(PolicySource.MTA_STS_CACHED, p.source(), p::explanation);
            assertEquals("1", p.policyId().orElseThrow());
            assertEquals(TlsFailureType.STS_WEBPKI_INVALID, p.stsFailure().orElseThrow().type());
        }
    }

    @Test
    void afterAFailedFetchThePolicyHostIsLeftAloneForFiveMinutes() throws Exception {
        https.respond(PATH, TestHttpsServer.Response.status(500));
        PolicyResolver r = policyResolver(https.port());
        assertEquals(PolicySource.LIST, resolve(r, "example.com").source());
        https.respond(PATH, TestHttpsServer.Response.text(POLICY_1));
        clock.advance(Duration.ofMinutes(4));
        ResolvedPolicy during = r.revalidate("example.com").get();
        assertEquals(PolicySource.LIST, during.source());
        assertTrue(during.explanation().contains("no new attempt before"), during.explanation());
        assertEquals(1, https.requests().size());
        clock.advance(Duration.ofMinutes(1));
        assertEquals(PolicySource.MTA_STS_LIVE, resolve(r, "example.com").source());
        assertEquals(2, https.requests().size());
    }

    @Test
    void anInvalidPolicyIsStsPolicyInvalidAndTheListApplies() throws Exception {
        https.respond(
                PATH,
                TestHttpsServer.Response.text("version: STSv1\nmode: enforce\nmax_age: 86400\n"));
        ResolvedPolicy p = resolve(policyResolver(https.port()), "example.com");
        assertEquals(PolicySource.LIST, p.source());
        assertEquals(TlsFailureType.STS_POLICY_INVALID, p.stsFailure().orElseThrow().type());
        assertFalse(Files.exists(stateDir.resolve("mta-sts").resolve("example.com.json")));
    }

    @Test
    void aForcedOverrideWinsWithoutAnyNetworkTraffic() throws Exception {
        HttpsPolicyFetcher fetcher =
                new HttpsPolicyFetcher(
                        resolver,
                        TrustMaterial.of(List.of(CA.certificate())),
                        https.port(),
                        Duration.ofSeconds(5),
                        executor);
        MtaStsResolver mtaSts =
                MtaStsResolver.open(
                        resolver,
                        fetcher,
                        new PolicyCache(stateDir.resolve("mta-sts")),
                        clock,
                        executor,
                        MtaStsResolver.Settings.defaults());
        PolicyResolver.Settings config =
                new PolicyResolver.Settings(
                        true,
                        Map.of(
                                "example.com",
                                new PolicyResolver.LocalOverride(
                                        new Policy(PolicyMode.NONE, List.of()), true)));
        ResolvedPolicy p = resolve(new PolicyResolver(config, mtaSts, lists, clock), "example.com");
        assertEquals(PolicySource.OVERRIDE, p.source());
        assertTrue(p.forced());
        assertTrue(dns.queries().isEmpty());
        assertTrue(https.requests().isEmpty());
    }
}
