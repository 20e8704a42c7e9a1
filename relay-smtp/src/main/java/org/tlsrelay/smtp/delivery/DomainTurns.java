package org.tlsrelay.smtp.delivery;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tlsrelay.smtp.outbound.ConcurrencyLimiter;

/**
 * The engine's attempts in line by recipient domain, and whose turn it is: domains take turns (round robin), so one
 * busy domain starves no other, and a domain at its limit ({@code delivery.concurrency.per-domain}, a slot of the
 * {@link ConcurrencyLimiter}) waits until one of its attempts ends. There is no limit in all here: an attempt holds a
 * connection only once the outbound client gives it one, within {@code delivery.concurrency.total} and the per-host
 * limit, so attempts waiting for a stuck host hold nothing another domain needs. Not thread-safe: the engine calls
 * it under its lock.
 */
final class DomainTurns {
    private final ConcurrencyLimiter limiter;
    private final Map<String, ArrayDeque<DomainTask>> waiting = new HashMap<>();
    private final ArrayDeque<String> ready = new ArrayDeque<>();
    private final Set<String> inReady = new HashSet<>();
    private final Set<String> blocked = new HashSet<>();
    private int running;

    DomainTurns(ConcurrencyLimiter limiter) {
        this.limiter = limiter;
    }

    /** Puts an attempt in line for its domain. */
    void add(DomainTask t) {
        waiting.computeIfAbsent(t.domain(), d -> new ArrayDeque<>()).addLast(t);
        markReady(t.domain());
    }

    /** The attempts that may start now, each holding its domain's slot, domains in turn. */
    List<DomainTask> startable() {
        List<DomainTask> start = new ArrayList<>();
        while (!ready.isEmpty()) {
            String domain = ready.pollFirst();
            inReady.remove(domain);
            ArrayDeque<DomainTask> q = waiting.get(domain);
            if (q == null || q.isEmpty()) {
                continue;
            }
            if (!limiter.tryAcquire(new ConcurrencyLimiter.Domain(domain))) {
                blocked.add(domain);
                continue;
            }
            DomainTask t = q.pollFirst();
            if (q.isEmpty()) {
                waiting.remove(domain);
            }
            running++;
            markReady(domain);
            start.add(t);
        }
        return start;
    }

    /** An attempt that {@link #startable} handed out has ended: its domain's slot is free. */
    void ended(DomainTask t) {
        limiter.release(new ConcurrencyLimiter.Domain(t.domain()));
        running--;
        blocked.remove(t.domain());
        markReady(t.domain());
    }

    /** The limiter may have room now that no attempt of ours freed (a shared limiter): blocked domains try again. */
    void retryBlocked() {
        List<String> again = List.copyOf(blocked);
        blocked.clear();
        again.forEach(this::markReady);
    }

    /** Takes every attempt still in line out of it (the engine stops). */
    List<DomainTask> drain() {
        List<DomainTask> all = new ArrayList<>();
        waiting.values().forEach(all::addAll);
        waiting.clear();
        ready.clear();
        inReady.clear();
        blocked.clear();
        return all;
    }

    /** Attempts started and not ended. */
    int running() {
        return running;
    }

    private void markReady(String domain) {
        ArrayDeque<DomainTask> q = waiting.get(domain);
        if (q != null && !q.isEmpty() && !inReady.contains(domain) && !blocked.contains(domain)) {
            ready.addLast(domain);
            inReady.add(domain);
        }
    }
}
