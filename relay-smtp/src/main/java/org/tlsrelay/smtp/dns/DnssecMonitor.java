package org.tlsrelay.smtp.dns;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;

/**
 * Watches DNSSEC while the relay runs, and never turns it off: with {@code dns.dnssec: validate} a resolver that
 * loses DNSSEC makes the look-ups DANE relies on fail, so delivery that needs them waits (fail closed, RFC 7672
 * §2.1.1). The monitor makes that visible: every look-up the validator could not accept is one WARN line (at most one
 * per name and type every {@link #QUIET}) and counts in {@link #failures()}; it also re-runs the {@link DnssecProbe}
 * every {@link #EVERY}, and soon after such a failure; while the servers fail the check, one ERROR every
 * {@link #QUIET} says so and {@link #validating()} is false, for the metric.
 */
public final class DnssecMonitor implements DnssecResolver.Failures, AutoCloseable {
    static final Duration EVERY = Duration.ofMinutes(5);
    static final Duration QUIET = Duration.ofMinutes(5);
    private static final Duration SOON = Duration.ofSeconds(30);
    private static final int MAX_REMEMBERED = 1000;
    private static final Logger LOG = LoggerFactory.getLogger(DnssecMonitor.class);

    private final DnssecProbe probe;
    private final Clock clock;
    private final AtomicLong failures = new AtomicLong();
    private final Map<String, Instant> warned = new ConcurrentHashMap<>();
    private final AtomicBoolean probing = new AtomicBoolean();
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "dnssec-monitor");
                        t.setDaemon(true);
                        return t;
                    });
    private volatile boolean started;
    private volatile boolean validating = true;
    private volatile Instant lastTriggered = Instant.EPOCH;
    private volatile Instant lastError = Instant.EPOCH;

    DnssecMonitor(DnssecProbe probe, Clock clock) {
        this.probe = probe;
        this.clock = clock;
    }

    /**
     * The check at start: runs the probe and returns what it found; the caller stops the relay on a
     * {@link DnssecProbe.Result#misconfiguration()}. Anything short of that is logged (ERROR when a server did not
     * answer usefully) and the periodic checks begin.
     */
    public DnssecProbe.Result start() {
        DnssecProbe.Result result = record(probe.check(), true);
        if (result.misconfiguration().isEmpty()) {
            started = true;
            long every = EVERY.toMillis();
            timer.scheduleWithFixedDelay(this::probeNow, every, every, TimeUnit.MILLISECONDS);
        }
        return result;
    }

    /** Whether the last check found every DNS server returning DNSSEC data that validates (the metric's gauge). */
    public boolean validating() {
        return validating;
    }

    /** Look-ups whose answer the validator could not accept since the start: bogus, or their status unknown. */
    public long failures() {
        return failures.get();
    }

    @Override
    public void failed(String what, String reason) {
        failures.incrementAndGet();
        Instant now = clock.instant();
        Instant before = warned.get(what);
        if (before == null || !now.isBefore(before.plus(QUIET))) {
            if (warned.size() >= MAX_REMEMBERED) {
                warned.clear();
            }
            warned.put(what, now);
            LOG.warn(
                    "DNSSEC: {} cannot be validated ({}); delivery that needs it waits",
                    what,
                    reason);
        }
        // The first failure re-checks the servers at once; later ones at most every SOON.
        if (started && now.isAfter(lastTriggered.plus(SOON))) {
            lastTriggered = now;
            try {
                timer.execute(this::probeNow);
            } catch (RejectedExecutionException e) {
                // closed: the relay is stopping
            }
        }
    }

    private void probeNow() {
        if (probing.compareAndSet(false, true)) {
            try {
                record(probe.check(), false);
            } catch (RuntimeException e) {
                LOG.error("DNSSEC check of {} failed: {}", probe, Problems.describe(e));
            } finally {
                probing.set(false);
            }
        }
    }

    private synchronized DnssecProbe.Result record(DnssecProbe.Result result, boolean atStart) {
        Instant now = clock.instant();
        boolean was = validating;
        validating = result.validates();
        if (validating) {
            if (!was || atStart) {
                LOG.info(
                        "DNSSEC validation on{}: {}",
                        atStart ? "" : " again",
                        String.join("; ", result.lines()));
            }
            return result;
        }
        if (atStart && result.misconfiguration().isPresent()) {
            return result; // the caller stops with the message
        }
        if (was || atStart || !now.isBefore(lastError.plus(QUIET))) {
            lastError = now;
            LOG.error(
                    "DNSSEC: {}. Validation stays on: look-ups that cannot be validated fail and"
                            + " delivery that needs them waits. Check the resolver (tlsrelay config"
                            + " check --probe-dns), or set dns.dnssec: off to deliver without DANE"
                            + " knowingly.",
                    String.join("; ", result.lines()));
        }
        return result;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
