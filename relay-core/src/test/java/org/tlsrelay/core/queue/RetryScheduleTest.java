package org.tlsrelay.core.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.config.RelayConfig;

class RetryScheduleTest {
    private final RetrySchedule schedule =
            RelayConfig.defaults().delivery().retry().retrySchedule();
    private final Instant arrival = Instant.parse("2025-01-01T00:00:00Z");

    @Test
    void waitsFollowTheScheduleAndTheLastRepeats() {
        assertEquals(Duration.ofMinutes(5), schedule.waitAfter(1));
        assertEquals(Duration.ofMinutes(15), schedule.waitAfter(2));
        assertEquals(Duration.ofHours(4), schedule.waitAfter(4));
        assertEquals(Duration.ofHours(4), schedule.waitAfter(40));
        assertEquals(
                arrival.plus(Duration.ofMinutes(20)),
                schedule.next(arrival, 2, arrival.plus(Duration.ofMinutes(5))).orElseThrow());
    }

    @Test
    void theLastAttemptIsAtMaxAgeThenTheMessageHasExpired() {
        Instant late = arrival.plus(Duration.ofDays(5)).minusSeconds(60);
        assertEquals(
                arrival.plus(Duration.ofDays(5)), schedule.next(arrival, 9, late).orElseThrow());
        assertTrue(schedule.next(arrival, 10, arrival.plus(Duration.ofDays(5))).isEmpty());
        assertTrue(schedule.expired(arrival, arrival.plus(Duration.ofDays(5))));
    }

    @Test
    void customScheduleFromValues() {
        RetrySchedule s = new RetrySchedule(List.of(Duration.ofSeconds(1)), Duration.ofSeconds(10));
        assertEquals(
                arrival.plusSeconds(3), s.next(arrival, 7, arrival.plusSeconds(2)).orElseThrow());
    }
}
