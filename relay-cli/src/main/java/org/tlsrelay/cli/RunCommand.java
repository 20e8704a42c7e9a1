package org.tlsrelay.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.AsyncAppenderBase;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.Durations;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.io.Problems;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tlsrelay run}: the relay in the foreground until SIGTERM or SIGINT. */
@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        header = "Run the relay in the foreground.",
        description = {
            "Run the relay in the foreground: recover the spool (spool.dir), listen for SMTP on server.listen, queue "
                    + "each accepted message durably before answering 250, deliver it under each recipient domain's "
                    + "TLS policy (retrying per delivery.retry, and bouncing after its max-age), and serve /metrics, "
                    + "/health and /ready on admin.listen. Logs (standard error) say where it listens.",
            "",
            "SIGTERM or SIGINT stops it gracefully: /ready turns 503, the listener stops accepting, a message being "
                    + "queued finishes, deliveries under way finish or are deferred, the spool is closed; then the "
                    + "process exits 0. What is not done within server.shutdown-grace (default 30s) is left on "
                    + "disk and retried at the next start; the exit status is then 1."
        },
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:stopped cleanly after SIGTERM or SIGINT",
            "1:stopped, but not everything finished within server.shutdown-grace",
            "2:usage or configuration error, or a port or the spool could not be opened (spool in use by another "
                    + "relay, or not writable by this user: \"permission denied: PATH\"), or dns.dnssec: "
                    + "validate with dns.servers that cannot carry DNSSEC validation (no DNSSEC data, trust "
                    + "anchors that do not match, not a recursive resolver)"
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  tlsrelay run --config /etc/tlsrelay/tlsrelay.yaml",
            "  tlsrelay run --config /etc/tlsrelay/tlsrelay.yaml --log-format json"
        })
final class RunCommand implements Callable<Integer> {

    @Mixin ConfigOption config;

    @Option(
            names = "--log-format",
            paramLabel = "FORMAT",
            description =
                    "Log format on standard error: text (one readable line per event, the default) or json "
                            + "(one JSON object per line; the MDC keys queueId, domain and mx under \"mdc\"). "
                            + "Default: $"
                            + LogFormat.ENV
                            + ", else text.")
    void logFormat(String format) {
        LogFormat.parse(format).apply();
    }

    @Override
    public Integer call() throws Exception {
        // Not a static field: picocli makes every command object at start, and a static
        // logger would set up logback for every command (start-up time), not only for run.
        Logger log = LoggerFactory.getLogger(RunCommand.class);
        RelayConfig c = config.load();
        Relay relay;
        try {
            relay = Relay.start(c);
        } catch (AccessDeniedException e) {
            throw StateAccess.denied(e);
        } catch (IOException | IllegalArgumentException e) {
            throw new UsageException(Problems.describe(e));
        }
        Duration grace = c.server().shutdownGrace();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    log.info("stopping (grace period {})", Durations.format(grace));
                                    boolean clean = false;
                                    try {
                                        clean = relay.stop(grace);
                                    } catch (InterruptedException e) {
                                        Thread.currentThread().interrupt();
                                    } finally {
                                        log.info(
                                                clean
                                                        ? "stopped"
                                                        : "stopped, with work left for the next start");
                                        stopped.countDown();
                                    }
                                    flushLogs();
                                    // SIGTERM is how service managers and containers ask for a
                                    // stop: a clean stop is a success, not the
                                    // 143 (128 + SIGTERM) the JVM would report. Only this hook runs
                                    // here; the relay registers no other.
                                    Runtime.getRuntime().halt(clean ? 0 : 1);
                                },
                                "tlsrelay-shutdown"));
        log.info(
                "tlsrelay listening on {} as {}; spool {}; relaying for {} and authenticated users",
                IpAddresses.withPort(relay.address()),
                c.server().hostname(),
                c.spool().dir().toAbsolutePath().normalize(),
                c.server().networks().stream()
                        .map(Object::toString)
                        .collect(Collectors.joining(", ")));
        log.info(
                "admin on http://{}/ (/metrics, /health, /ready)",
                IpAddresses.withPort(relay.adminAddress()));
        stopped.await();
        return 0;
    }

    /**
     * Writes what the background appenders still hold (the delivery lines, logback.xml), then stops logging. They
     * stop first, while the appenders they write to still run: stopping the context alone stops the root logger's
     * appenders before the queued lines reach them.
     */
    static void flushLogs() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
            for (ch.qos.logback.classic.Logger logger : ctx.getLoggerList()) {
                logger.iteratorForAppenders()
                        .forEachRemaining(
                                a -> {
                                    if (a instanceof AsyncAppenderBase<?>) {
                                        a.stop();
                                    }
                                });
            }
            ctx.stop();
        }
    }
}
