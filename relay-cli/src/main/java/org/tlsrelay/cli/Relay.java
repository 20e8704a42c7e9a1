package org.tlsrelay.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.RelayConfig;
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

    private Relay(RelayConfig config, Spool spool, InboundServer inbound) {
        this.config = config;
        this.spool = spool;
        this.inbound = inbound;
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
            InboundServer inbound = InboundServer.create(config.server(), spool);
            relay = new Relay(config, spool, inbound);
            relay.running.push(spool);

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
