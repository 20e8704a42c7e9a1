package org.tlsrelay.smtp.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.policy.mtasts.CachedPolicy;
import org.tlsrelay.core.policy.mtasts.MtaStsResolver;
import org.tlsrelay.core.policy.mtasts.PolicyCache;

/**
 * The MTA-STS policy cache shared by the relays of a cluster (RFC 8461 §5.1 caching, across relays): a policy one
 * relay fetched is written to a Redis hash (domain → the cache file's JSON) and a version counter moves; every relay
 * reads the hash again when the counter moved (every {@link #POLL}) and {@linkplain MtaStsResolver#adopt adopts} each
 * entry newer than its own, so that a relay that starts, or meets the domain for the first time, does not fetch it
 * again and has no first-contact gap. What is read is validated as the local cache's files are (the policy text
 * parsed again, the domain and id checked, an expired entry refused): a bad entry is ignored with one WARN.
 *
 * <p>While Redis is away, fetched policies wait in memory; when it is back, every policy this relay holds is written
 * again (a newer one there wins on the next read), and the hash is read.
 */
public final class SharedPolicies {
    private static final Logger LOG = LoggerFactory.getLogger(SharedPolicies.class);

    /** How often the version counter is read. */
    static final Duration POLL = Duration.ofSeconds(2);

    /** Writes an entry unless the one there was fetched later; bumps the version when it wrote. */
    private static final String PUT =
            """
            local old = redis.call('HGET', KEYS[1], ARGV[1])
            if old then
              local ok, cur = pcall(cjson.decode, old)
              if ok and type(cur) == 'table' and type(cur['fetched']) == 'string' and cur['fetched'] >= ARGV[3] then
                return 0
              end
            end
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
            redis.call('INCR', KEYS[2])
            return 1
            """;

    private final RedisLink link;
    private final MtaStsResolver resolver;
    private final Map<String, CachedPolicy> unsent = new ConcurrentHashMap<>();
    private final Map<String, String> refused =
            new HashMap<>(); // domain → entry already warned about
    private final AtomicInteger adopted = new AtomicInteger();
    private String version = ""; // cluster thread only

    public SharedPolicies(RedisLink link, MtaStsResolver resolver) {
        this.link = link;
        this.resolver = resolver;
        resolver.onFetched(this::fetched);
        link.onReconnect(this::reconcile);
    }

    /** Starts reading the shared cache on the link's thread. */
    public SharedPolicies start() {
        link.every(POLL, this::poll);
        return this;
    }

    /** Policies taken from the cluster so far (tests). */
    public int adopted() {
        return adopted.get();
    }

    /** A policy this relay fetched: shared in the background, never waited for. */
    private void fetched(CachedPolicy p) {
        unsent.put(p.domain(), p);
        link.execute(this::flush);
    }

    private void flush() {
        if (!link.up()) {
            return;
        }
        for (CachedPolicy p : Map.copyOf(unsent).values()) {
            try {
                put(p);
                unsent.remove(p.domain(), p);
            } catch (IOException e) {
                return; // kept for the reconnect
            }
        }
    }

    private void put(CachedPolicy p) throws IOException {
        String json = new String(PolicyCache.toJson(p), StandardCharsets.UTF_8);
        link.runHere(
                redis ->
                        redis.eval(
                                PUT,
                                java.util.List.of(Keys.MTA_STS, Keys.MTA_STS_VERSION),
                                java.util.List.of(p.domain(), json, p.fetchedAt().toString())));
    }

    private void poll() {
        if (!link.up()) {
            return;
        }
        try {
            String now = link.runHere(redis -> redis.get(Keys.MTA_STS_VERSION));
            now = now == null ? "0" : now;
            if (now.equals(version)) {
                return;
            }
            Map<String, String> all = link.runHere(redis -> redis.hgetAll(Keys.MTA_STS));
            version = now;
            all.forEach(this::read);
        } catch (IOException e) {
            // the link logs it; the next poll after the reconnect reads everything
        }
    }

    private void read(String domain, String json) {
        CachedPolicy p;
        try {
            p = PolicyCache.fromJson(json.getBytes(StandardCharsets.UTF_8), domain);
        } catch (IOException e) {
            if (!json.equals(refused.put(domain, json))) {
                LOG.warn(
                        "cluster: the shared MTA-STS policy of {} is ignored: {}",
                        domain,
                        Problems.describe(e));
            }
            return;
        }
        refused.remove(domain);
        if (p.isExpired(java.time.Instant.now())) {
            forget(domain, json); // nobody may use it any more
            return;
        }
        try {
            if (resolver.adopt(p)) {
                adopted.incrementAndGet();
            }
        } catch (IllegalArgumentException e) {
            LOG.warn(
                    "cluster: the shared MTA-STS policy of {} is ignored: {}",
                    domain,
                    e.getMessage());
        }
    }

    /** Removes an expired entry, unless another relay replaced it meanwhile. */
    private void forget(String domain, String json) {
        try {
            link.runHere(
                    redis ->
                            redis.eval(
                                    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then"
                                            + " return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0",
                                    java.util.List.of(Keys.MTA_STS),
                                    java.util.List.of(domain, json)));
        } catch (IOException e) {
            // the next relay to read it tries again
        }
    }

    /** Redis is back (or reached the first time): share what this relay holds, then read what the others have. */
    private void reconcile() {
        resolver.held().forEach(p -> unsent.putIfAbsent(p.domain(), p));
        flush();
        version = "";
        poll();
    }
}
