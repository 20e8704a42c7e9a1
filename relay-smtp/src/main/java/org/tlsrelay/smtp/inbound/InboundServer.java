package org.tlsrelay.smtp.inbound;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;
import org.tlsrelay.core.auth.Credentials;
import org.tlsrelay.core.config.Durations;
import org.tlsrelay.core.config.Network;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dkim.AcceptSigner;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.FreeSpace;
import org.tlsrelay.core.queue.SpaceReserve;
import org.tlsrelay.core.queue.Spool;

/**
 * The inbound SMTP listener on {@code server.listen}. Build it with {@link #create}, then {@link #start()}; it
 * writes every accepted message to the {@link Spool} before answering 250. Stop it with {@link #drain} (new
 * connections and idle sessions get {@code 421 4.3.2}, a DATA under way may finish within the grace) and
 * {@link #close()}.
 */
public final class InboundServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InboundServer.class);

    private final RelayConfig.Server config;
    private final SMTPServer smtp;
    private final Map<Session, SessionState> sessions = new ConcurrentHashMap<>();
    private final Set<ConnectionGuard> guards = ConcurrentHashMap.newKeySet();
    private final ClientSlots slots;
    private final Listener listener;
    private final ScheduledExecutorService watchdog;
    private final ExecutorService stopTasks;
    private final Object drainLock = new Object();
    private long drainDeadline; // nanoTime, guarded by drainLock
    private boolean draining; // guarded by drainLock

    private InboundServer(
            RelayConfig.Server config,
            Spool spool,
            Credentials credentials,
            InboundTls tls,
            RelayMetrics metrics,
            AcceptSigner signer,
            FreeSpace space,
            Listener listener)
            throws IOException {
        this.config = config;
        RelayConfig.Limits limits = config.limits();
        RelayAccess relayAccess = new RelayAccess(config.networks());
        this.slots =
                new ClientSlots(
                        limits.maxConnections(),
                        limits.maxConnectionsPerClient(),
                        limits.exemptNetworks(),
                        config.hostname());
        ConnectionGuard.Settings guarded =
                new ConnectionGuard.Settings(
                        config.hostname(), limits.commandTimeout(), limits.maxErrors());
        this.listener = listener;
        listener.serve(
                slots,
                (raw, slot) -> guard(raw, slot, guarded, metrics),
                metrics,
                config.hostname());
        this.watchdog = Executors.newSingleThreadScheduledExecutor(named("smtp-watchdog-"));
        this.stopTasks = Executors.newCachedThreadPool(named("smtp-stop-"));
        SMTPServer.Builder b =
                SMTPServer.port(config.listen().port())
                        // A literal in server.listen (the usual case) is not looked up; a name is
                        // resolved once, here.
                        .bindAddress(InetAddress.getByName(config.listen().host()))
                        .hostName(config.hostname())
                        .softwareName("tlsrelay")
                        .backlog(backlog(limits))
                        .serverSocketFactory(() -> listener)
                        .messageHandlerFactory(context -> new Transaction())
                        // The listener admits connections (ClientSlots); SubEthaSMTP's own count,
                        // which also counts sessions that are ending, is only a backstop far above
                        // it.
                        .maxConnections(limits.maxConnections() * 2 + 64)
                        .maxRecipients(limits.maxRecipients())
                        .maxMessageSize(
                                (int) Math.min(limits.maxMessageSize().bytes(), Integer.MAX_VALUE))
                        .insertReceivedHeaders(false)
                        .executorService(Executors.newCachedThreadPool(named("smtp-in-")))
                        .sessionHandler(
                                new SessionHandler() {
                                    @Override
                                    public SessionAcceptance accept(Session session) {
                                        ConnectionGuard g =
                                                ((GuardedSocket) session.getSocket()).guard();
                                        g.attach(session);
                                        sessions.put(
                                                session,
                                                new SessionState(
                                                        g.client(),
                                                        relayAccess.trusted(g.client()),
                                                        g));
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
        CommandContext context =
                new CommandContext(
                        limits,
                        config.hostname(),
                        spool,
                        Objects.requireNonNull(signer, "signer"),
                        metrics,
                        credentials,
                        relayAccess,
                        tls != null,
                        Objects.requireNonNull(space, "space"),
                        sessions);
        for (Command c : Commands.all(context)) {
            smtp.getCommandHandler()
                    .addCommand(c); // replaces SubEthaSMTP's command of the same name
        }
    }

    private ConnectionGuard guard(
            Socket raw,
            ClientSlots.Slot slot,
            ConnectionGuard.Settings settings,
            RelayMetrics metrics) {
        ConnectionGuard[] self = new ConnectionGuard[1];
        ConnectionGuard g =
                new ConnectionGuard(raw, slot, settings, metrics, () -> forget(self[0]));
        self[0] = g;
        guards.add(g);
        synchronized (drainLock) {
            if (draining) {
                g.stop(stopTasks); // accepted just as the stop began: told at its first command
            }
        }
        return g;
    }

    private void forget(ConnectionGuard g) {
        if (guards.remove(g)) {
            synchronized (guards) {
                guards.notifyAll();
            }
        }
    }

    /**
     * Builds the server from {@code server.*}: loads the TLS certificate and key when configured and checks the AUTH
     * users' hashes. Problems are {@link IOException}s or {@link IllegalArgumentException}s that name the key. No
     * space is kept back on the spool's file system (see {@link #create(RelayConfig.Server, Spool, RelayMetrics,
     * AcceptSigner, FreeSpace,
     * ServerSocket)}).
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
        return create(
                config, spool, metrics, signer, FreeSpace.of(spool.root(), SpaceReserve.NONE));
    }

    /**
     * As {@link #create(RelayConfig.Server, Spool, RelayMetrics, AcceptSigner)}, refusing new mail with {@code 452
     * 4.3.1} at MAIL FROM while {@code space} says the spool's file system is short ({@code spool.min-free}); the
     * socket is bound at {@link #start()}.
     */
    public static InboundServer create(
            RelayConfig.Server config,
            Spool spool,
            RelayMetrics metrics,
            AcceptSigner signer,
            FreeSpace space)
            throws IOException {
        return create(config, spool, metrics, signer, space, new Listener());
    }

    /**
     * Binds {@code server.listen} now, before the spool and the rest of the relay start, so that an address in use
     * fails at once; give the socket to {@link #create(RelayConfig.Server, Spool, RelayMetrics, AcceptSigner,
     * FreeSpace, ServerSocket)}, or close it.
     */
    public static ServerSocket bind(RelayConfig.Server config) throws IOException {
        Listener s = new Listener();
        try {
            s.bind(
                    new InetSocketAddress(
                            InetAddress.getByName(config.listen().host()), config.listen().port()),
                    backlog(config.limits()));
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** listen(2) takes at most net.core.somaxconn: asking for more gets exactly that. */
    private static int backlog(RelayConfig.Limits limits) {
        return limits.listenBacklog() > 0 ? limits.listenBacklog() : Integer.MAX_VALUE;
    }

    /**
     * As {@link #create(RelayConfig.Server, Spool, RelayMetrics, AcceptSigner)}, on a socket {@link #bind} bound,
     * refusing new mail with {@code 452 4.3.1} at MAIL FROM while {@code space} says the spool's file system is short
     * ({@code spool.min-free}).
     */
    public static InboundServer create(
            RelayConfig.Server config,
            Spool spool,
            RelayMetrics metrics,
            AcceptSigner signer,
            FreeSpace space,
            ServerSocket bound)
            throws IOException {
        if (!(bound instanceof Listener listener)) {
            throw new IllegalArgumentException("the socket must come from InboundServer.bind");
        }
        Credentials credentials = Credentials.from(config.auth());
        return new InboundServer(
                config, spool, credentials, tls(config), metrics, signer, space, listener);
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
                FreeSpace.of(spool.root(), SpaceReserve.NONE),
                new Listener());
    }

    /** Starts listening; returns once the socket is bound. */
    public void start() {
        smtp.start();
        watchdog.scheduleWithFixedDelay(
                () -> {
                    long now = System.nanoTime();
                    guards.forEach(g -> g.cutIfStuck(now));
                },
                1,
                1,
                TimeUnit.SECONDS);
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

    /** Client connections open now. */
    public int connections() {
        return slots.open();
    }

    /**
     * Begins the stop without waiting: from now on new connections get {@code 421 4.3.2 Service shutting down}, so
     * does every session waiting for a command (now) or finishing one (when done); a DATA under way may go on until
     * {@code grace} has passed, then it gets the 421 too, unless its message is being committed, which then gets its
     * 250. Calling it again changes nothing.
     */
    public void drain(Duration grace) {
        synchronized (drainLock) {
            if (draining) {
                return;
            }
            draining = true;
            drainDeadline = System.nanoTime() + grace.toNanos();
        }
        listener.drain();
        guards.forEach(g -> g.stop(stopTasks));
        LOG.info(
                "inbound: stopping: new connections and sessions between commands get 421 4.3.2;"
                        + " {} connection(s) open, a DATA under way has {} to finish",
                guards.size(),
                Durations.format(grace));
    }

    /**
     * Stops: drains ({@link #drain}, with {@code server.shutdown-grace} unless it was called), waits for the sessions
     * until the grace is over, ends the rest with 421 (a commit under way finishes first), then closes the listener
     * and the session threads.
     */
    @Override
    public void close() {
        drain(config.shutdownGrace());
        long deadline;
        synchronized (drainLock) {
            deadline = drainDeadline;
        }
        if (!awaitNoConnections(deadline)) {
            guards.forEach(g -> g.force(stopTasks));
            // A commit under way is an fsync or two: its 250 is worth a little more time.
            awaitNoConnections(System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
        }
        smtp.stop();
        watchdog.shutdownNow();
        stopTasks.shutdown();
    }

    private boolean awaitNoConnections(long deadline) {
        synchronized (guards) {
            while (!guards.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    guards.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
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
