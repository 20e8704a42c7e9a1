package org.tlsrelay.smtp.cluster;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.smtp.outbound.ConcurrencyLimiter;

/**
 * The per-domain and per-host concurrency limits across the relays of a cluster ({@code delivery.concurrency.*}
 * holds for all of them together), without ever making a delivery wait on Redis.
 *
 * <p>Slots are leased from Redis ahead of use, in the background: a sorted set per domain or host holds one member
 * per leased slot ({@code NODE#N}), scored by its expiry in Redis's own time. {@link #tryAcquire} only looks at the
 * slots this relay holds already: it takes a spare one, or notes the demand and says no. The cluster thread then
 * leases one more slot if the cluster has room (a Lua script: drop expired leases, count, add) and tells the callers
 * to try again ({@link #onRoom}); while the cluster is full it asks again every {@link #POLL}. Released slots stay
 * leased for about one poll, so that the next attempt of a busy domain takes them without a round trip; then spare ones
 * go back. Held leases are renewed every third of {@link #LEASE_TTL}: a relay that dies frees its slots within it.
 *
 * <p>While Redis is unreachable each relay counts alone, up to the full limit (the fallback the issue asks for: a
 * relay keeps delivering); when Redis is back, the relay registers the slots it uses at that moment, so the cluster
 * sees them and others wait until the total is under the limit again.
 */
public final class ClusterLimiter implements ConcurrencyLimiter {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterLimiter.class);

    /** How long a lease lives unless renewed. */
    static final Duration LEASE_TTL = Duration.ofSeconds(30);

    /** How often the cluster thread leases slots for demand and gives back spare ones. */
    static final Duration POLL = Duration.ofMillis(200);

    /**
     * Leases slot {@code ARGV[2]} if the cluster has room under the limit {@code ARGV[1]}; otherwise notes this node
     * ({@code ARGV[4]}) as waiting for a second in {@code KEYS[2]}, so that the holders give back spare slots.
     */
    private static final String ACQUIRE =
            """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
            if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) and not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
              redis.call('ZADD', KEYS[2], now + 1000, ARGV[4])
              redis.call('PEXPIRE', KEYS[2], 2000)
              return 0
            end
            redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
            redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
            redis.call('ZREM', KEYS[2], ARGV[4])
            return 1
            """;

    /** For each waiters key in {@code KEYS}: how many other nodes ({@code ARGV[1]} is this one) wait now. */
    private static final String CONTENDED =
            """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local out = {}
            for i, k in ipairs(KEYS) do
              redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
              local n = redis.call('ZCARD', k)
              if redis.call('ZSCORE', k, ARGV[1]) then n = n - 1 end
              out[i] = n
            end
            return out
            """;

    /** Makes this node's members exactly {@code NODE#1..count}, renewed; returns the slots leased in all. */
    private static final String SYNC =
            """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
            local count = tonumber(ARGV[2])
            for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
              if string.sub(m, 1, #ARGV[1]) == ARGV[1] then
                local n = tonumber(string.sub(m, #ARGV[1] + 1))
                if n == nil or n > count then redis.call('ZREM', KEYS[1], m) end
              end
            end
            for i = 1, count do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1] .. i) end
            if count > 0 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2) end
            return redis.call('ZCARD', KEYS[1])
            """;

    /** One domain's or host's slots here; guarded by the limiter's lock. */
    private static final class Slots {
        int used; // taken by callers
        int leased; // held in Redis; only the cluster thread changes it
        boolean wanted; // a caller was refused and waits for room
        boolean contended; // another relay waits for this key's slots: spare ones go back
    }

    private final RedisLink link;
    private final int perDomain;
    private final int perHost;
    private final String member;
    private final Duration leaseTtl;
    private final Object lock = new Object();
    private final Map<Key, Slots> slots = new HashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    public ClusterLimiter(RedisLink link, int perDomain, int perHost) {
        this(link, perDomain, perHost, LEASE_TTL);
    }

    /** With another lease time to live (tests: a dead relay's slots come back sooner). */
    ClusterLimiter(RedisLink link, int perDomain, int perHost, Duration leaseTtl) {
        if (perDomain < 1 || perHost < 1) {
            throw new IllegalArgumentException("concurrency limits must be positive");
        }
        this.link = link;
        this.perDomain = perDomain;
        this.perHost = perHost;
        this.member = link.nodeId() + "#";
        this.leaseTtl = leaseTtl;
        link.onReconnect(this::reconcile);
        link.onLost(this::fire); // local counting may have room the cluster had not
    }

    /** Starts leasing and renewing on the link's thread. */
    public ClusterLimiter start() {
        link.every(POLL, this::pump);
        link.every(leaseTtl.dividedBy(3), this::renew);
        return this;
    }

    @Override
    public boolean tryAcquire(Key key) {
        int limit = limit(key);
        synchronized (lock) {
            Slots s = slots.computeIfAbsent(key, k -> new Slots());
            if (!link.up()) {
                if (s.used < limit) { // Redis is away: this relay counts alone
                    s.used++;
                    return true;
                }
                return false;
            }
            if (s.used < s.leased && !s.contended) {
                s.used++;
                return true;
            }
            s.wanted = true;
            return false;
        }
    }

    @Override
    public void release(Key key) {
        synchronized (lock) {
            Slots s = slots.get(key);
            if (s != null && s.used > 0) {
                s.used--;
            }
        }
    }

    @Override
    public void onRoom(Runnable listener) {
        listeners.add(listener);
    }

    /** Slots in use here (tests, {@code cluster status}). */
    public int used(Key key) {
        synchronized (lock) {
            Slots s = slots.get(key);
            return s == null ? 0 : s.used;
        }
    }

    /** Whether another relay waits for {@code key}'s slots, as last seen (tests). */
    boolean contended(Key key) {
        synchronized (lock) {
            Slots s = slots.get(key);
            return s != null && s.contended;
        }
    }

    private int limit(Key key) {
        return key instanceof Domain ? perDomain : perHost;
    }

    /**
     * Gives back spare slots (at once when another relay waits for them), then leases a slot for each key with demand;
     * on the cluster thread. A key whose spare slots went back to waiting relays is not leased again in the same
     * round, so that they get their turn.
     */
    private void pump() {
        if (!link.up()) {
            return;
        }
        record Want(Key key, int next) {}
        List<Want> wants = new ArrayList<>();
        List<Map.Entry<Key, Integer>> trims = new ArrayList<>();
        List<Key> held = new ArrayList<>();
        synchronized (lock) {
            for (var it = slots.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                Slots s = e.getValue();
                if (s.leased > s.used && (!s.wanted || s.contended)) {
                    s.leased = s.used; // before the call: a spare slot is no longer taken here
                    trims.add(Map.entry(e.getKey(), s.used));
                } else if (s.wanted && s.used >= s.leased && s.leased < limit(e.getKey())) {
                    wants.add(new Want(e.getKey(), s.leased + 1));
                } else if (s.used == 0 && s.leased == 0 && !s.wanted) {
                    it.remove();
                }
                if (s.leased > 0) {
                    held.add(e.getKey());
                }
            }
        }
        boolean granted = false;
        try {
            for (var t : trims) {
                sync(t.getKey(), t.getValue());
            }
            if (!trims.isEmpty()) {
                granted = true; // a caller refused for contention may lease again
            }
            for (Want w : wants) {
                Object r =
                        link.runHere(
                                redis ->
                                        redis.eval(
                                                ACQUIRE,
                                                List.of(
                                                        Keys.slots(w.key()),
                                                        Keys.slotWaiters(w.key())),
                                                List.of(
                                                        Integer.toString(limit(w.key())),
                                                        member + w.next(),
                                                        Long.toString(leaseTtl.toMillis()),
                                                        link.nodeId())));
                if (Long.valueOf(1).equals(r)) {
                    synchronized (lock) {
                        Slots s = slots.get(w.key());
                        if (s != null) {
                            s.leased = w.next();
                            s.wanted = false;
                            s.contended = false; // its turn: the waiters are asked again next round
                        }
                    }
                    granted = true;
                }
            }
            contention(held);
        } catch (IOException e) {
            LOG.debug("cluster: slots not leased: {}", e.getMessage());
        }
        if (granted) {
            fire();
        }
    }

    /** Notes, for each key with slots held here, whether another relay waits for them. */
    private void contention(List<Key> held) throws IOException {
        if (held.isEmpty()) {
            return;
        }
        Object r =
                link.runHere(
                        redis ->
                                redis.eval(
                                        CONTENDED,
                                        held.stream().map(Keys::slotWaiters).toList(),
                                        List.of(link.nodeId())));
        if (!(r instanceof List<?> counts) || counts.size() != held.size()) {
            return;
        }
        synchronized (lock) {
            for (int i = 0; i < held.size(); i++) {
                Slots s = slots.get(held.get(i));
                if (s != null) {
                    s.contended = counts.get(i) instanceof Long n && n > 0;
                }
            }
        }
    }

    /** Renews every lease held; on the cluster thread. */
    private void renew() {
        if (!link.up()) {
            return;
        }
        List<Map.Entry<Key, Integer>> held = new ArrayList<>();
        synchronized (lock) {
            slots.forEach(
                    (k, s) -> {
                        if (s.leased > 0) {
                            held.add(Map.entry(k, s.leased));
                        }
                    });
        }
        try {
            for (var h : held) {
                sync(h.getKey(), h.getValue());
            }
        } catch (IOException e) {
            LOG.debug("cluster: leases not renewed: {}", e.getMessage());
        }
    }

    /** Redis is back: the slots in use here are leased as they are (the cluster may be over its limit a while). */
    private void reconcile() {
        List<Map.Entry<Key, Integer>> inUse = new ArrayList<>();
        synchronized (lock) {
            slots.forEach(
                    (k, s) -> {
                        s.leased = s.used;
                        s.wanted = false;
                        s.contended = false;
                        if (s.used > 0) {
                            inUse.add(Map.entry(k, s.used));
                        }
                    });
        }
        try {
            for (var u : inUse) {
                sync(u.getKey(), u.getValue());
            }
        } catch (IOException e) {
            return; // lost again: the next reconnect does it
        }
        if (!inUse.isEmpty()) {
            LOG.info(
                    "cluster: {} domain(s) and host(s) with slots in use registered again",
                    inUse.size());
        }
        fire(); // waiting callers try again under the cluster's count
    }

    private void sync(Key key, int count) throws IOException {
        link.runHere(
                redis ->
                        redis.eval(
                                SYNC,
                                List.of(Keys.slots(key)),
                                List.of(
                                        member,
                                        Integer.toString(count),
                                        Long.toString(leaseTtl.toMillis()))));
    }

    private void fire() {
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException e) {
                LOG.warn("cluster: a waiting delivery could not be woken: {}", e.getMessage(), e);
            }
        }
    }

    @Override
    public String toString() {
        return "cluster-wide limits: "
                + perDomain
                + " per domain, "
                + perHost
                + " per host (Redis "
                + link.url()
                + ")";
    }
}
