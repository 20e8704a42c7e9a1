package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;
import org.tlsrelay.core.auth.Credentials;
import org.tlsrelay.core.config.Network;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.queue.Spool;

/**
 * The inbound SMTP listener on {@code server.listen}. Build it with {@link #create}, then {@link #start()}; it
 * writes every accepted message to the {@link Spool} before answering 250.
 */
public final class InboundServer implements AutoCloseable {
    private final RelayConfig.Server config;
    private final Spool spool;
    private final Credentials credentials;
    private final InboundTls tls;
    private final SMTPServer smtp;
    private final Map<Session, SessionState> sessions = new ConcurrentHashMap<>();

    private InboundServer(RelayConfig.Server config, Spool spool, Credentials credentials, InboundTls tls)
            throws IOException {
        this.config = config;
        this.spool = spool;
        this.credentials = credentials;
        this.tls = tls;
        ExecutorService threads = Executors.newCachedThreadPool(named("smtp-in-"));
        SMTPServer.Builder b = SMTPServer.port(config.listen().port())
                // A literal in server.listen (the usual case) is not looked up; a name is resolved once, here.
                .bindAddress(InetAddress.getByName(config.listen().host()))
                .hostName(config.hostname())
                .softwareName("tlsrelay")
                .backlog(256)
                .messageHandlerFactory(context -> new Transaction())
                .maxConnections(config.limits().maxConnections())
                .connectionTimeout((int) Math.min(config.limits().commandTimeout().toMillis(), Integer.MAX_VALUE),
                        TimeUnit.MILLISECONDS)
                .maxRecipients(config.limits().maxRecipients())
                .maxMessageSize((int) Math.min(config.limits().maxMessageSize().bytes(), Integer.MAX_VALUE))
                .insertReceivedHeaders(false)
                .executorService(threads)
                .sessionHandler(new SessionHandler() {
                    @Override
                    public SessionAcceptance accept(Session session) {
                        InetAddress client = session.getRemoteAddress().getAddress();
                        boolean trusted = config.networks().stream().anyMatch(n -> n.contains(client));
                        sessions.put(session, new SessionState(client, trusted));
                        return SessionAcceptance.success();
                    }

                    @Override
                    public void onSessionEnd(Session session) {
                        sessions.remove(session);
                    }
                });
        if (tls != null) {
            b.enableTLS(true).startTlsSocketFactory(tls::layer);
        }
        this.smtp = b.build();
        for (Command c : Commands.all(this)) {
            smtp.getCommandHandler().addCommand(c); // replaces SubEthaSMTP's command of the same name
        }
    }

    /**
     * Builds the server from {@code server.*}: loads the TLS certificate and key when configured and checks the AUTH
     * users' hashes. Problems are {@link IOException}s or {@link IllegalArgumentException}s that name the key.
     */
    public static InboundServer create(RelayConfig.Server config, Spool spool) throws IOException {
        Credentials credentials = Credentials.from(config.auth());
        InboundTls tls = config.tls().enabled() ? InboundTls.load(config.tls()) : null;
        if (config.tls().certificate() != null ^ config.tls().privateKey() != null) {
            throw new IllegalArgumentException("server.tls: certificate and private-key must be given together");
        }
        return new InboundServer(config, spool, credentials, tls);
    }

    /** For tests: a server with a ready TLS context. */
    static InboundServer create(RelayConfig.Server config, Spool spool, javax.net.ssl.SSLContext tls)
            throws IOException {
        return new InboundServer(config, spool, Credentials.from(config.auth()), InboundTls.of(tls));
    }

    /** Starts listening; returns once the socket is bound. */
    public void start() {
        smtp.start();
    }

    /** The bound address (the real port when {@code server.listen} asked for port 0). */
    public InetSocketAddress address() {
        return new InetSocketAddress(smtp.getBindAddress().orElseThrow(), smtp.getPortAllocated());
    }

    public int port() {
        return smtp.getPortAllocated();
    }

    /** Stops accepting, closes the sessions and waits for their threads (a DATA in its commit finishes first). */
    @Override
    public void close() {
        smtp.stop();
    }

    // ---- for the commands

    SessionState state(Session session) {
        return Objects.requireNonNull(sessions.get(session), "session state");
    }

    RelayConfig.Limits limits() {
        return config.limits();
    }

    String hostname() {
        return config.hostname();
    }

    Spool spool() {
        return spool;
    }

    Credentials credentials() {
        return credentials;
    }

    boolean tlsAvailable() {
        return tls != null;
    }

    boolean authAvailable() {
        return !credentials.isEmpty() && tls != null;
    }

    /** The networks allowed to relay, for the start-up log line. */
    public java.util.List<Network> networks() {
        return config.networks();
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
