package org.tlsrelay.core.policy.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.FakeDnsResolver;
import org.tlsrelay.testkit.MutableClock;

/** The cache, id and back-off rules of RFC 8461 §3.3/§5.1, with an in-memory DNS, a fake fetcher and a hand clock. */
class MtaStsResolverTest {
    static final String ENFORCE =
            "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400\n";
    static final String TESTING =
            "version: STSv1\nmode: testing\nmx: *.example.com\nmax_age: 86400\n";
    static final MtaStsResolver.Settings SETTINGS =
            new MtaStsResolver.Settings(
                    Duration.ofMinutes(5),
                    Duration.ofMinutes(5),
                    Duration.ofHours(24),
                    Duration.ZERO);

    @TempDir Path dir;
    final FakeDnsResolver dns = new FakeDnsResolver();
    final FakePolicyFetcher fetcher = new FakePolicyFetcher();
    final MutableClock clock = MutableClock.atFixedStart();
    MtaStsResolver resolver;

    @BeforeEach
    void open() throws Exception {
        dns.txt("_mta-sts.example.com", "v=STSv1; id=1");
        fetcher.serve("example.com", ENFORCE);
        resolver = reopen();
    }

    MtaStsResolver reopen() throws Exception {
        return MtaStsResolver.open(
                dns, fetcher, new PolicyCache(dir), clock, Runnable::run, SETTINGS);
    }

    static StsOutcome get(CompletableFuture<StsOutcome> f) throws Exception {
        return f.get(5, TimeUnit.SECONDS);
    }

    long txtQueries() {
        return dns.queries().stream().filter(q -> q.equals("TXT _mta-sts.example.com")).count();
    }

    @Test
    void firstLookupFetchesTheLivePolicyAndCachesItOnDisk() throws Exception {
        StsOutcome o = get(resolver.lookup("Example.COM"));
        assertTrue(o.live());
        assertEquals("1", o.policy().orElseThrow().id());
        assertEquals(PolicyMode.ENFORCE, o.policy().orElseThrow().policy().mode());
        assertTrue(o.failure().isEmpty());
        assertTrue(Files.exists(dir.resolve("example.com.json")));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file is left behind");
        }
    }

    @Test
    void cachedPolicyIsUsedWithoutDnsWithinTheRecheckInterval() throws Exception {
        get(resolver.lookup("example.com"));
        clock.advance(Duration.ofMinutes(4));
        StsOutcome o = get(resolver.lookup("example.com"));
        assertFalse(o.live());
        assertEquals(1, txtQueries());
        assertEquals(1, fetcher.fetches("example.com"));
    }

    @Test
    void unchangedIdAfterTheRecheckIntervalKeepsTheCachedPolicyWithoutFetching() throws Exception {
        get(resolver.lookup("example.com"));
        clock.advance(Duration.ofMinutes(6));
        StsOutcome o = get(resolver.lookup("example.com"));
        assertFalse(o.live());
        assertEquals(2, txtQueries());
        assertEquals(1, fetcher.fetches("example.com"));
        assertTrue(o.explanation().contains("TXT id 1 unchanged"), o.explanation());
    }

    @Test
    void aNewIdTriggersARefetch() throws Exception {
        get(resolver.lookup("example.com"));
        dns.remove("_mta-sts.example.com").txt("_mta-sts.example.com", "v=STSv1; id=2");
        fetcher.serve("example.com", TESTING);
        clock.advance(Duration.ofMinutes(6));
        StsOutcome o = get(resolver.lookup("example.com"));
        assertTrue(o.live());
        assertEquals("2", o.policy().orElseThrow().id());
        assertEquals(PolicyMode.TESTING, o.policy().orElseThrow().policy().mode());
        assertEquals(2, fetcher.fetches("example.com"));
    }

    @Test
    void revalidateAsksDnsEvenWithinTheRecheckInterval() throws Exception {
        get(resolver.lookup("example.com"));
        dns.remove("_mta-sts.example.com").txt("_mta-sts.example.com", "v=STSv1; id=2");
        assertFalse(
                get(resolver.lookup("example.com")).live(),
                "within the interval the cache answers");
        StsOutcome o = get(resolver.revalidate("example.com"));
        assertTrue(o.live());
        assertEquals("2", o.policy().orElseThrow().id());
    }

    @Test
    void theCacheSurvivesARestart() throws Exception {
        get(resolver.lookup("example.com"));
        MtaStsResolver restarted = reopen();
        assertEquals("1", restarted.cached("example.com").orElseThrow().id());
        dns.servfail("_mta-sts.example.com");
        StsOutcome o = get(restarted.lookup("example.com"));
        assertFalse(o.live());
        assertEquals(PolicyMode.ENFORCE, o.policy().orElseThrow().policy().mode());
        assertEquals(
                1, fetcher.fetches("example.com"), "the restarted resolver did not fetch again");
    }

    @Test
    void anExpiredCachedPolicyIsNotUsedAndIsDroppedOnRestart() throws Exception {
        get(resolver.lookup("example.com"));
        dns.servfail("_mta-sts.example.com");
        clock.advance(Duration.ofSeconds(86399));
        assertTrue(
                get(resolver.lookup("example.com")).policy().isPresent(),
                "one second before expiry");
        clock.advance(Duration.ofSeconds(1));
        StsOutcome o = get(resolver.lookup("example.com"));
        assertTrue(o.policy().isEmpty());
        assertTrue(o.explanation().contains("no policy is cached"), o.explanation());
        reopen();
        assertFalse(Files.exists(dir.resolve("example.com.json")));
    }

    @Test
    void aTxtRecordThatDisappearsDoesNotDropTheCachedPolicy() throws Exception {
        get(resolver.lookup("example.com"));
        dns.remove("_mta-sts.example.com");
        clock.advance(Duration.ofHours(1));
        StsOutcome o = get(resolver.lookup("example.com"));
        assertEquals("1", o.policy().orElseThrow().id());
        assertTrue(o.explanation().contains("no _mta-sts TXT record (NXDOMAIN)"), o.explanation());
        assertEquals(1, fetcher.fetches("example.com"));
    }

    @Test
    void aDnsFailureKeepsTheCachedPolicyAndWithoutOneMeansNoPolicyAndNoFailureType()
            throws Exception {
        get(resolver.lookup("example.com"));
        dns.timeout("_mta-sts.example.com");
        clock.advance(Duration.ofHours(1));
        StsOutcome cached = get(resolver.lookup("example.com"));
        assertTrue(cached.policy().isPresent());
        assertTrue(
                cached.explanation().contains("TXT look-up failed (TIMEOUT"), cached.explanation());
        dns.servfail("_mta-sts.other.example");
        StsOutcome none = get(resolver.lookup("other.example"));
        assertTrue(none.policy().isEmpty());
        assertTrue(none.failure().isEmpty(), "a TXT look-up failure is not a policy fetch failure");
    }

    @Test
    void aFailedRefetchKeepsTheCachedPolicyAndReportsTheFailure() throws Exception {
        get(resolver.lookup("example.com"));
        dns.remove("_mta-sts.example.com").txt("_mta-sts.example.com", "v=STSv1; id=2");
        fetcher.fail("example.com", TlsFailureType.STS_WEBPKI_INVALID);
        clock.advance(Duration.ofMinutes(6));
        StsOutcome o = get(resolver.lookup("example.com"));
        assertEquals("1", o.policy().orElseThrow().id());
        assertFalse(o.live());
        assertEquals(TlsFailureType.STS_WEBPKI_INVALID, o.failure().orElseThrow().type());
    }

    @Test
    void aFailedFetchWithoutCacheMeansNoPolicyWithTheFailureType() throws Exception {
        fetcher.fail("example.com", TlsFailureType.STS_POLICY_FETCH_ERROR);
        StsOutcome o = get(resolver.lookup("example.com"));
        assertTrue(o.policy().isEmpty());
        assertEquals(TlsFailureType.STS_POLICY_FETCH_ERROR, o.failure().orElseThrow().type());
        assertFalse(Files.exists(dir.resolve("example.com.json")));
    }

    @Test
    void anInvalidPolicyIsStsPolicyInvalidWithTheParserErrors() throws Exception {
        fetcher.serve("example.com", "version: STSv1\nmode: enforce\nmax_age: 86400\n");
        StsOutcome o = get(resolver.lookup("example.com"));
        assertTrue(o.policy().isEmpty());
        assertEquals(TlsFailureType.STS_POLICY_INVALID, o.failure().orElseThrow().type());
        assertTrue(
                o.failure().orElseThrow().detail().contains("mx: missing"), o.failure().toString());
    }

    @Test
    void afterAFailedFetchTheDomainIsNotFetchedAgainForFiveMinutes() throws Exception {
        fetcher.fail("example.com", TlsFailureType.STS_POLICY_FETCH_ERROR);
        get(resolver.lookup("example.com"));
        fetcher.serve("example.com", ENFORCE);
        clock.advance(Duration.ofMinutes(4).plusSeconds(59));
        StsOutcome during = get(resolver.revalidate("example.com"));
        assertEquals(1, fetcher.fetches("example.com"));
        assertTrue(during.policy().isEmpty());
        assertEquals(
                TlsFailureType.STS_POLICY_FETCH_ERROR,
                during.failure().orElseThrow().type(),
                "the failure that started the back-off is still reported");
        clock.advance(Duration.ofSeconds(1));
        StsOutcome after = get(resolver.lookup("example.com"));
        assertEquals(2, fetcher.fetches("example.com"));
        assertTrue(after.live());
        assertTrue(after.failure().isEmpty());
    }

    @Test
    void theBackOffCannotBeShorterThanFiveMinutes() {
        assertThrows(
                IllegalArgumentException.class,
                () ->
                        new MtaStsResolver.Settings(
                                Duration.ofMinutes(5),
                                Duration.ofMinutes(4),
                                Duration.ofHours(24),
                                Duration.ZERO));
    }

    @Test
    void domainsWithoutPolicyAreNotAskedForEveryMessage() throws Exception {
        StsOutcome first = get(resolver.lookup("plain.example"));
        StsOutcome second = get(resolver.lookup("plain.example"));
        assertTrue(first.policy().isEmpty() && second.policy().isEmpty());
        assertEquals(
                1,
                dns.queries().stream().filter(q -> q.equals("TXT _mta-sts.plain.example")).count());
        clock.advance(Duration.ofMinutes(5));
        get(resolver.lookup("plain.example"));
        assertEquals(
                2,
                dns.queries().stream().filter(q -> q.equals("TXT _mta-sts.plain.example")).count());
    }

    @Test
    void concurrentLookupsShareOneFetch() throws Exception {
        CompletableFuture<Void> gate = fetcher.hold("example.com");
        CompletableFuture<StsOutcome> a = resolver.lookup("example.com");
        CompletableFuture<StsOutcome> b = resolver.lookup("example.com");
        assertFalse(a.isDone());
        gate.complete(null);
        assertEquals("1", get(a).policy().orElseThrow().id());
        assertEquals("1", get(b).policy().orElseThrow().id());
        assertEquals(1, fetcher.fetches("example.com"));
    }

    @Test
    void aPolicyWithMaxAgeZeroAppliesOnceAndIsNotCached() throws Exception {
        fetcher.serve(
                "example.com", "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 0\n");
        assertTrue(get(resolver.lookup("example.com")).live());
        assertFalse(Files.exists(dir.resolve("example.com.json")));
        assertTrue(resolver.cached("example.com").isEmpty());
    }

    @Test
    void aCorruptCacheFileIsIgnored() throws Exception {
        Files.writeString(dir.resolve("example.com.json"), "{ not json");
        Files.writeString(
                dir.resolve("other.example.json"),
                "{\"domain\":\"other.example\",\"id\":\"1\","
                        + "\"fetched\":\"2025-01-01T00:00:00Z\",\"policy\":\"version: STSv2\"}");
        MtaStsResolver r = reopen();
        assertTrue(r.cached("example.com").isEmpty());
        assertTrue(r.cached("other.example").isEmpty());
        assertTrue(get(r.lookup("example.com")).live());
    }

    @Test
    void invalidDomainNamesAreRefusedBeforeAnyLookUp() {
        assertThrows(IllegalArgumentException.class, () -> resolver.lookup("../../etc"));
        assertThrows(IllegalArgumentException.class, () -> resolver.lookup(""));
        assertTrue(dns.queries().isEmpty());
    }

    @Test
    void proactiveRefreshChecksTheIdAboutDailyAndRefetchesBeforeExpiry() throws Exception {
        fetcher.serve(
                "example.com",
                "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 259200\n");
        get(resolver.lookup("example.com"));
        MtaStsRefresher refresher =
                new MtaStsRefresher(
                        resolver,
                        Executors.newSingleThreadScheduledExecutor(),
                        Duration.ofMinutes(10));
        assertTrue(refresher.refreshDue().get(5, TimeUnit.SECONDS).isEmpty(), "nothing is due yet");

        clock.advance(Duration.ofHours(24)); // daily: TXT id checked, unchanged, no fetch
        List<StsOutcome> day1 = refresher.refreshDue().get(5, TimeUnit.SECONDS);
        assertEquals(1, day1.size());
        assertEquals(1, fetcher.fetches("example.com"));

        clock.advance(
                Duration.ofHours(
                        24)); // two days in, max_age three days: within a day of expiry, fetch
        // again
        List<StsOutcome> day2 = refresher.refreshDue().get(5, TimeUnit.SECONDS);
        assertTrue(day2.get(0).live(), day2.get(0).explanation());
        assertEquals(2, fetcher.fetches("example.com"));
        assertEquals(
                clock.instant().plus(Duration.ofDays(3)),
                resolver.cached("example.com").orElseThrow().expiresAt());
    }

    @Test
    void proactiveRefreshPicksUpANewId() throws Exception {
        get(resolver.lookup("example.com"));
        dns.remove("_mta-sts.example.com").txt("_mta-sts.example.com", "v=STSv1; id=2");
        clock.advance(Duration.ofHours(12)); // max_age one day: refreshed halfway
        MtaStsRefresher refresher =
                new MtaStsRefresher(
                        resolver,
                        Executors.newSingleThreadScheduledExecutor(),
                        Duration.ofMinutes(10));
        List<StsOutcome> refreshed = refresher.refreshDue().get(5, TimeUnit.SECONDS);
        assertEquals("2", refreshed.get(0).policy().orElseThrow().id());
    }

    @Test
    void theRefresherRunsOnItsSchedulerUntilStopped() throws Exception {
        get(resolver.lookup("example.com"));
        dns.remove("_mta-sts.example.com").txt("_mta-sts.example.com", "v=STSv1; id=2");
        clock.advance(Duration.ofHours(12));
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        try {
            MtaStsRefresher refresher =
                    new MtaStsRefresher(resolver, scheduler, Duration.ofMillis(20));
            refresher.start();
            Await.until(
                    () -> resolver.cached("example.com").map(p -> p.id().equals("2")).orElse(false),
                    Duration.ofSeconds(5),
                    "the scheduled refresh to fetch policy id 2");
            refresher.stop();
            assertEquals(2, fetcher.fetches("example.com"));
        } finally {
            scheduler.shutdownNow();
        }
    }

    @Test
    void refreshTimesAreJitteredWithinTheConfiguredSpread() throws Exception {
        MtaStsResolver.Settings jittered =
                new MtaStsResolver.Settings(
                        Duration.ofMinutes(5),
                        Duration.ofMinutes(5),
                        Duration.ofHours(24),
                        Duration.ofHours(2));
        fetcher.serve(
                "example.com",
                "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 2592000\n");
        MtaStsResolver r =
                MtaStsResolver.open(
                        dns, fetcher, new PolicyCache(dir), clock, Runnable::run, jittered);
        get(r.lookup("example.com"));
        clock.advance(Duration.ofHours(22).minusSeconds(1));
        assertTrue(r.dueForRefresh().isEmpty(), "not before 24h - 2h");
        clock.advance(Duration.ofHours(4).plusSeconds(2));
        assertEquals(List.of("example.com"), r.dueForRefresh(), "by 24h + 2h");
    }
}
