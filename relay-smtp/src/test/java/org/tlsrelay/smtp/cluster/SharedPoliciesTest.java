package org.tlsrelay.smtp.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.config.RedisUrl;
import org.tlsrelay.core.policy.mtasts.FetchResult;
import org.tlsrelay.core.policy.mtasts.MtaStsResolver;
import org.tlsrelay.core.policy.mtasts.PolicyCache;
import org.tlsrelay.core.policy.mtasts.PolicyFetcher;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.FakeDnsResolver;
import org.tlsrelay.testkit.RedisServer;
import redis.clients.jedis.Jedis;

/** The shared MTA-STS cache against a real redis-server: what a relay reads from it is validated first. */
class SharedPoliciesTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final String POLICY =
            "version: STSv1\nmode: enforce\nmx: mx.%s\nmax_age: 86400\n";

    @TempDir Path dir;
    private RedisServer redis;
    private RedisLink link;
    private final FakeDnsResolver dns = new FakeDnsResolver();
    private final AtomicInteger fetches = new AtomicInteger();

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(RedisServer.installed(), "redis-server is not installed (.ci/run installs it)");
        redis = RedisServer.start(Files.createDirectories(dir.resolve("redis")));
        link = new RedisLink(RedisUrl.parse(redis.url()), "relay-b", Duration.ofMillis(500));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (link != null) {
            link.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    private MtaStsResolver resolver() throws Exception {
        PolicyFetcher fetcher =
                domain -> {
                    fetches.incrementAndGet();
                    return CompletableFuture.completedFuture(
                            new FetchResult.Failed(
                                    PolicyFetcher.url(domain, 443),
                                    org.tlsrelay.core.tls.TlsFailureType.STS_POLICY_FETCH_ERROR,
                                    "no fetch in this test"));
                };
        return MtaStsResolver.open(
                dns,
                fetcher,
                new PolicyCache(Files.createDirectories(dir.resolve("mta-sts"))),
                Clock.systemUTC(),
                Runnable::run,
                MtaStsResolver.Settings.defaults());
    }

    private static String entry(String domain, String id, Instant fetched, String policy) {
        return "{\"domain\":\""
                + domain
                + "\",\"id\":\""
                + id
                + "\",\"fetched\":\""
                + fetched
                + "\",\"policy\":"
                + com.fasterxml.jackson.databind.node.TextNode.valueOf(policy)
                + "}";
    }

    @Test
    void aValidSharedPolicyIsUsedWithoutAFetchAndBadEntriesAreIgnored() throws Exception {
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        try (Jedis j = new Jedis("127.0.0.1", redis.port())) {
            j.hset(
                    Keys.MTA_STS,
                    "good.test",
                    entry("good.test", "g1", now, POLICY.formatted("good.test")));
            j.hset(
                    Keys.MTA_STS,
                    "broken.test",
                    entry("broken.test", "b1", now, "version: STSv2\nmode: enforce\n"));
            j.hset(
                    Keys.MTA_STS,
                    "other.test",
                    entry("good.test", "o1", now, POLICY.formatted("other.test")));
            j.hset(
                    Keys.MTA_STS,
                    "old.test",
                    entry(
                            "old.test",
                            "x1",
                            now.minus(Duration.ofDays(2)),
                            POLICY.formatted("old.test")));
            j.hset(Keys.MTA_STS, "junk.test", "not json at all");
            j.incr(Keys.MTA_STS_VERSION);
        }
        MtaStsResolver resolver = resolver();
        SharedPolicies shared = new SharedPolicies(link, resolver).start();
        link.start();
        Await.until(() -> shared.adopted() >= 1, WAIT, "the good policy adopted");

        assertTrue(resolver.cached("good.test").isPresent(), "the valid entry is in the cache");
        assertEquals("g1", resolver.cached("good.test").get().id());
        for (String bad : new String[] {"broken.test", "other.test", "old.test", "junk.test"}) {
            assertTrue(resolver.cached(bad).isEmpty(), bad + " is not trusted");
        }
        assertEquals(1, shared.adopted());
        try (Jedis j = new Jedis("127.0.0.1", redis.port())) {
            Await.until(
                    () -> !j.hexists(Keys.MTA_STS, "old.test"), WAIT, "the expired entry removed");
            assertTrue(
                    j.hexists(Keys.MTA_STS, "broken.test"),
                    "a bad entry is left for its writer to replace");
        }
        assertTrue(
                Files.exists(dir.resolve("mta-sts/good.test.json")),
                "written to the local cache: it survives a restart without the cluster");

        dns.txt("_mta-sts.good.test", "v=STSv1; id=g1");
        var outcome = resolver.lookup("good.test").get();
        assertTrue(outcome.policy().isPresent(), outcome.toString());
        assertEquals(0, fetches.get(), "the shared policy applies without a fetch: " + outcome);
    }
}
