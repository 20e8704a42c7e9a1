package org.tlsrelay.smtp.outbound;

import java.time.Duration;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Idle connections kept for reuse, keyed by MX host, address and port. The TLS state stays with each session (its
 * observation), and the caller decides again, for every message and its own policy, whether that state will do.
 * Last in, first out, so that a burst keeps few connections warm; each idle one is closed (QUIT) after the idle
 * timeout, and one that the MX closes leaves the pool.
 */
final class ConnectionPool {
    private final ConcurrentHashMap<DeliveryTarget, Deque<Session>> idle =
            new ConcurrentHashMap<>();
    private final Duration idleTimeout;
    private final int maxIdlePerTarget;
    private volatile boolean closed;

    ConnectionPool(Duration idleTimeout, int maxIdlePerTarget) {
        this.idleTimeout = idleTimeout;
        this.maxIdlePerTarget = maxIdlePerTarget;
    }

    /** An idle session to the target, now owned by the caller; it may have died since, which the caller checks. */
    Optional<Session> take(DeliveryTarget target) {
        Deque<Session> sessions = idle.get(target);
        if (sessions == null) {
            return Optional.empty();
        }
        Session s;
        while ((s = sessions.pollFirst()) != null) {
            if (s.idle.compareAndSet(true, false)) {
                if (s.idleTimer != null) {
                    s.idleTimer.cancel(false);
                }
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** Keeps the session for reuse, or returns false when the pool is full or closed (the caller then QUITs). */
    boolean offer(Session s) {
        if (closed || maxIdlePerTarget == 0) {
            return false;
        }
        Deque<Session> sessions =
                idle.computeIfAbsent(s.target, t -> new ConcurrentLinkedDeque<>());
        if (sessions.size() >= maxIdlePerTarget) {
            return false;
        }
        s.idleSince = System.nanoTime();
        s.idle.set(true);
        sessions.addFirst(s);
        s.idleTimer =
                s.connection
                        .channel()
                        .eventLoop()
                        .schedule(
                                () -> evict(s, true),
                                idleTimeout.toMillis(),
                                TimeUnit.MILLISECONDS);
        if (!s.closeWatched) {
            s.closeWatched = true;
            s.connection.channel().closeFuture().addListener(f -> evict(s, false));
        }
        return true;
    }

    /**
     * Closes (QUIT) the idle session unused for longest among those {@code which} accepts, to make room for another
     * connection; false when there is none.
     */
    boolean closeOldest(Predicate<Session> which) {
        while (true) {
            Session oldest = null;
            for (Deque<Session> sessions : idle.values()) {
                for (Session s : sessions) {
                    if (s.idle.get()
                            && which.test(s)
                            && (oldest == null || s.idleSince - oldest.idleSince < 0)) {
                        oldest = s;
                    }
                }
            }
            if (oldest == null) {
                return false;
            }
            Session s = oldest;
            if (s.idle.get()) {
                if (s.idleTimer != null) {
                    s.idleTimer.cancel(false);
                }
                s.connection.channel().eventLoop().execute(() -> evict(s, true));
                return true;
            }
            // taken meanwhile: look again
        }
    }

    private void evict(Session s, boolean quit) {
        if (s.idle.compareAndSet(true, false)) {
            Deque<Session> sessions = idle.get(s.target);
            if (sessions != null) {
                sessions.remove(s);
            }
            if (quit) {
                s.connection.quit();
            }
        }
    }

    /** QUITs every idle session and refuses new ones. */
    void close() {
        closed = true;
        for (Deque<Session> sessions : idle.values()) {
            Session s;
            while ((s = sessions.pollFirst()) != null) {
                if (s.idle.compareAndSet(true, false)) {
                    Session owned = s;
                    owned.connection.channel().eventLoop().execute(owned.connection::quit);
                }
            }
        }
    }

    /** Idle sessions kept now, for tests and metrics. */
    int idleCount() {
        return idle.values().stream().mapToInt(Deque::size).sum();
    }
}
