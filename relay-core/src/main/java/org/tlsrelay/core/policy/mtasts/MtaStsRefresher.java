package org.tlsrelay.core.policy.mtasts;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refreshes cached MTA-STS policies before they expire (RFC 8461 §3.3: "MTAs SHOULD proactively refresh cached
 * policies before they expire; a suggested refresh frequency is once per day"), so that an attacker who blocks the
 * policy fetch at the moment mail is sent cannot make a policy lapse (§10.2). Every {@code tick} it asks the
 * resolver which domains are due (about daily with jitter, or before expiry) and refreshes them: the TXT {@code id}
 * is read, and the policy fetched when the id changed or the policy nears its end.
 */
public final class MtaStsRefresher {
    private static final Logger log = LoggerFactory.getLogger(MtaStsRefresher.class);

    private final MtaStsResolver resolver;
    private final ScheduledExecutorService scheduler;
    private final Duration tick;
    private ScheduledFuture<?> task;

    public MtaStsRefresher(
            MtaStsResolver resolver, ScheduledExecutorService scheduler, Duration tick) {
        if (tick.isZero() || tick.isNegative()) {
            throw new IllegalArgumentException("the refresh tick must be positive");
        }
        this.resolver = resolver;
        this.scheduler = scheduler;
        this.tick = tick;
    }

    /** Starts checking every tick (the first check after one tick). Starting twice is a no-op. */
    public synchronized void start() {
        if (task == null) {
            task =
                    scheduler.scheduleWithFixedDelay(
                            this::runOnce, tick.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Stops checking; refreshes already under way finish on their own. */
    public synchronized void stop() {
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }

    /** Refreshes every due domain now; the future completes with their outcomes. */
    public CompletableFuture<List<StsOutcome>> refreshDue() {
        List<CompletableFuture<StsOutcome>> running = new ArrayList<>();
        for (String domain : resolver.dueForRefresh()) {
            running.add(resolver.refresh(domain));
        }
        return CompletableFuture.allOf(running.toArray(CompletableFuture[]::new))
                .thenApply(v -> running.stream().map(CompletableFuture::join).toList());
    }

    private void runOnce() {
        try {
            refreshDue()
                    .whenComplete(
                            (outcomes, error) -> {
                                if (error != null) {
                                    log.warn("MTA-STS refresh failed", error);
                                } else {
                                    outcomes.forEach(o -> log.debug("MTA-STS refresh {}", o));
                                }
                            });
        } catch (RuntimeException e) {
            // A scheduled task that throws is never run again: log and keep going.
            log.warn("MTA-STS refresh failed", e);
        }
    }
}
