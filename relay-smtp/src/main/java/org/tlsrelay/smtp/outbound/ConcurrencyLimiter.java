package org.tlsrelay.smtp.outbound;

import java.net.InetAddress;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where slots for concurrent deliveries come from: per recipient domain ({@code delivery.concurrency.per-domain},
 * taken by the delivery engine for each running attempt) and per MX host ({@code delivery.concurrency.per-host},
 * taken by the outbound client for each open connection, idle ones included). {@link #local} counts in this process;
 * a cluster can plug in one that leases slots from shared state (issue 18), so that the limits hold across relays.
 *
 * <p>The contract is deliberately small: {@link #tryAcquire} never waits, and every successful acquire is released
 * exactly once. Waiting and fairness stay with the callers, which try again whenever one of their own slots is
 * released; a shared implementation whose slots can also free up elsewhere tells them through {@link #onRoom} (they
 * keep their waiters in memory, so a retry is cheap).
 */
public interface ConcurrencyLimiter {

    /** What a slot is counted on. */
    sealed interface Key permits Domain, Host {}

    /** A recipient domain, lower-case. */
    record Domain(String name) implements Key {
        public Domain {
            name = name.toLowerCase(Locale.ROOT);
        }
    }

    /** A resolved MX host: its address, whatever name and domain led to it. */
    record Host(InetAddress address) implements Key {
        public Host {
            Objects.requireNonNull(address, "address");
        }
    }

    /** Takes a slot for {@code key} if one is free; never waits. */
    boolean tryAcquire(Key key);

    /** Gives back a slot {@link #tryAcquire} handed out. */
    void release(Key key);

    /**
     * Asks to be told when slots may have come free other than by this process's own releases (a shared limiter
     * leased one in the background, or its store went away): callers then try their waiting work again. The listener
     * must not block. A local limiter never calls it.
     */
    default void onRoom(Runnable listener) {}

    /** Slots counted in this process: at most {@code perDomain} per domain and {@code perHost} per host. */
    static ConcurrencyLimiter local(int perDomain, int perHost) {
        if (perDomain < 1 || perHost < 1) {
            throw new IllegalArgumentException("concurrency limits must be positive");
        }
        return new ConcurrencyLimiter() {
            private final Map<Key, Integer> used = new ConcurrentHashMap<>();

            @Override
            public boolean tryAcquire(Key key) {
                int limit = key instanceof Domain ? perDomain : perHost;
                boolean[] taken = {false};
                used.compute(
                        key,
                        (k, n) -> {
                            int now = n == null ? 0 : n;
                            if (now >= limit) {
                                return n;
                            }
                            taken[0] = true;
                            return now + 1;
                        });
                return taken[0];
            }

            @Override
            public void release(Key key) {
                used.computeIfPresent(key, (k, n) -> n <= 1 ? null : n - 1);
            }

            @Override
            public String toString() {
                return "local limits: " + perDomain + " per domain, " + perHost + " per host";
            }
        };
    }
}
