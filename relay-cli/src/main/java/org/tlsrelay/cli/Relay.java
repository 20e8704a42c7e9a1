package org.tlsrelay.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.Objects;
import org.tlsrelay.core.config.ConfigException;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.smtp.delivery.DeliveryEngine;
import org.tlsrelay.smtp.delivery.EngineSettings;
import org.tlsrelay.smtp.delivery.PolicyLookup;
import org.tlsrelay.smtp.delivery.PolicyOverride;
import org.tlsrelay.smtp.inbound.InboundServer;
import org.tlsrelay.smtp.outbound.OutboundSettings;

/**
 * The running relay: the composition of spool, policy machinery, delivery engine and inbound server. {@link #start}
 * brings the parts up in dependency order; {@link #close} takes them down in reverse order: the listener stops
 * accepting (a DATA in its commit still finishes), the engine lets running deliveries finish and gives back the rest,
 * the policy refreshers stop, and the spool closes last.
 */
public final class Relay implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Relay.class);

    private final RelayConfig config;
    private final Spool spool;
    private final InboundServer inbound;
    private final Deque<AutoCloseable> running = new ArrayDeque<>();
    private DeliveryEngine engine;

    /**
     * What the composition root adds to delivery: who hears every TLS outcome (TLS-RPT recorder, metrics) and which
     * messages are delivered under another policy than their domain's (TLS-RPT reports, RFC 8460 §3).
     */
    public record Hooks(TlsOutcomeListener outcomes, PolicyOverride policyOverride) {
        public Hooks {
            Objects.requireNonNull(outcomes, "outcomes");
            Objects.requireNonNull(policyOverride, "policyOverride");
        }

        public static Hooks none() {
            return new Hooks(TlsOutcomeListener.none(), PolicyOverride.none());
        }
    }

    private Relay(RelayConfig config, Spool spool, InboundServer inbound) {
        this.config = config;
        this.spool = spool;
        this.inbound = inbound;
    }

    /** {@link #start(RelayConfig, Hooks)} without hooks. */
    public static Relay start(RelayConfig config) throws IOException {
        return start(config, Hooks.none());
    }

    /**
     * Opens and recovers the spool, builds the policy machinery and starts its refreshers, starts the delivery engine
     * (which takes what is due at once), then the inbound listener.
     *
     * @throws IOException when the spool cannot be opened (or is in use by another relay) or the TLS files are bad
     * @throws IllegalArgumentException when the configuration is unusable (e.g. a malformed password hash, an
     *     unreadable CA file)
     */
    public static Relay start(RelayConfig config, Hooks hooks) throws IOException {
        Spool spool = Spool.open(config.spool().dir(), Spool.Options.defaults());
        Relay relay = null;
        try {
            InboundServer inbound = InboundServer.create(config.server(), spool);
            relay = new Relay(config, spool, inbound);
            relay.running.push(spool);

            PolicyWiring policies;
            try {
                policies = PolicyWiring.open(config);
            } catch (ConfigException e) {
                throw new IllegalArgumentException(String.join("; ", e.problems()), e);
            }
            relay.running.push(policies);
            policies.startRefreshers();

            // Before the listener opens: what was queued before a restart goes out at once, and every accepted,
            // released or flushed message wakes the engine through the spool's listener.
            relay.engine = DeliveryEngine.builder(spool, policies.dns(), PolicyLookup.of(policies.resolver()))
                    .settings(EngineSettings.from(config))
                    .outbound(OutboundSettings.from(config), policies.trust())
                    .outcomes(hooks.outcomes())
                    .policyOverride(hooks.policyOverride())
                    .start();
            relay.running.push(relay.engine);

            try {
                inbound.start();
            } catch (RuntimeException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                throw new IOException("cannot listen on " + config.server().listen() + ": " + cause.getMessage(), cause);
            }
            relay.running.push(inbound);
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

    /** Where the inbound server listens (the real port when the configuration says port 0). */
    public InetSocketAddress address() {
        return inbound.address();
    }

    public Spool spool() {
        return spool;
    }

    /** The delivery engine (counters, tests). */
    public DeliveryEngine engine() {
        return engine;
    }

    public RelayConfig config() {
        return config;
    }

    /** Stops everything that was started, newest first; safe to call twice. */
    @Override
    public synchronized void close() {
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
