package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
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
import org.subethamail.smtp.server.ServerSocketCreator;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;
import org.tlsrelay.core.auth.Credentials;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.config.Network;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dkim.AcceptSigner;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.Spool;

/**
 * The inbound SMTP listener on {@code server.listen}. Build it with {@link #create}, then {@link #start()}; it
 * writes every accepted message to the {@link Spool} before answering 250.
 */
public final class InboundServer implements AutoCloseable {
    private static final int BACKLOG = 256;
    private final RelayConfig.Server config;
    private final Spool spool;
    private final Credentials credentials;
    private final InboundTls tls;
    private final SMTPServer smtp;
    private final Map<Session, SessionState> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger active = new AtomicInteger();
    private final RelayMetrics metrics;
    private final RelayAccess relayAccess;

    private InboundServer(
            RelayConfig.Server config,
            Spool spool,
            Credentials credentials,
            InboundTls tls,
            RelayMetrics metrics,
            AcceptSigner signer,
            ServerSocketCreator socket)
            throws IOException {
        this.config = config;
        this.metrics = metrics;
        this.spool = spool;
        this.credentials = credentials;
        this.tls = tls;
        this.relayAccess = new RelayAccess(config.networks());
        ExecutorService threads = Executors.newCachedThreadPool(named("smtp-in-"));
        SMTPServer.Builder b =
                SMTPServer.port(config.listen().port())
                        // A literal in server.listen (the usual case) is not looked up; a name is
                        // resolved once, here.
                        .bindAddress(InetAddress.getByName(config.listen().host()))
                        .hostName(config.hostname())
                        .softwareName("tlsrelay")
                        .backlog(BACKLOG)
                        .serverSocketFactory(socket)
                        .messageHandlerFactory(context -> new Transaction())
                        // Our session handler enforces max-connections with an enhanced code;
                        // SubEthaSMTP's own check (a bare "421 Too many connections") is set above
                        // it as a backstop.
                        .maxConnections(config.limits().maxConnections() + 16)
                        .connectionTimeout(
                                (int)
                                        Math.min(
                                                config.limits().commandTimeout().toMillis(),
                                                Integer.MAX_VALUE),
                                TimeUnit.MILLISECONDS)
                        .maxRecipients(config.limits().maxRecipients())
                        .maxMessageSize(
                                (int)
                                        Math.min(
                                                config.limits().maxMessageSize().bytes(),
                                                Integer.MAX_VALUE))
                        .insertReceivedHeaders(false)
                        .executorService(threads)
                        .sessionHandler(
                                new SessionHandler() {
                                    @Override
                                    public SessionAcceptance accept(Session session) {
                                        if (active.incrementAndGet()
                                                > config.limits().maxConnections()) {
                                            active.decrementAndGet();
                                            metrics.rejected(
                                                    RelayMetrics.Rejection.TOO_MANY_CONNECTIONS);
                                            return SessionAcceptance.failure(
                                                    421,
                                                    "4.7.0 "
                                                            + config.hostname()
                                                            + " Error: too many connections, try again later");
                                        }
                                        InetAddress client =
                                                session.getRemoteAddress().getAddress();
                                        boolean trusted = relayAccess.trusted(client);
                                        sessions.put(session, new SessionState(client, trusted));
                                        return SessionAcceptance.success();
                                    }

                                    @Override
                                    public void onSessionEnd(Session session) {
                                        sessions.remove(session);
                                        active.decrementAndGet();
                                    }
                                });
        if (tls != null) {
            b.enableTLS(true).startTlsSocketFactory(tls::layer);
        }
        this.smtp = b.build();
        CommandContext context =
                new CommandContext(
                        config.limits(),
                        config.hostname(),
                        spool,
                        Objects.requireNonNull(signer, "signer"),
                        metrics,
                        credentials,
                        relayAccess,
                        tls != null,
                        sessions);
        for (Command c : Commands.all(context)) {
            smtp.getCommandHandler()
                    .addCommand(c); // replaces SubEthaSMTP's command of the same name
        }
    }

    /**
     * Builds the server from {@code server.*}: loads the TLS certificate and key when configured and checks the AUTH
     * users' hashes. Problems are {@link IOException}s or {@link IllegalArgumentException}s that name the key.
     */
    public static InboundServer create(RelayConfig.Server config, Spool spool) throws IOException {
        return create(config, spool, RelayMetrics.noop());
    }

    /** As {@link #create(RelayConfig.Server, Spool)}, counting accepted and refused mail in {@code metrics}. */
    public static InboundServer create(RelayConfig.Server config, Spool spool, RelayMetrics metrics)
            throws IOException {
        return create(config, spool, metrics, AcceptSigner.none());
    }

    /**
     * As {@link #create(RelayConfig.Server, Spool, RelayMetrics)}, with {@code signer} signing accepted mail on its
     * way into the spool, before the 250 (DKIM, {@code dkim.sign.relayed}).
     */
    public static InboundServer create(
            RelayConfig.Server config, Spool spool, RelayMetrics metrics, AcceptSigner signer)
            throws IOException {
        return create(config, spool, metrics, signer, NoDelayServerSocket::new);
    }

    /**
     * Binds {@code server.listen} now, before the spool and the rest of the relay start, so that an address in use
     * fails at once; give the socket to {@link #create(RelayConfig.Server, Spool, RelayMetrics, AcceptSigner,
     * ServerSocket)}, or close it.
     */
    public static ServerSocket bind(HostPort listen) throws IOException {
        ServerSocket s = new NoDelayServerSocket();
        try {
            s.bind(
                    new InetSocketAddress(InetAddress.getByName(listen.host()), listen.port()),
                    BACKLOG);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** As {@link #create(RelayConfig.Server, Spool, RelayMetrics, AcceptSigner)}, on a socket {@link #bind} bound. */
    public static InboundServer create(
            RelayConfig.Server config,
            Spool spool,
            RelayMetrics metrics,
            AcceptSigner signer,
            ServerSocket bound)
            throws IOException {
        if (!bound.isBound()) {
            throw new IllegalArgumentException("the socket must be bound (InboundServer.bind)");
        }
        return create(config, spool, metrics, signer, () -> bound);
    }

    private static InboundServer create(
            RelayConfig.Server config,
            Spool spool,
            RelayMetrics metrics,
            AcceptSigner signer,
            ServerSocketCreator socket)
            throws IOException {
        Credentials credentials = Credentials.from(config.auth());
        return new InboundServer(config, spool, credentials, tls(config), metrics, signer, socket);
    }

    /**
     * What {@link #create} checks in {@code server.tls}, without a spool or a socket ({@code tlsrelay config check}):
     * the certificate and key files are readable PEM and belong together.
     *
     * @throws IOException or {@link IllegalArgumentException}, naming the key and what is wrong
     */
    public static void checkTls(RelayConfig.Server config) throws IOException {
        tls(config);
    }

    private static InboundTls tls(RelayConfig.Server config) throws IOException {
        if (config.tls().certificate() != null ^ config.tls().privateKey() != null) {
            throw new IllegalArgumentException(
                    "server.tls: certificate and private-key must be given together");
        }
        return config.tls().enabled() ? InboundTls.load(config.tls()) : null;
    }

    /** For tests: a server with a ready TLS context. */
    static InboundServer create(
            RelayConfig.Server config, Spool spool, javax.net.ssl.SSLContext tls)
            throws IOException {
        return new InboundServer(
                config,
                spool,
                Credentials.from(config.auth()),
                InboundTls.of(tls),
                RelayMetrics.noop(),
                AcceptSigner.none(),
                NoDelayServerSocket::new);
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

    /** Whether the listener is accepting connections (the {@code listener} health check). */
    public boolean running() {
        return smtp.isRunning();
    }

    /** Stops accepting, closes the sessions and waits for their threads (a DATA in its commit finishes first). */
    @Override
    public void close() {
        smtp.stop();
    }

    /** The networks allowed to relay, for the start-up log line. */
    public java.util.List<Network> networks() {
        return config.networks();
    }

    /**
     * Accepted sockets get TCP_NODELAY: SubEthaSMTP writes each reply separately, and with Nagle's algorithm the
     * second of three pipelined replies (RFC 2920) waits for the client's delayed ACK, about 40 ms per message.
     */
    private static final class NoDelayServerSocket extends ServerSocket {
        NoDelayServerSocket() throws IOException {
            super();
        }

        /** SubEthaSMTP binds the socket it is given; one that {@link #bind(HostPort)} bound stays as it is. */
        @Override
        public void bind(SocketAddress endpoint, int backlog) throws IOException {
            if (!isBound()) {
                super.bind(endpoint, backlog);
            }
        }

        @Override
        public Socket accept() throws IOException {
            Socket s = super.accept();
            s.setTcpNoDelay(true);
            return s;
        }
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
