package org.tlsrelay.core.policy.mtasts;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;

/** When {@link MtaStsResolver} refreshes a cached policy (RFC 8461 §3.3: "before they expire"). */
record RefreshSchedule(MtaStsResolver.Settings settings) {
    /**
     * About a day from now with jitter, but early enough before expiry to fetch again: a policy whose max_age is
     * shorter than the interval is refreshed halfway through its life. Never sooner than a minute.
     */
    Instant next(Instant now, CachedPolicy p) {
        long jitter = settings.refreshJitter().toMillis();
        long offset = jitter == 0 ? 0 : ThreadLocalRandom.current().nextLong(-jitter, jitter + 1);
        Instant daily = now.plus(settings.refreshInterval()).plusMillis(offset);
        Instant beforeExpiry = p.expiresAt().minus(lead(p));
        Instant next = daily.isBefore(beforeExpiry) ? daily : beforeExpiry;
        Instant earliest = now.plus(Duration.ofMinutes(1));
        return next.isBefore(earliest) ? earliest : next;
    }

    /** How long before expiry a refresh fetches the policy again even when its id is unchanged. */
    Duration lead(CachedPolicy p) {
        Duration half = p.policy().maxAge().dividedBy(2);
        return half.compareTo(settings.refreshInterval()) < 0 ? half : settings.refreshInterval();
    }
}
