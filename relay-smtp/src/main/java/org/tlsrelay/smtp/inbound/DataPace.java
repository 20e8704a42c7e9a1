package org.tlsrelay.smtp.inbound;

import java.time.Duration;

/**
 * How long the DATA phase of one message may go on: at most {@code data-timeout} in all, at most
 * {@code command-timeout} without a byte, and, as Postfix's {@code smtpd_min_data_rate}, no slower than
 * {@code min-data-rate}: the phase gets {@code min-data-rate-grace} for free and one more second for every
 * {@code min-data-rate} bytes received, so a client that sends 1 byte a second is cut after about the grace, one that
 * keeps up the rate never. Times are {@link System#nanoTime()} values; the caller passes them in.
 */
final class DataPace {
    /** Which limit ended the phase. */
    enum Limit {
        /** {@code data-timeout}, or {@code command-timeout} without a byte. */
        TIMEOUT,
        /** Slower than {@code min-data-rate}. */
        RATE
    }

    // Nanoseconds since the start of the phase: differences of nanoTime values never overflow, sums
    // might.
    private final long start;
    private final long timeout;
    private final long idle;
    private final long minRate;
    private final long grace;
    private long bytes;
    private long lastByte;

    /**
     * @param minRate bytes per second; 0: no minimum
     */
    DataPace(long start, Duration dataTimeout, Duration idle, long minRate, Duration grace) {
        this.start = start;
        this.timeout = dataTimeout.toNanos();
        this.idle = idle.toNanos();
        this.minRate = minRate;
        this.grace = grace.toNanos();
    }

    void received(long n, long now) {
        if (n > 0) {
            bytes += n;
            lastByte = now - start;
        }
    }

    long bytes() {
        return bytes;
    }

    /** Nanoseconds left before a limit is passed (0 or less: passed). */
    long remaining(long now) {
        return Math.min(timeLimit(), rateLimit()) - (now - start);
    }

    /** The limit that binds first: the one that was passed when {@link #remaining} is 0 or less. */
    Limit binding() {
        return rateLimit() < timeLimit() ? Limit.RATE : Limit.TIMEOUT;
    }

    private long timeLimit() {
        return Math.min(timeout, saturatedAdd(lastByte, idle));
    }

    /** The grace, plus one second per {@code minRate} bytes received. */
    private long rateLimit() {
        if (minRate <= 0) {
            return Long.MAX_VALUE;
        }
        double credit = (double) bytes / minRate * 1e9;
        return credit >= Long.MAX_VALUE / 2.0 ? Long.MAX_VALUE : saturatedAdd(grace, (long) credit);
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
