package org.tlsrelay.smtp.cluster;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueueStats;

/**
 * This relay's heartbeat: every {@link #HEARTBEAT} a hash {@code tlsrelay:node:ID} with its queue and times, living
 * {@link #TTL} unless renewed, and its last heartbeat in {@code tlsrelay:nodes}. A relay whose hash expired stopped
 * beating (it died, or lost Redis); one that stops cleanly removes both ({@link #leave}). Nodes silent for
 * {@link #FORGET} are dropped from the list.
 */
public final class Membership {
    static final Duration HEARTBEAT = Duration.ofSeconds(2);
    static final Duration TTL = Duration.ofSeconds(10);
    static final Duration FORGET = Duration.ofHours(24);

    private final RedisLink link;
    private final Supplier<Optional<QueueStats>> queue;
    private final Clock clock;
    private final Instant started;

    /** @param queue the spool's counts now (empty when they cannot be read) */
    public Membership(RedisLink link, Supplier<Optional<QueueStats>> queue, Clock clock) {
        this.link = link;
        this.queue = queue;
        this.clock = clock;
        this.started = clock.instant();
    }

    public Membership start() {
        link.every(HEARTBEAT, this::beat);
        return this;
    }

    private void beat() {
        if (!link.up()) {
            return;
        }
        Instant now = clock.instant();
        Map<String, String> fields = new HashMap<>();
        fields.put("node", link.nodeId());
        fields.put("started", started.toString());
        fields.put("heartbeat", now.toString());
        queue.get()
                .ifPresent(
                        q -> {
                            fields.put("queue", Integer.toString(q.total()));
                            for (QueueState s : QueueState.values()) {
                                fields.put("queue." + s.label(), Integer.toString(q.count(s)));
                            }
                            q.oldestWaiting().ifPresent(o -> fields.put("oldest", o.toString()));
                        });
        String key = Keys.node(link.nodeId());
        try {
            link.runHere(
                    redis -> {
                        redis.del(key); // fields of an older version go
                        redis.hset(key, fields);
                        redis.pexpire(key, TTL.toMillis());
                        redis.hset(Keys.NODES, link.nodeId(), Long.toString(now.toEpochMilli()));
                        long forget = now.minus(FORGET).toEpochMilli();
                        redis.hgetAll(Keys.NODES)
                                .forEach(
                                        (n, at) -> {
                                            if (parse(at) < forget) {
                                                redis.hdel(Keys.NODES, n);
                                            }
                                        });
                        return null;
                    });
        } catch (IOException e) {
            // the link logs it
        }
    }

    /** The nodes whose heartbeat is alive now (this one included while Redis answers). */
    public Set<String> live() throws IOException {
        return link.await(
                redis -> {
                    Set<String> out = new LinkedHashSet<>();
                    for (String n : redis.hkeys(Keys.NODES)) {
                        if (redis.exists(Keys.node(n))) {
                            out.add(n);
                        }
                    }
                    return out;
                });
    }

    /** A clean stop: this node leaves the list at once rather than showing as lost. */
    public void leave() {
        try {
            link.await(
                    redis -> {
                        redis.del(Keys.node(link.nodeId()));
                        redis.hdel(Keys.NODES, link.nodeId());
                        return null;
                    });
        } catch (IOException e) {
            // its heartbeat expires by itself
        }
    }

    static long parse(String millis) {
        try {
            return Long.parseLong(millis);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
