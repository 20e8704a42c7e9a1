package org.tlsrelay.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.tlsrelay.core.config.Durations;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.metrics.Health;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.smtp.inbound.InboundServer;

/**
 * The running relay: the composition of spool, inbound server and (later) the delivery engine. {@link #start} brings
 * the parts up in dependency order; {@link #close} takes them down in reverse order, so the listener stops accepting
 * before the spool closes and a DATA in its commit still finishes.
 */
public final class Relay implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Relay.class);

    private final RelayConfig config;
    private final Spool spool;
    private final InboundServer inbound;
    private final Deque<AutoCloseable> running = new ArrayDeque<>();
    private final RelayMetrics metrics;
    private final Health health;
    private AdminServer admin;

    private Relay(RelayConfig config, Spool spool, InboundServer inbound, RelayMetrics metrics, Health health) {
        this.config = config;
        this.spool = spool;
        this.inbound = inbound;
        this.metrics = metrics;
        this.health = health;
    }

    /**
     * Opens and recovers the spool, then starts the inbound listener.
     *
     * @throws IOException when the spool cannot be opened (or is in use by another relay) or the TLS files are bad
     * @throws IllegalArgumentException when the configuration is unusable (e.g. a malformed password hash)
     */
    public static Relay start(RelayConfig config) throws IOException {
        Spool spool = Spool.open(config.spool().dir(), Spool.Options.defaults());
        Relay relay = null;
        try {
            // ---- metrics and health (admin.listen): the meters every part reports to
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            RelayMetrics metrics = new RelayMetrics(registry, Clock.systemUTC());
            Health health = new Health();
            // ----
            InboundServer inbound = InboundServer.create(config.server(), spool, metrics);
            relay = new Relay(config, spool, inbound, metrics, health);
            relay.running.push(spool);
            relay.startAdmin(registry);

            // The delivery engine (issue 5) plugs in here, before the listener opens: it takes due messages with
            // spool.takeDue(n), wakes up through spool.addListener(...) when a message is accepted, released or
            // flushed, and reports back with record/defer/complete. Start it and push it onto `running`:
            //   DeliveryEngine engine = DeliveryEngine.start(config, spool, ...);
            //   relay.running.push(engine);
            // Until then accepted messages stay queued in SPOOL/incoming/.

            try {
                inbound.start();
            } catch (RuntimeException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                throw new IOException("cannot listen on " + config.server().listen() + ": " + cause.getMessage(), cause);
            }
            relay.running.push(inbound);
            health.ready();
            return relay;
        } catch (IOException | RuntimeException e) {
            if (relay != null) {
                relay.close();
            } else {
                spool.close();
            }
            throw e;
        }
    }

    /**
     * Binds the JVM meters, the spool gauges and the health checks of the listener and the spool, then starts the
     * admin server on {@code admin.listen}. The delivery engine adds its own check ({@code scheduler}) through
     * {@link #health()}.
     */
    private void startAdmin(PrometheusMeterRegistry registry) throws IOException {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        metrics.bindSpool(spool);
        health.register("listener", () -> inbound.running() ? Optional.empty()
                : Optional.of("not accepting connections on " + config.server().listen()));
        health.register("spool", () -> Files.isDirectory(spool.root()) && Files.isWritable(spool.root())
                ? Optional.empty() : Optional.of(spool.root() + " is not a writable directory"));
        try {
            admin = AdminServer.start(config.admin().listen(), registry, health);
        } catch (IOException e) {
            throw new IOException("cannot listen on admin.listen " + config.admin().listen() + ": " + e.getMessage(),
                    e);
        }
        running.push(admin);
    }

    /** The meters: the delivery engine reports delivered/deferred/bounced here and adds it as a TLS listener. */
    public RelayMetrics metrics() {
        return metrics;
    }

    /** The health checks behind {@code /health} and {@code /ready}. */
    public Health health() {
        return health;
    }

    /** Where the admin server listens (the real port when {@code admin.listen} says port 0). */
    public InetSocketAddress adminAddress() {
        return admin.address();
    }

    /** Where the inbound server listens (the real port when the configuration says port 0). */
    public InetSocketAddress address() {
        return inbound.address();
    }

    public Spool spool() {
        return spool;
    }

    public RelayConfig config() {
        return config;
    }

    /**
     * The graceful stop (SIGTERM): marks the relay not ready, then {@link #close()}s it (the listener stops accepting
     * and a message being queued finishes, in-flight deliveries finish or are deferred, the spool is closed), waiting
     * at most {@code grace}. Returns whether everything stopped cleanly in time; when not, what was still running
     * is left as it is on disk and is retried at the next start.
     */
    public boolean stop(Duration grace) throws InterruptedException {
        health.notReady("stopping");
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        Thread closer = new Thread(() -> {
            try {
                close();
            } catch (RuntimeException e) {
                failure.set(e);
            }
        }, "tlsrelay-stop");
        closer.setDaemon(true);
        closer.start();
        closer.join(Math.max(1, grace.toMillis()));
        if (closer.isAlive()) {
            LOG.warn("still stopping after the grace period ({}); stopping anyway: unfinished work is retried at the "
                    + "next start", Durations.format(grace));
            return false;
        }
        if (failure.get() != null) {
            LOG.error("stopping failed: {}", failure.get().toString());
            return false;
        }
        return true;
    }

    /** Stops everything that was started, newest first; safe to call twice. */
    @Override
    public synchronized void close() {
        health.notReady("stopping");
        while (!running.isEmpty()) {
            AutoCloseable c = running.pop();
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("error while stopping {}: {}", c.getClass().getSimpleName(), e.toString());
                if (e instanceof IOException io && running.isEmpty()) {
                    throw new UncheckedIOException(io);
                }
            }
        }
    }
}
