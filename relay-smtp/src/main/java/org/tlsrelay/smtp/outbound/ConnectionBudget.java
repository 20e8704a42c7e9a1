package org.tlsrelay.smtp.outbound;

import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

/**
 * The outbound connections the client may open: {@code total} in all and the {@link ConcurrencyLimiter}'s share per MX
 * host, counting every open connection, idle pooled ones included (seen before: 111 open against a total of 100).
 * An attempt that finds no room waits in memory, in line for its host; hosts take turns (round robin), so one host
 * at its limit never holds up the others. When a connection goes idle while an attempt waits for its target, it is
 * handed over instead of pooled; when attempts wait for room in all, idle connections are closed to make it. A host
 * whose circuit breaker is open ({@link HostBreakers}) gets a refusal at once, and so do its waiting attempts when the
 * breaker opens.
 */
final class ConnectionBudget {

    /** What an attempt gets. */
    sealed interface Grant permits Fresh, Reuse, Refused {}

    /** Room for a new connection: hand the permit to the connection, which gives it back when it closes. */
    record Fresh(Permit permit) implements Grant {}

    /** An open session to the attempt's target that just became free. */
    record Reuse(Session session) implements Grant {}

    /**
     * No connection: the host may not be connected to now (its breaker is open), or the client is closing.
     *
     * @param closing the client is closing (the relay stops), rather than the host resting
     */
    record Refused(String detail, boolean closing) implements Grant {}

    /** One connection's room; {@link #release} gives it back, once, however often it is called. */
    final class Permit {
        private final Optional<InetAddress> host;
        private final AtomicBoolean released = new AtomicBoolean();

        private Permit(Optional<InetAddress> host) {
            this.host = host;
        }

        void release() {
            if (released.compareAndSet(false, true)) {
                host.ifPresent(ConnectionBudget.this::release);
            }
        }
    }

    /** Room that is not counted: a probe ({@code policy check}) that delivers nothing. */
    Permit uncounted() {
        return new Permit(Optional.empty());
    }

    /** Where idle connections can be closed to make room: the pool. */
    interface Idle {
        /** Closes the idle connection unused for longest among those {@code which} accepts; false if none. */
        boolean closeOldest(Predicate<Session> which);
    }

    private static final String CLOSED = "not connected: the relay is stopping";

    private record Waiter(DeliveryTarget target, boolean reuse, CompletableFuture<Grant> grant) {}

    private final int total;
    private final ConcurrencyLimiter limiter;
    private final HostBreakers breakers;
    private final Idle idle;
    private final Object lock = new Object();
    // guarded by lock:
    private int open;
    private final Map<InetAddress, Deque<Waiter>> waiting = new HashMap<>();
    private final Deque<InetAddress> turns = new ArrayDeque<>();
    private boolean closed;

    ConnectionBudget(int total, ConcurrencyLimiter limiter, HostBreakers breakers, Idle idle) {
        this.total = total;
        this.limiter = limiter;
        this.breakers = breakers;
        this.idle = idle;
        limiter.onRoom(this::grant); // a shared limiter's slot came free elsewhere
    }

    /**
     * Room for a connection to {@code target}, now or once some is free.
     *
     * @param reuse whether an idle session to the target may be handed over instead (not for a clear-text retry)
     */
    CompletableFuture<Grant> acquire(DeliveryTarget target, boolean reuse) {
        InetAddress host = target.address();
        Optional<String> refused = breakers.check(host);
        if (refused.isPresent()) {
            return CompletableFuture.completedFuture(new Refused(refused.get(), false));
        }
        Waiter w = new Waiter(target, reuse, new CompletableFuture<>());
        synchronized (lock) {
            if (closed) {
                return CompletableFuture.completedFuture(new Refused(CLOSED, true));
            }
            Deque<Waiter> line = waiting.get(host);
            if (line == null
                    && open < total
                    && limiter.tryAcquire(new ConcurrencyLimiter.Host(host))) {
                open++;
                return CompletableFuture.completedFuture(new Fresh(new Permit(Optional.of(host))));
            }
            if (line == null) {
                line = new ArrayDeque<>();
                waiting.put(host, line);
                turns.addLast(host);
            }
            line.addLast(w);
        }
        grant();
        return w.grant();
    }

    /**
     * A session that can carry another message: handed to an attempt waiting for its target, if there is one. False
     * when nobody waits for it (pool it, or close it when {@link #wantsRoom}).
     */
    boolean handOver(Session s) {
        Waiter taker = null;
        synchronized (lock) {
            Deque<Waiter> line = waiting.get(s.target.address());
            if (line != null) {
                for (Iterator<Waiter> it = line.iterator(); it.hasNext(); ) {
                    Waiter w = it.next();
                    if (w.reuse() && w.target().equals(s.target)) {
                        it.remove();
                        taker = w;
                        break;
                    }
                }
                if (line.isEmpty()) {
                    waiting.remove(s.target.address());
                    turns.remove(s.target.address());
                }
            }
        }
        return taker != null && taker.grant().complete(new Reuse(s));
    }

    /** Whether attempts wait for room in all: a connection going idle should then close rather than be pooled. */
    boolean wantsRoom() {
        synchronized (lock) {
            return open >= total && !waiting.isEmpty();
        }
    }

    /** The breaker of {@code host} opened: its waiting attempts are deferred without connecting. */
    void refuseWaiting(InetAddress host) {
        Optional<String> why = breakers.reason(host);
        if (why.isEmpty()) {
            return; // the host may be tried again already
        }
        Deque<Waiter> line;
        synchronized (lock) {
            line = waiting.remove(host);
            turns.remove(host);
        }
        if (line != null) {
            for (Waiter w : line) {
                w.grant().complete(new Refused(why.get(), false));
            }
        }
    }

    /** Open connections, idle ones included (tests, metrics). */
    int open() {
        synchronized (lock) {
            return open;
        }
    }

    /** Attempts waiting for room. */
    int waiting() {
        synchronized (lock) {
            return waiting.values().stream().mapToInt(Deque::size).sum();
        }
    }

    /** Refuses every waiting attempt and any new one. */
    void close() {
        List<Waiter> all = new ArrayList<>();
        synchronized (lock) {
            closed = true;
            waiting.values().forEach(all::addAll);
            waiting.clear();
            turns.clear();
        }
        for (Waiter w : all) {
            w.grant().complete(new Refused(CLOSED, true));
        }
    }

    private void release(InetAddress host) {
        synchronized (lock) {
            open--;
        }
        limiter.release(new ConcurrencyLimiter.Host(host));
        grant();
    }

    /**
     * Hands out the room there is, hosts in turn; then, if attempts still wait, closes one idle connection to make
     * room (its release comes back here).
     */
    private void grant() {
        List<Waiter> granted = new ArrayList<>();
        List<Permit> permits = new ArrayList<>();
        InetAddress blockedHost = null;
        boolean blockedInAll;
        synchronized (lock) {
            boolean progress = true;
            while (progress && open < total && !turns.isEmpty()) {
                progress = false;
                for (int i = turns.size(); i > 0 && open < total; i--) {
                    InetAddress host = turns.pollFirst();
                    Deque<Waiter> line = waiting.get(host);
                    if (limiter.tryAcquire(new ConcurrencyLimiter.Host(host))) {
                        open++;
                        granted.add(line.pollFirst());
                        permits.add(new Permit(Optional.of(host)));
                        progress = true;
                    } else if (blockedHost == null) {
                        blockedHost = host;
                    }
                    if (line.isEmpty()) {
                        waiting.remove(host);
                    } else {
                        turns.addLast(host);
                    }
                }
            }
            blockedInAll = open >= total && !turns.isEmpty();
        }
        for (int i = 0; i < granted.size(); i++) {
            Waiter w = granted.get(i);
            // the host's breaker may have opened since the attempt lined up
            Optional<String> resting = breakers.reason(w.target().address());
            if (resting.isPresent()) {
                permits.get(i).release();
                w.grant().complete(new Refused(resting.get(), false));
            } else if (!w.grant().complete(new Fresh(permits.get(i)))) {
                permits.get(i).release();
            }
        }
        if (blockedInAll) {
            idle.closeOldest(s -> true);
        } else if (blockedHost != null) {
            InetAddress host = blockedHost;
            idle.closeOldest(s -> s.target.address().equals(host));
        }
    }
}
