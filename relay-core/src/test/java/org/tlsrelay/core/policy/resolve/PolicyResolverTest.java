package org.tlsrelay.core.policy.resolve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.PolicySource;
import org.tlsrelay.core.policy.mtasts.FakePolicyFetcher;
import org.tlsrelay.core.policy.mtasts.MtaStsResolver;
import org.tlsrelay.core.policy.mtasts.PolicyCache;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.testkit.FakeDnsResolver;
import org.tlsrelay.testkit.MutableClock;

/** Precedence: forced override > MTA-STS (live or cached) > first unexpired list > override > none. */
class PolicyResolverTest {
    static final String STS_ENFORCE =
            "version: STSv1\nmode: enforce\nmx: sts-mx.example.com\nmax_age: 86400\n";
    static final Policy LIST_POLICY =
            new Policy(PolicyMode.ENFORCE, List.of(MxPattern.ofListEntry(".list.example")));
    static final Policy LIST2_POLICY =
            new Policy(PolicyMode.TESTING, List.of(MxPattern.ofListEntry(".l2.example")));

    @TempDir Path dir;
    final FakeDnsResolver dns = new FakeDnsResolver();
    final FakePolicyFetcher fetcher = new FakePolicyFetcher();
    final MutableClock clock = MutableClock.atFixedStart();
    final FakePolicyLists lists = new FakePolicyLists();
    MtaStsResolver mtaSts;

    @BeforeEach
    void open() throws Exception {
        mtaSts =
                MtaStsResolver.open(
                        dns,
                        fetcher,
                        new PolicyCache(dir),
                        clock,
                        Runnable::run,
                        MtaStsResolver.Settings.defaults());
        Instant inAWeek = clock.instant().plus(Duration.ofDays(7));
        lists.add(
                        "first",
                        inAWeek,
                        Map.of("example.com", LIST_POLICY, "listed.example", LIST_POLICY))
                .add(
                        "second",
                        inAWeek,
                        Map.of("listed.example", LIST2_POLICY, "second.example", LIST2_POLICY));
    }

    void publishSts(String domain, String id, String policy) {
        dns.txt("_mta-sts." + domain, "v=STSv1; id=" + id);
        fetcher.serve(domain, policy);
    }

    PolicyResolver resolver(
            Map<String, PolicyResolver.LocalOverride> overrides, boolean stsEnabled) {
        return new PolicyResolver(
                new PolicyResolver.Settings(stsEnabled, overrides), mtaSts, lists, clock);
    }

    PolicyResolver resolver(Map<String, PolicyResolver.LocalOverride> overrides) {
        return resolver(overrides, true);
    }

    static PolicyResolver.LocalOverride override(boolean force) {
        return new PolicyResolver.LocalOverride(
                new Policy(
                        PolicyMode.TESTING,
                        List.of(MxPattern.ofOverride("override-mx.example.com"))),
                force);
    }

    ResolvedPolicy resolve(PolicyResolver r, String domain) throws Exception {
        return r.resolveNow(domain, Duration.ofSeconds(5));
    }

    @Test
    void liveMtaStsWinsOverListsAndAPlainOverride() throws Exception {
        publishSts("example.com", "7", STS_ENFORCE);
        ResolvedPolicy p = resolve(resolver(Map.of("example.com", override(false))), "example.com");
        assertEquals(PolicySource.MTA_STS_LIVE, p.source());
        assertEquals(PolicyMode.ENFORCE, p.mode());
        assertTrue(p.policy().allowsMx("sts-mx.example.com"));
        assertFalse(p.policy().allowsMx("a.list.example"));
        assertEquals("7", p.policyId().orElseThrow());
        assertEquals(
                List.of(
                        "version: STSv1",
                        "mode: enforce",
                        "mx: sts-mx.example.com",
                        "max_age: 86400"),
                p.policyLines());
        assertTrue(
                p.explanation().contains("MTA-STS takes precedence over list first"),
                p.explanation());
        assertTrue(p.explanation().contains("local override"), p.explanation());
    }

    @Test
    void cachedMtaStsWinsOverListsWhenTheFetchNowFails() throws Exception {
        publishSts("example.com", "7", STS_ENFORCE);
        PolicyResolver r = resolver(Map.of());
        resolve(r, "example.com");
        dns.remove("_mta-sts.example.com").txt("_mta-sts.example.com", "v=STSv1; id=8");
        fetcher.fail("example.com", TlsFailureType.STS_WEBPKI_INVALID);
        ResolvedPolicy p = r.revalidate("example.com").get();
        assertEquals(PolicySource.MTA_STS_CACHED, p.source());
        assertEquals("7", p.policyId().orElseThrow());
        assertEquals(TlsFailureType.STS_WEBPKI_INVALID, p.stsFailure().orElseThrow().type());
    }

    @Test
    void aForcedOverrideWinsOverEverythingAndMtaStsIsNotAsked() throws Exception {
        publishSts("example.com", "7", STS_ENFORCE);
        ResolvedPolicy p = resolve(resolver(Map.of("example.com", override(true))), "example.com");
        assertEquals(PolicySource.OVERRIDE, p.source());
        assertTrue(p.forced());
        assertEquals(PolicyMode.TESTING, p.mode());
        assertTrue(p.policy().allowsMx("override-mx.example.com"));
        assertTrue(dns.queries().isEmpty());
        assertEquals("local override (force: true)", p.sourceDescription());
    }

    @Test
    void theFirstConfiguredListWinsWhenThereIsNoMtaSts() throws Exception {
        ResolvedPolicy p =
                resolve(resolver(Map.of("listed.example", override(false))), "listed.example");
        assertEquals(PolicySource.LIST, p.source());
        assertEquals("first", p.listName().orElseThrow());
        assertEquals(LIST_POLICY, p.policy());
        assertTrue(
                p.explanation().startsWith("MTA-STS: no policy: no _mta-sts TXT record (NXDOMAIN)"),
                p.explanation());
        assertTrue(p.stsFailure().isEmpty());
        assertEquals(
                "second", resolve(resolver(Map.of()), "second.example").listName().orElseThrow());
    }

    @Test
    void anExpiredListContributesNothing() throws Exception {
        clock.advance(Duration.ofDays(7));
        PolicyResolver r = resolver(Map.of("listed.example", override(false)));
        ResolvedPolicy p = resolve(r, "listed.example");
        assertEquals(PolicySource.OVERRIDE, p.source());
        assertFalse(p.forced());
        assertEquals(PolicySource.NONE, resolve(r, "second.example").source());
    }

    @Test
    void aFetchFailureWithoutCacheFallsBackToTheListAsFirstUseProtection() throws Exception {
        dns.txt("_mta-sts.listed.example", "v=STSv1; id=1");
        fetcher.fail("listed.example", TlsFailureType.STS_WEBPKI_INVALID);
        ResolvedPolicy p = resolve(resolver(Map.of()), "listed.example");
        assertEquals(PolicySource.LIST, p.source());
        assertEquals(LIST_POLICY, p.policy());
        assertEquals(TlsFailureType.STS_WEBPKI_INVALID, p.stsFailure().orElseThrow().type());
        assertTrue(p.explanation().contains("first-use protection"), p.explanation());
    }

    @Test
    void aFetchFailureWithoutCacheOrListFallsBackToThePlainOverrideOrNone() throws Exception {
        dns.txt("_mta-sts.other.example", "v=STSv1; id=1");
        fetcher.fail("other.example", TlsFailureType.STS_POLICY_FETCH_ERROR);
        ResolvedPolicy withOverride =
                resolve(resolver(Map.of("other.example", override(false))), "other.example");
        assertEquals(PolicySource.OVERRIDE, withOverride.source());
        assertEquals(
                TlsFailureType.STS_POLICY_FETCH_ERROR,
                withOverride.stsFailure().orElseThrow().type());
        ResolvedPolicy none = resolve(resolver(Map.of()), "other.example");
        assertEquals(PolicySource.NONE, none.source());
        assertEquals(PolicyMode.NONE, none.mode());
        assertTrue(none.mxs().isEmpty());
    }

    @Test
    void anMtaStsPolicyInModeNoneStillWinsOverTheList() throws Exception {
        publishSts("listed.example", "1", "version: STSv1\nmode: none\nmax_age: 86400\n");
        ResolvedPolicy p = resolve(resolver(Map.of()), "listed.example");
        assertEquals(PolicySource.MTA_STS_LIVE, p.source());
        assertEquals(PolicyMode.NONE, p.mode());
    }

    @Test
    void withMtaStsDisabledTheListApplies() throws Exception {
        publishSts("example.com", "7", STS_ENFORCE);
        ResolvedPolicy p = resolve(resolver(Map.of(), false), "example.com");
        assertEquals(PolicySource.LIST, p.source());
        assertTrue(p.explanation().startsWith("MTA-STS is disabled"), p.explanation());
        assertTrue(dns.queries().isEmpty());
    }

    @Test
    void nothingAppliesMeansOpportunisticTls() throws Exception {
        ResolvedPolicy p = resolve(resolver(Map.of()), "Nothing.Example.");
        assertEquals("nothing.example", p.domain());
        assertEquals(PolicySource.NONE, p.source());
        assertTrue(p.explanation().endsWith("opportunistic TLS"), p.explanation());
    }

    @Test
    void anInvalidDomainIsRefused() {
        assertThrows(
                IllegalArgumentException.class, () -> resolver(Map.of()).resolve("not a domain"));
    }
}
