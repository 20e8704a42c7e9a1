package org.tlsrelay.smtp.outbound;

import java.time.Duration;

/**
 * How many outbound connections the client may hold, and how long it leaves a host alone that did not answer.
 *
 * @param total open connections in all, idle pooled ones included ({@code delivery.concurrency.total})
 * @param hostBackoff after a connect or greeting timeout, how long further attempts to that host are deferred
 *     without connecting (the circuit breaker); it doubles while the host stays silent, up to {@code maxHostBackoff};
 *     zero turns the breaker off
 * @param maxHostBackoff the longest a host is left alone
 */
public record ConnectionLimits(int total, Duration hostBackoff, Duration maxHostBackoff) {
    /** A minute, then doubling up to 16 minutes: short enough not to delay mail much once a host recovers. */
    public static final Duration DEFAULT_HOST_BACKOFF = Duration.ofMinutes(1);

    public static final Duration DEFAULT_MAX_HOST_BACKOFF = Duration.ofMinutes(16);

    public ConnectionLimits {
        if (total < 1) {
            throw new IllegalArgumentException("the connection limit must be positive");
        }
        if (hostBackoff.isNegative() || maxHostBackoff.compareTo(hostBackoff) < 0) {
            throw new IllegalArgumentException(
                    "the host backoff must not be negative and at most its maximum");
        }
    }

    /** No limit and no circuit breaker (tools such as {@code policy check}, tests of the client alone). */
    public static ConnectionLimits unlimited() {
        return new ConnectionLimits(Integer.MAX_VALUE, Duration.ZERO, Duration.ZERO);
    }

    public static ConnectionLimits of(int total) {
        return new ConnectionLimits(total, DEFAULT_HOST_BACKOFF, DEFAULT_MAX_HOST_BACKOFF);
    }

    public ConnectionLimits withHostBackoff(Duration first, Duration max) {
        return new ConnectionLimits(total, first, max);
    }
}
