package org.tlsrelay.smtp.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.config.RedisUrl;
import org.tlsrelay.smtp.outbound.ConcurrencyLimiter;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.RedisServer;
import redis.clients.jedis.Jedis;

/** The cluster-wide limiter against a real redis-server: two relays' limiters share one limit. */
class ClusterLimiterTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final ConcurrencyLimiter.Domain DOMAIN =
            new ConcurrencyLimiter.Domain("example.com");

    @TempDir Path dir;
    private RedisServer redis;
    private RedisLink linkA;
    private RedisLink linkB;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(RedisServer.installed(), "redis-server is not installed (.ci/run installs it)");
        redis = RedisServer.start(dir);
        RedisUrl url = RedisUrl.parse(redis.url());
        linkA = new RedisLink(url, "relay-a", Duration.ofMillis(500));
        linkB = new RedisLink(url, "relay-b", Duration.ofMillis(500));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (linkA != null) {
            linkA.close();
            linkB.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    /** A caller as the engine is one: try, and on no, wait to be told to try again. */
    private static final class Caller {
        final ClusterLimiter limiter;
        final Semaphore room = new Semaphore(0);

        Caller(ClusterLimiter limiter) {
            this.limiter = limiter;
            limiter.onRoom(room::release);
        }

        boolean acquireWithin(Duration d) throws InterruptedException {
            long end = System.nanoTime() + d.toNanos();
            while (System.nanoTime() < end) {
                if (limiter.tryAcquire(DOMAIN)) {
                    return true;
                }
                room.tryAcquire(50, TimeUnit.MILLISECONDS);
            }
            return false;
        }
    }

    private long leased() {
        try (Jedis j = new Jedis("127.0.0.1", redis.port())) {
            return j.zcard(Keys.slots(DOMAIN));
        }
    }

    private boolean waiting(String node) {
        try (Jedis j = new Jedis("127.0.0.1", redis.port())) {
            return j.zscore(Keys.slotWaiters(DOMAIN), node) != null;
        }
    }

    @Test
    void aLimitOfTwoHoldsAcrossTwoRelaysAndAReleasedSlotGoesToTheOther() throws Exception {
        Caller a = new Caller(new ClusterLimiter(linkA, 2, 20).start());
        Caller b = new Caller(new ClusterLimiter(linkB, 2, 20).start());
        linkA.start();
        linkB.start();
        Await.until(() -> linkA.up() && linkB.up(), WAIT, "both links up");

        assertTrue(a.acquireWithin(WAIT), "first slot on A");
        assertTrue(a.acquireWithin(WAIT), "second slot on A");
        assertEquals(2, leased(), "two slots leased in Redis");

        assertFalse(b.limiter.tryAcquire(DOMAIN), "B has no slot of its own");
        Await.until(
                () -> waiting("relay-b"), WAIT, "Redis refused B a third slot and noted it waits");
        assertFalse(b.limiter.tryAcquire(DOMAIN), "still none for B while A holds both");
        assertEquals(2, leased());

        a.limiter.release(DOMAIN);
        assertTrue(b.acquireWithin(WAIT), "the slot A gave back goes to B");
        assertEquals(2, leased(), "never more than two in all");
        assertEquals(1, a.limiter.used(DOMAIN));
        assertEquals(1, b.limiter.used(DOMAIN));
    }

    @Test
    void aRelayWithABacklogGivesAFreedSlotToTheRelayThatWaits() throws Exception {
        Caller a = new Caller(new ClusterLimiter(linkA, 2, 20).start());
        Caller b = new Caller(new ClusterLimiter(linkB, 2, 20).start());
        linkA.start();
        linkB.start();
        Await.until(() -> linkA.up() && linkB.up(), WAIT, "both links up");
        assertTrue(a.acquireWithin(WAIT));
        assertTrue(a.acquireWithin(WAIT));
        assertFalse(b.limiter.tryAcquire(DOMAIN));
        Await.until(() -> a.limiter.contended(DOMAIN), WAIT, "A sees that B waits");

        a.limiter.release(DOMAIN); // A still has work for the domain: it asks again at once
        assertFalse(a.limiter.tryAcquire(DOMAIN), "A does not keep the freed slot while B waits");
        assertTrue(b.acquireWithin(WAIT), "B gets it");
        assertEquals(1, a.limiter.used(DOMAIN));
        assertEquals(1, b.limiter.used(DOMAIN));
        assertEquals(2, leased());
    }

    @Test
    void theSlotsOfARelayThatDiedComeBackWhenTheirLeaseExpires() throws Exception {
        Caller a = new Caller(new ClusterLimiter(linkA, 2, 20, Duration.ofSeconds(2)).start());
        Caller b = new Caller(new ClusterLimiter(linkB, 2, 20, Duration.ofSeconds(2)).start());
        linkA.start();
        linkB.start();
        Await.until(() -> linkA.up() && linkB.up(), WAIT, "both links up");
        assertTrue(a.acquireWithin(WAIT));
        assertTrue(a.acquireWithin(WAIT));
        Await.until(() -> waiting("relay-b") || b.limiter.tryAcquire(DOMAIN), WAIT, "B refused");
        assertEquals(0, b.limiter.used(DOMAIN), "A holds both slots");

        linkA.close(); // A dies holding both: nothing is released, its leases are no longer renewed
        assertTrue(b.acquireWithin(WAIT), "B gets a slot once A's lease expired");
        assertTrue(b.acquireWithin(WAIT), "and the second");
        assertEquals(2, leased());
    }

    @Test
    void withoutRedisEachRelayCountsAloneAndRegistersItsSlotsWhenRedisIsBack() throws Exception {
        Caller a = new Caller(new ClusterLimiter(linkA, 2, 20).start());
        linkA.start();
        Await.until(linkA::up, WAIT, "link up");
        assertTrue(a.acquireWithin(WAIT));
        assertEquals(1, leased());

        redis.stop();
        Await.until(() -> !linkA.up(), WAIT, "the link notices Redis is gone");
        assertTrue(a.limiter.tryAcquire(DOMAIN), "local counting: the second slot at once");
        assertFalse(a.limiter.tryAcquire(DOMAIN), "but never more than the limit");

        redis.start(); // empty: the leases were lost with it
        Await.until(linkA::up, WAIT, "the link reconnects");
        Await.until(() -> leased() == 2, WAIT, "the two slots in use registered again");
        assertEquals(1, linkA.outages());
        a.limiter.release(DOMAIN);
        a.limiter.release(DOMAIN);
        Await.until(() -> leased() == 0, WAIT, "released slots go back to the cluster");
    }
}
