package org.tlsrelay.smtp.delivery;

import java.time.Duration;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.queue.RetrySchedule;
import org.tlsrelay.smtp.outbound.ConnectionLimits;

/**
 * How the delivery engine behaves.
 *
 * @param port the destination port on every MX ({@code delivery.port}: 25, a loopback port in tests)
 * @param maxConnections outbound connections open at once, idle ones kept for reuse included ({@code
 *     delivery.concurrency.total})
 * @param maxConnectionsPerDomain attempts running at once for one recipient domain ({@code
 *     delivery.concurrency.per-domain})
 * @param retry when to try again and when to give up ({@code delivery.retry})
 * @param reportingMta this relay's name in DSNs ({@code server.hostname})
 * @param maxInHand messages claimed from the spool at once (running or waiting for a connection slot)
 * @param workerThreads threads for spool I/O (never done on a network thread)
 * @param shutdownGrace how long {@link DeliveryEngine#close()} lets running attempts finish ({@code
 *     server.shutdown-grace}); then the relay cuts them
 * @param spoolRetry how often results the spool could not take (a full disk) are written again
 * @param maxConnectionsPerHost outbound connections open at once to one MX host (its address), across domains
 *     ({@code delivery.concurrency.per-host}), at most {@code maxConnections}
 * @param hostBackoff after a connect or greeting timeout, how long an MX host is left alone (the circuit breaker;
 *     doubling while it stays silent, up to 16 times); zero turns the breaker off
 */
public record EngineSettings(
        int port,
        int maxConnections,
        int maxConnectionsPerDomain,
        RetrySchedule retry,
        String reportingMta,
        int maxInHand,
        int workerThreads,
        Duration shutdownGrace,
        Duration spoolRetry,
        int maxConnectionsPerHost,
        Duration hostBackoff) {

    /** Results the spool could not take are written again this often (the log says so at most once a minute). */
    public static final Duration DEFAULT_SPOOL_RETRY = Duration.ofSeconds(10);

    /** Postfix's default_destination_concurrency_limit; one MX host serves many domains of a large provider. */
    public static final int DEFAULT_PER_HOST = 20;

    /** Workers mostly wait for fsync, which the spool batches across them: more waiting workers, fewer fsyncs each. */
    public static final int DEFAULT_WORKER_THREADS = 16;

    public EngineSettings {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range 1..65535");
        }
        if (maxConnections < 1
                || maxConnectionsPerDomain < 1
                || maxConnectionsPerHost < 1
                || maxInHand < 1
                || workerThreads < 1) {
            throw new IllegalArgumentException("delivery limits must be positive");
        }
        maxConnectionsPerHost = Math.min(maxConnectionsPerHost, maxConnections);
        if (reportingMta.isBlank()) {
            throw new IllegalArgumentException("the reporting MTA name is required");
        }
        if (shutdownGrace.isNegative()) {
            throw new IllegalArgumentException("the shutdown grace must not be negative");
        }
        if (spoolRetry.isNegative() || spoolRetry.isZero()) {
            throw new IllegalArgumentException("the spool retry interval must be positive");
        }
        if (hostBackoff.isNegative()) {
            throw new IllegalArgumentException("the host backoff must not be negative");
        }
    }

    /** With the defaults for the spool retry, the per-host limit and the circuit breaker. */
    public EngineSettings(
            int port,
            int maxConnections,
            int maxConnectionsPerDomain,
            RetrySchedule retry,
            String reportingMta,
            int maxInHand,
            int workerThreads,
            Duration shutdownGrace) {
        this(
                port,
                maxConnections,
                maxConnectionsPerDomain,
                retry,
                reportingMta,
                maxInHand,
                workerThreads,
                shutdownGrace,
                DEFAULT_SPOOL_RETRY,
                DEFAULT_PER_HOST,
                ConnectionLimits.DEFAULT_HOST_BACKOFF);
    }

    public static EngineSettings from(RelayConfig config) {
        RelayConfig.Delivery d = config.delivery();
        int total = d.concurrency().total();
        return new EngineSettings(
                d.port(),
                total,
                Math.min(d.concurrency().perDomain(), total),
                d.retry().retrySchedule(),
                config.server().hostname(),
                defaultInHand(total),
                DEFAULT_WORKER_THREADS,
                config.server().shutdownGrace(),
                DEFAULT_SPOOL_RETRY,
                d.concurrency().perHost(),
                ConnectionLimits.DEFAULT_HOST_BACKOFF);
    }

    /**
     * Enough messages in hand that a free connection slot always finds one, and that messages waiting for a stuck host
     * (until its first timeout opens its breaker) leave room for everyone else's; an envelope in memory is small.
     */
    static int defaultInHand(int total) {
        return Math.max(10 * total, 1000);
    }

    public EngineSettings withShutdownGrace(Duration grace) {
        return new EngineSettings(
                port,
                maxConnections,
                maxConnectionsPerDomain,
                retry,
                reportingMta,
                maxInHand,
                workerThreads,
                grace,
                spoolRetry,
                maxConnectionsPerHost,
                hostBackoff);
    }

    public EngineSettings withSpoolRetry(Duration every) {
        return new EngineSettings(
                port,
                maxConnections,
                maxConnectionsPerDomain,
                retry,
                reportingMta,
                maxInHand,
                workerThreads,
                shutdownGrace,
                every,
                maxConnectionsPerHost,
                hostBackoff);
    }

    public EngineSettings withConcurrency(int total, int perDomain) {
        return new EngineSettings(
                port,
                total,
                perDomain,
                retry,
                reportingMta,
                defaultInHand(total),
                workerThreads,
                shutdownGrace,
                spoolRetry,
                maxConnectionsPerHost,
                hostBackoff);
    }

    /** The per-host limit and the circuit breaker's first backoff (zero: no breaker). */
    public EngineSettings withHostLimits(int perHost, Duration backoff) {
        return new EngineSettings(
                port,
                maxConnections,
                maxConnectionsPerDomain,
                retry,
                reportingMta,
                maxInHand,
                workerThreads,
                shutdownGrace,
                spoolRetry,
                perHost,
                backoff);
    }
}
