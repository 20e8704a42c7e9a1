package org.tlsrelay.smtp.outbound;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.Durations;

/**
 * A circuit breaker per MX host (its address): after a connect or greeting timeout the host is left alone for a
 * backoff period, so that one host that accepts TCP and never greets (a blackhole) does not hold connection after
 * connection for a timeout each. While it is open, attempts are deferred without connecting; when the period is over,
 * one attempt goes through as a probe (the others are still deferred): a greeting closes the breaker, another timeout
 * opens it again for twice as long, up to the maximum.
 */
final class HostBreakers {
    private static final Logger LOG = LoggerFactory.getLogger(HostBreakers.class);

    /**
     * An open breaker.
     *
     * @param why what the host did, e.g. {@code no reply to the greeting within PT30S}
     * @param openedAt when it opened (last)
     * @param until when the next probe may go
     * @param backoff the period it is open for
     * @param probeSince when the probe started; null while none runs
     */
    private record Open(
            String why, Instant openedAt, Instant until, Duration backoff, Instant probeSince) {}

    private final Duration first;
    private final Duration max;
    private final Duration probeLimit;
    private final Clock clock;
    private final boolean enabled;
    private final Map<InetAddress, Open> open = new HashMap<>();

    /**
     * @param first how long a host is left alone after its first timeout; zero turns the breakers off
     * @param probeLimit how long a probe may take before another may go (it ends by a timeout well before)
     */
    HostBreakers(Duration first, Duration max, Duration probeLimit, Clock clock) {
        this.enabled = !first.isZero();
        this.first = first;
        this.max = max;
        this.probeLimit = probeLimit;
        this.clock = clock;
    }

    /**
     * Whether {@code host} may be connected to now: empty if so (the single probe, when its period is over), else why
     * not, for the recipients' deferral reason.
     */
    synchronized Optional<String> check(InetAddress host) {
        if (!enabled) {
            return Optional.empty();
        }
        Open o = open.get(host);
        if (o == null) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        if (!now.isBefore(o.until()) && !probing(o, now)) {
            open.put(host, new Open(o.why(), o.openedAt(), o.until(), o.backoff(), now));
            return Optional.empty();
        }
        return Optional.of(describe(o, now));
    }

    /** Why {@code host} is not connected to now, without starting a probe; empty when it may be. */
    synchronized Optional<String> reason(InetAddress host) {
        Open o = open.get(host);
        Instant now = clock.instant();
        if (o == null || !now.isBefore(o.until()) && !probing(o, now)) {
            return Optional.empty();
        }
        return Optional.of(describe(o, now));
    }

    private boolean probing(Open o, Instant now) {
        return o.probeSince() != null && now.isBefore(o.probeSince().plus(probeLimit));
    }

    private String describe(Open o, Instant now) {
        return "not connected: the host did not answer ("
                + o.why()
                + ") at "
                + o.openedAt().truncatedTo(ChronoUnit.SECONDS)
                + "; it is left alone until "
                + o.until().truncatedTo(ChronoUnit.SECONDS)
                + (probing(o, now) ? " and a probe is under way" : "");
    }

    /**
     * A connection to {@code host} timed out before the greeting: opens its breaker (again, for twice as long, after
     * a failed probe). Returns whether it was closed before: then the attempts waiting for the host must be told.
     */
    synchronized boolean timedOut(InetAddress host, String mxHost, String why) {
        if (!enabled) {
            return false;
        }
        Instant now = clock.instant();
        Open o = open.get(host);
        Duration backoff = o == null ? first : min(o.backoff().multipliedBy(2), max);
        if (o != null && o.probeSince() == null && now.isBefore(o.until())) {
            return false; // another connection of the same burst: already open
        }
        open.put(host, new Open(why, now, now.plus(backoff), backoff, null));
        LOG.warn(
                "MX host {} [{}] did not answer ({}): deliveries to it are deferred without connecting for {}",
                mxHost,
                host.getHostAddress(),
                why,
                Durations.format(backoff));
        return o == null;
    }

    /** {@code host} answered (a greeting, or anything but a timeout): its breaker closes. */
    synchronized void answered(InetAddress host, String mxHost) {
        Open o = open.remove(host);
        if (o != null) {
            LOG.info(
                    "MX host {} [{}] answers again; deliveries to it resume",
                    mxHost,
                    host.getHostAddress());
        }
    }

    /** Whether the breaker of {@code host} is open now (tests, metrics). */
    synchronized boolean isOpen(InetAddress host) {
        return open.containsKey(host);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
