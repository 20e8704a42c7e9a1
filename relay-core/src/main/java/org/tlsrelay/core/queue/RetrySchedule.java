package org.tlsrelay.core.queue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * When to try a deferred message again ({@code delivery.retry}): the n-th wait of the schedule after the n-th failed
 * attempt, the last wait repeating, and never past {@code max-age} after arrival — then the message has expired and
 * its pending recipients bounce (RFC 5321 §4.5.4.1: give up after 4-5 days).
 */
public record RetrySchedule(List<Duration> waits, Duration maxAge) {

    public RetrySchedule {
        waits = List.copyOf(waits);
        if (waits.isEmpty()) {
            throw new IllegalArgumentException("a retry schedule needs at least one wait");
        }
        if (waits.stream().anyMatch(d -> d.isNegative() || d.isZero())) {
            throw new IllegalArgumentException("retry waits must be positive");
        }
        if (maxAge.isNegative()) {
            throw new IllegalArgumentException("max-age must not be negative");
        }
    }

    /** The wait after the given number of failed attempts (1 = after the first attempt). */
    public Duration waitAfter(int failedAttempts) {
        int i = Math.min(Math.max(failedAttempts, 1), waits.size()) - 1;
        return waits.get(i);
    }

    /**
     * The time of the next attempt after {@code failedAttempts} attempts, the last of which ended {@code now}; empty
     * when the message has expired. The last attempt is placed at the expiry time rather than skipped.
     */
    public Optional<Instant> next(Instant arrival, int failedAttempts, Instant now) {
        Instant expiry = arrival.plus(maxAge);
        if (!now.isBefore(expiry)) {
            return Optional.empty();
        }
        Instant next = now.plus(waitAfter(failedAttempts));
        return Optional.of(next.isAfter(expiry) ? expiry : next);
    }

    /** Whether a message that arrived at {@code arrival} is past its {@code max-age} at {@code now}. */
    public boolean expired(Instant arrival, Instant now) {
        return !now.isBefore(arrival.plus(maxAge));
    }
}
