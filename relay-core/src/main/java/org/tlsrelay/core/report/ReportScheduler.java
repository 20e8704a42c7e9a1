package org.tlsrelay.core.report;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;

/**
 * The daily TLS-RPT job on a scheduler the relay gives it. Once a day, a while after 00:00 UTC (a random delay
 * between {@link #MIN_DELAY} and {@code jitter}, so that not every sender in the world posts at midnight), it builds
 * and sends the previous day's reports ({@link ReportService#run}) and deletes old data; every {@code tick} it sends
 * deliveries whose retry is due and looks up again the TLSRPT records that DNS did not answer. {@link #start} also
 * catches up: a relay that was down at midnight sends yesterday's reports when it comes up.
 */
public final class ReportScheduler {
    private static final Logger LOG = LoggerFactory.getLogger(ReportScheduler.class);

    /** Never before this after midnight: the last outcomes of the day are written by then. */
    public static final Duration MIN_DELAY = Duration.ofMinutes(1);

    private final ReportService service;
    private final Duration jitter;
    private final Duration tick;
    private final List<ScheduledFuture<?>> futures = new ArrayList<>();
    private ScheduledExecutorService executor;
    private volatile boolean stopped;

    /** The last day built without a DNS failure; the tick re-runs yesterday until it is. Written by the jobs. */
    private volatile LocalDate complete;

    /**
     * @param jitter the daily run starts at a random time between {@link #MIN_DELAY} and this after midnight UTC
     * @param tick how often due retries are sent
     */
    public ReportScheduler(ReportService service, Duration jitter, Duration tick) {
        if (jitter.compareTo(MIN_DELAY) < 0 || tick.isNegative() || tick.isZero()) {
            throw new IllegalArgumentException(
                    "invalid report schedule: jitter " + jitter + ", tick " + tick);
        }
        this.service = service;
        this.jitter = jitter;
        this.tick = tick;
    }

    /** Up to 30 minutes after midnight; retries checked every minute. */
    public static ReportScheduler withDefaults(ReportService service) {
        return new ReportScheduler(service, Duration.ofMinutes(30), Duration.ofMinutes(1));
    }

    /** Starts the jobs on {@code executor}: a catch-up run for yesterday now, then daily runs and retry ticks. */
    public synchronized void start(ScheduledExecutorService executor) {
        if (this.executor != null) {
            throw new IllegalStateException("already started");
        }
        this.executor = executor;
        futures.add(executor.schedule(this::catchUp, 0, TimeUnit.MILLISECONDS));
        futures.add(
                executor.scheduleWithFixedDelay(
                        this::tick, tick.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS));
        scheduleDaily();
    }

    /** Cancels the jobs; a run in progress finishes. The executor belongs to the caller. */
    public synchronized void stop() {
        stopped = true;
        futures.forEach(f -> f.cancel(false));
        futures.clear();
    }

    /** When the next daily run starts after {@code now}: the next midnight UTC plus a random delay. */
    Instant nextDailyRun(Instant now) {
        Instant midnight =
                LocalDate.ofInstant(now, ZoneOffset.UTC)
                        .plusDays(1)
                        .atStartOfDay(ZoneOffset.UTC)
                        .toInstant();
        long spread = jitter.minus(MIN_DELAY).toMillis();
        long offset = spread <= 0 ? 0 : ThreadLocalRandom.current().nextLong(spread + 1);
        return midnight.plus(MIN_DELAY).plusMillis(offset);
    }

    private synchronized void scheduleDaily() {
        if (stopped) {
            return;
        }
        Instant now = service.clock().instant();
        long delay = Math.max(0, Duration.between(now, nextDailyRun(now)).toMillis());
        futures.removeIf(ScheduledFuture::isDone);
        futures.add(executor.schedule(this::daily, delay, TimeUnit.MILLISECONDS));
    }

    private void catchUp() {
        Instant now = service.clock().instant();
        LocalDate today = service.today();
        if (now.isBefore(today.atStartOfDay(ZoneOffset.UTC).toInstant().plus(MIN_DELAY))) {
            return; // the daily run just ahead does it
        }
        runDay(today.minusDays(1));
        deliverDue();
    }

    private void daily() {
        try {
            runDay(service.today().minusDays(1));
            try {
                service.prune();
            } catch (Exception e) {
                LOG.warn("TLS-RPT: cannot delete old report data: {}", Problems.describe(e));
            }
        } finally {
            scheduleDaily();
        }
    }

    private void tick() {
        LocalDate yesterday = service.today().minusDays(1);
        if (!yesterday.equals(complete)
                && !service.clock()
                        .instant()
                        .isBefore(
                                service.today()
                                        .atStartOfDay(ZoneOffset.UTC)
                                        .toInstant()
                                        .plus(jitter))) {
            runDay(yesterday); // a TXT look-up failed earlier (or the daily run has not happened)
        }
        deliverDue();
        try {
            service.publishToday();
        } catch (Exception e) {
            LOG.debug(
                    "TLS-RPT: today's totals not published to the cluster: {}",
                    Problems.describe(e));
        }
    }

    private void runDay(LocalDate day) {
        try {
            ReportService.RunResult r = service.run(day, false);
            if (r.lookupFailed().isEmpty()) {
                complete = day;
            }
            LOG.info(
                    "TLS-RPT {}: {} delivery attempt(s), {} domain(s) without TLSRPT, {} look-up(s) failed",
                    day,
                    r.attempts().size(),
                    r.notReporting().size(),
                    r.lookupFailed().size());
        } catch (Exception e) {
            LOG.error("TLS-RPT {}: the report run failed: {}", day, Problems.describe(e), e);
        }
    }

    private void deliverDue() {
        try {
            service.deliverDue();
        } catch (Exception e) {
            LOG.error("TLS-RPT: sending due reports failed: {}", Problems.describe(e), e);
        }
    }
}
