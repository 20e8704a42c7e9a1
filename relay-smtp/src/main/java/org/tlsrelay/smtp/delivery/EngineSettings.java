package org.tlsrelay.smtp.delivery;

import java.time.Duration;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.queue.RetrySchedule;

/**
 * How the delivery engine behaves.
 *
 * @param port the destination port on every MX ({@code delivery.port}: 25, a loopback port in tests)
 * @param maxConnections attempts (each holds one outbound connection) running at once ({@code
 *     delivery.concurrency.total})
 * @param maxConnectionsPerDomain attempts running at once for one recipient domain ({@code
 *     delivery.concurrency.per-domain})
 * @param retry when to try again and when to give up ({@code delivery.retry})
 * @param reportingMta this relay's name in DSNs ({@code server.hostname})
 * @param maxInHand messages claimed from the spool at once (running or waiting for a connection slot)
 * @param workerThreads threads for spool I/O (never done on a network thread)
 * @param shutdownGrace how long {@link DeliveryEngine#close()} lets running attempts finish
 * @param spoolRetry how often results the spool could not take (a full disk) are written again
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
        Duration spoolRetry) {

    /** Results the spool could not take are written again this often (the log says so at most once a minute). */
    public static final Duration DEFAULT_SPOOL_RETRY = Duration.ofSeconds(10);

    /** Workers mostly wait for fsync, which the spool batches across them: more waiting workers, fewer fsyncs each. */
    public static final int DEFAULT_WORKER_THREADS = 16;

    public EngineSettings {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range 1..65535");
        }
        if (maxConnections < 1
                || maxConnectionsPerDomain < 1
                || maxInHand < 1
                || workerThreads < 1) {
            throw new IllegalArgumentException("delivery limits must be positive");
        }
        if (reportingMta.isBlank()) {
            throw new IllegalArgumentException("the reporting MTA name is required");
        }
        if (shutdownGrace.isNegative()) {
            throw new IllegalArgumentException("the shutdown grace must not be negative");
        }
        if (spoolRetry.isNegative() || spoolRetry.isZero()) {
            throw new IllegalArgumentException("the spool retry interval must be positive");
        }
    }

    /** With the default spool retry interval. */
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
                DEFAULT_SPOOL_RETRY);
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
                DEFAULT_SPOOL_RETRY);
    }

    /** Enough messages in hand that a free connection slot always finds one, without emptying the spool into memory. */
    static int defaultInHand(int total) {
        return Math.max(4 * total, 256);
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
                spoolRetry);
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
                every);
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
                spoolRetry);
    }
}
