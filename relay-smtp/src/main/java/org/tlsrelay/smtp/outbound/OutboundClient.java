package org.tlsrelay.smtp.outbound;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.enforce.Admission;
import org.tlsrelay.core.enforce.Enforcer;
import org.tlsrelay.core.enforce.MxObservation;
import org.tlsrelay.core.enforce.TlsObservation;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.enforce.Verdict;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.tls.TrustMaterial;

/**
 * The outbound SMTP client: delivers one message to one MX address per call, under the recipient domain's policy.
 *
 * <p>Each attempt connects (or reuses an idle connection to the same MX address), reads the greeting, sends EHLO,
 * STARTTLS when offered and EHLO again (RFC 3207), records what TLS showed, and asks {@link Enforcer} before MAIL
 * FROM; on a refusal it sends QUIT and nothing else. Then MAIL/RCPT/DATA, as one command group when the MX offers
 * PIPELINING (RFC 2920), with the content streamed, CRLF-normalised and dot-stuffed (RFC 5321 §4.5.2). Each
 * recipient's reply is kept as a value. Every TLS outcome of a connection goes to the {@link TlsOutcomeListener}.
 *
 * <p>Its rooms: this class (attempts, connection reuse, outcomes, logs), {@link SessionOpener} (connect, greeting,
 * EHLO, STARTTLS: observe), {@link MailTransaction} (MAIL, RCPT, DATA).
 *
 * <p>Callers get a {@link CompletableFuture}; nothing blocks a thread. Futures complete on a Netty event loop, so a
 * caller must not block in a callback either. The client does no DNS: the caller resolves MX hosts and addresses and
 * tries them in order, calling {@link #deliver} per address until one does not return {@code Refused} or
 * {@code Failed}.
 */
public final class OutboundClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutboundClient.class);

    private final OutboundSettings settings;
    private final TlsOutcomeListener outcomes;
    private final Clock clock;
    private final EventLoopGroup group;
    private final ConnectionPool pool;
    private final HostBreakers breakers;
    private final ConnectionBudget budget;

    /** Every connection open now, for {@link #cut}. */
    private final Set<SmtpConnection> live = ConcurrentHashMap.newKeySet();

    private final SessionOpener opener;
    private final MailTransaction transaction;
    private volatile boolean closed;

    public OutboundClient(
            OutboundSettings settings, TrustMaterial trust, TlsOutcomeListener outcomes) {
        this(settings, trust, outcomes, Clock.systemUTC());
    }

    /** With a clock for certificate validity and outcome times (tests); no connection limit, no circuit breaker. */
    public OutboundClient(
            OutboundSettings settings,
            TrustMaterial trust,
            TlsOutcomeListener outcomes,
            Clock clock) {
        this(
                settings,
                trust,
                outcomes,
                clock,
                ConnectionLimits.unlimited(),
                ConcurrencyLimiter.local(Integer.MAX_VALUE, Integer.MAX_VALUE));
    }

    /**
     * A client that keeps to {@code limits} (open connections in all, idle ones included; a circuit breaker per MX
     * host) and takes a slot from {@code limiter} for each connection to an MX host.
     */
    public OutboundClient(
            OutboundSettings settings,
            TrustMaterial trust,
            TlsOutcomeListener outcomes,
            Clock clock,
            ConnectionLimits limits,
            ConcurrencyLimiter limiter) {
        this.settings = settings;
        this.outcomes = outcomes;
        this.clock = clock;
        this.group =
                new MultiThreadIoEventLoopGroup(
                        settings.ioThreads(), settings.engines().transport().handlers());
        this.pool = new ConnectionPool(settings.idleTimeout(), settings.maxIdlePerTarget());
        this.breakers =
                new HostBreakers(
                        limits.hostBackoff(),
                        limits.maxHostBackoff(),
                        settings.connectTimeout()
                                .plus(settings.commandTimeout())
                                .plus(settings.connectTimeout()),
                        clock);
        this.budget = new ConnectionBudget(limits.total(), limiter, breakers, pool::closeOldest);
        Bootstrap bootstrap =
                new Bootstrap()
                        .group(group)
                        .channel(settings.engines().transport().channel())
                        .option(
                                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                                (int)
                                        Math.min(
                                                settings.connectTimeout().toMillis(),
                                                Integer.MAX_VALUE))
                        .option(ChannelOption.TCP_NODELAY, true)
                        .handler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        SmtpConnection c =
                                                SmtpConnection.install(
                                                        ch, settings.commandTimeout());
                                        live.add(c);
                                        ch.closeFuture().addListener(f -> live.remove(c));
                                    }
                                });
        this.opener =
                new SessionOpener(
                        bootstrap,
                        new TlsInspector(trust, clock, settings.engines().tls()),
                        settings.heloName());
        this.transaction = new MailTransaction(this::release, clock);
    }

    /**
     * One delivery attempt of {@code message} to one MX address, which {@link Enforcer} allowed to connect to
     * ({@code permit}, for the target's MX host). The future never completes exceptionally for anything the network
     * or the MX did: that is a {@link DeliveryAttemptResult.Failed}.
     */
    public CompletableFuture<DeliveryAttemptResult> deliver(
            DeliveryTarget target, OutboundMessage message, Admission.Connect permit) {
        requireSameHost(target, permit);
        Attempt attempt = new Attempt(target, message.queueId(), permit);
        CompletableFuture<DeliveryAttemptResult> result;
        if (closed) {
            result =
                    CompletableFuture.completedFuture(
                            new DeliveryAttemptResult.Failed(
                                    target,
                                    Stage.CONNECT,
                                    "not connected: the relay is stopping",
                                    DeliveryAttemptResult.Failed.Cause.NOT_STARTED));
        } else {
            result =
                    safely(
                            attempt,
                            () ->
                                    pool.take(target)
                                            .map(s -> onLoop(s, () -> reuse(s, message, attempt)))
                                            .orElseGet(() -> connect(message, attempt)));
        }
        return result.whenComplete((r, e) -> log(attempt, r));
    }

    /**
     * Connects, greets, sends EHLO and STARTTLS, and says what {@link Enforcer} would make of it, without sending
     * any message ({@code policy check}). No outcome is recorded for a probe.
     */
    public CompletableFuture<ProbeResult> probe(DeliveryTarget target, Admission.Connect permit) {
        requireSameHost(target, permit);
        if (closed) {
            return CompletableFuture.completedFuture(
                    new ProbeResult.Failed(target, Stage.CONNECT, "the outbound client is closed"));
        }
        Attempt attempt = new Attempt(target, "probe", permit);
        return opener.open(attempt, false, budget.uncounted())
                .<ProbeResult>thenApply(
                        s -> {
                            Verdict verdict = decide(attempt, s);
                            s.connection.quit();
                            return new ProbeResult.Observed(
                                    target, s.greeting, s.capabilities, s.observation, verdict);
                        })
                .exceptionally(e -> new ProbeResult.Failed(target, attempt.stage, describe(e)));
    }

    private static void requireSameHost(DeliveryTarget target, Admission.Connect permit) {
        if (!target.mxHost().equals(DnsNames.normalise(permit.mxHost()))) {
            throw new IllegalArgumentException(
                    "the permit is for " + permit.mxHost() + ", not for " + target.mxHost());
        }
    }

    /** Idle connections kept for reuse now. */
    public int idleConnections() {
        return pool.idleCount();
    }

    /** Open connections now, idle ones included: never more than {@link ConnectionLimits#total()}. */
    public int openConnections() {
        return budget.open();
    }

    /** Attempts waiting for a connection slot now (their host or the total is at its limit). */
    public int waitingForConnection() {
        return budget.waiting();
    }

    /**
     * Cuts every connection now, for a relay that stops once its shutdown grace is over: attempts under way fail
     * with {@code why} ({@link DeliveryAttemptResult.Failed.Cause#CUT}; one cut after the end of data may have been
     * delivered, RFC 1047), attempts waiting for a connection never start ({@link
     * DeliveryAttemptResult.Failed.Cause#NOT_STARTED}), and no new one starts. The log names the relay as the one
     * that closed them, never the MX.
     */
    public void cut(String why) {
        closed = true;
        budget.close();
        for (SmtpConnection c : live) {
            c.cut(why);
        }
    }

    /** QUITs idle connections and stops the event loops; attempts still running fail. */
    @Override
    public void close() {
        closed = true;
        budget.close();
        pool.close();
        group.shutdownGracefully(100, 2_000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }

    // ---- the attempt ----

    /** A reused connection: decide again for this message's policy, then RSET and send. */
    private CompletableFuture<DeliveryAttemptResult> reuse(
            Session s, OutboundMessage message, Attempt attempt) {
        if (!s.connection.usable()) {
            s.connection.close();
            return connect(message, attempt);
        }
        if (!(decide(attempt, s) instanceof Verdict.Deliver deliver)) {
            // this connection does not satisfy this message's policy; a new connection gets its own
            // observation
            release(s);
            return connect(message, attempt);
        }
        attempt.reused = true;
        emit(attempt, s, deliver);
        return transaction
                .run(s, message, attempt, deliver, true)
                .handle(
                        (r, e) -> {
                            if (e == null) {
                                return CompletableFuture.completedFuture(r);
                            }
                            s.connection.close();
                            if (unwrap(e) instanceof SmtpSessionException
                                    && !attempt.rsetAnswered
                                    && !closed) {
                                // the MX dropped the idle connection: nothing was sent, start over
                                // on a new one
                                attempt.reused = false;
                                return connect(message, attempt);
                            }
                            return CompletableFuture.<DeliveryAttemptResult>failedFuture(e);
                        })
                .thenCompose(f -> f);
    }

    /**
     * Room for a new connection to the attempt's target (or an idle session to it that just became free), then the
     * attempt on it; deferred without connecting while the host's circuit breaker is open.
     */
    private CompletableFuture<DeliveryAttemptResult> connect(
            OutboundMessage message, Attempt attempt) {
        return budget.acquire(attempt.target, true)
                .thenCompose(
                        grant -> {
                            if (grant instanceof ConnectionBudget.Fresh f) {
                                return fresh(message, attempt, f.permit());
                            }
                            if (grant instanceof ConnectionBudget.Reuse r) {
                                return onLoop(
                                        r.session(), () -> reuse(r.session(), message, attempt));
                            }
                            ConnectionBudget.Refused no = (ConnectionBudget.Refused) grant;
                            return CompletableFuture.completedFuture(
                                    new DeliveryAttemptResult.Failed(
                                            attempt.target,
                                            Stage.CONNECT,
                                            no.detail(),
                                            no.closing()
                                                    ? DeliveryAttemptResult.Failed.Cause.NOT_STARTED
                                                    : DeliveryAttemptResult.Failed.Cause
                                                            .HOST_RESTING));
                        });
    }

    /** A new connection: observe, decide, then send (or reconnect in clear when the policy allows and TLS broke). */
    private CompletableFuture<DeliveryAttemptResult> fresh(
            OutboundMessage message, Attempt attempt, ConnectionBudget.Permit room) {
        return opener.open(attempt, false, room)
                .whenComplete((s, e) -> observeHost(attempt, e))
                .thenCompose(
                        s -> {
                            Verdict verdict = decide(attempt, s);
                            emit(attempt, s, verdict);
                            if (!(verdict instanceof Verdict.Deliver deliver)) {
                                s.connection.quit();
                                return CompletableFuture.completedFuture(
                                        new DeliveryAttemptResult.Refused(
                                                attempt.target, (Verdict.Refuse) verdict));
                            }
                            if (deliver instanceof Verdict.DeliverInClear
                                    && !s.connection.usable()) {
                                // testing/none after a failed handshake: the connection is gone;
                                // deliver in clear on a new one that does not try STARTTLS (what
                                // Postfix does for opportunistic TLS)
                                s.connection.close();
                                return inClear(s, message, attempt, deliver);
                            }
                            return transaction.run(s, message, attempt, deliver, false);
                        });
    }

    /** The clear-text retry on a new connection, which keeps the failed handshake's observation. */
    private CompletableFuture<DeliveryAttemptResult> inClear(
            Session failed, OutboundMessage message, Attempt attempt, Verdict.Deliver deliver) {
        return budget.acquire(attempt.target, false)
                .thenCompose(
                        grant -> {
                            if (!(grant instanceof ConnectionBudget.Fresh f)) {
                                boolean closing =
                                        grant instanceof ConnectionBudget.Refused r && r.closing();
                                return CompletableFuture.completedFuture(
                                        new DeliveryAttemptResult.Failed(
                                                attempt.target,
                                                Stage.CONNECT,
                                                grant instanceof ConnectionBudget.Refused r
                                                        ? r.detail()
                                                        : "no connection for the clear-text retry",
                                                closing
                                                        ? DeliveryAttemptResult.Failed.Cause
                                                                .NOT_STARTED
                                                        : DeliveryAttemptResult.Failed.Cause
                                                                .HOST_RESTING));
                            }
                            return opener.open(attempt, true, f.permit())
                                    .thenCompose(
                                            clear -> {
                                                Session retry =
                                                        clear.withObservation(failed.observation);
                                                retry.reportedDomains.addAll(
                                                        failed.reportedDomains);
                                                return transaction.run(
                                                        retry, message, attempt, deliver, false);
                                            });
                        });
    }

    /**
     * What the opening of a connection says about its MX host, for its circuit breaker: a connect or greeting
     * timeout opens it (and defers the attempts waiting for the host), anything else closes it.
     */
    private void observeHost(Attempt attempt, Throwable e) {
        InetAddress host = attempt.target.address();
        if (e != null
                && unwrap(e) instanceof SmtpSessionException broke
                && broke.why() == SmtpSessionException.Cause.TIMEOUT
                && (attempt.stage == Stage.CONNECT || attempt.stage == Stage.GREETING)) {
            breakers.timedOut(host, attempt.target.mxHost(), broke.getMessage());
            budget.refuseWaiting(host);
        } else if (e == null
                || !(unwrap(e) instanceof SmtpSessionException broke
                        && broke.why() == SmtpSessionException.Cause.CUT)) {
            breakers.answered(host, attempt.target.mxHost());
        }
    }

    /** Enforcer's verdict on this session for this attempt's permit: what TLS showed and what EHLO advertised. */
    private Verdict decide(Attempt attempt, Session s) {
        return Enforcer.decide(
                attempt.permit,
                new MxObservation(s.observation, s.capabilities.keywords()),
                clock.instant());
    }

    // ---- connections, outcomes, logs ----

    /**
     * A session that may carry another message: to an attempt waiting for its target, else to the pool, unless
     * attempts wait for room in all (then it closes, to make room); QUIT when it cannot carry more.
     */
    private void release(Session s) {
        if (closed || !s.connection.usable() || s.messages >= settings.maxMessagesPerConnection()) {
            s.connection.quit();
            return;
        }
        if (budget.handOver(s)) {
            return;
        }
        if (budget.wantsRoom() || !pool.offer(s)) {
            s.connection.quit();
        }
    }

    /** Runs an attempt step on the session's event loop, where its connection lives. */
    private static <T> CompletableFuture<T> onLoop(Session s, Supplier<CompletableFuture<T>> step) {
        Channel ch = s.connection.channel();
        if (ch.eventLoop().inEventLoop()) {
            return step.get();
        }
        CompletableFuture<T> out = new CompletableFuture<>();
        ch.eventLoop()
                .execute(
                        () ->
                                step.get()
                                        .whenComplete(
                                                (r, e) -> {
                                                    if (e != null) {
                                                        out.completeExceptionally(e);
                                                    } else {
                                                        out.complete(r);
                                                    }
                                                }));
        return out;
    }

    /** Turns any failure of the attempt into a {@code Failed} result at the stage it reached. */
    private CompletableFuture<DeliveryAttemptResult> safely(
            Attempt attempt, Supplier<CompletableFuture<DeliveryAttemptResult>> run) {
        CompletableFuture<DeliveryAttemptResult> f;
        try {
            f = run.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        return f.exceptionally(
                e -> {
                    Throwable cause = unwrap(e);
                    if (!(cause instanceof IOException)) {
                        LOG.warn(
                                "queue {}: unexpected error delivering to {}",
                                attempt.queueId,
                                attempt.target,
                                cause);
                    }
                    return new DeliveryAttemptResult.Failed(
                            attempt.target,
                            attempt.stage,
                            describe(cause),
                            cause instanceof SmtpSessionException broke
                                            && broke.why() == SmtpSessionException.Cause.CUT
                                    ? DeliveryAttemptResult.Failed.Cause.CUT
                                    : DeliveryAttemptResult.Failed.Cause.NETWORK);
                });
    }

    /** The TLS outcome of this session for this attempt's policy domain: once per connection and domain. */
    private void emit(Attempt attempt, Session s, Verdict verdict) {
        if (verdict.reported().isEmpty() || !s.reportedDomains.add(attempt.policy.domain())) {
            return;
        }
        String info = s.observation.describe();
        if (s.observation instanceof TlsObservation.Established e) {
            info += "; certificate " + e.peer().describe();
        }
        Verdict.Reported reported = verdict.reported().get();
        TlsOutcome outcome =
                new TlsOutcome(
                        clock.instant(),
                        attempt.policy,
                        attempt.target.mxHost(),
                        s.mxName(),
                        s.localAddress(),
                        IpAddresses.text(attempt.target.address()),
                        reported.result(),
                        reported.verdict(),
                        info);
        try {
            outcomes.record(outcome);
        } catch (RuntimeException e) {
            LOG.warn("queue {}: the TLS outcome listener failed", attempt.queueId, e);
        }
    }

    /**
     * A connection that carried no transaction: refused by the policy after STARTTLS, or failed (MDC: queueId,
     * domain, mx). A completed transaction is told per recipient by the delivery engine (its {@code to=} lines).
     */
    private static void log(Attempt attempt, DeliveryAttemptResult result) {
        if (result == null || result instanceof DeliveryAttemptResult.Completed) {
            return;
        }
        try (MDC.MDCCloseable q = MDC.putCloseable("queueId", attempt.queueId);
                MDC.MDCCloseable d = MDC.putCloseable("domain", attempt.policy.domain());
                MDC.MDCCloseable m = MDC.putCloseable("mx", attempt.target.mxHost())) {
            if (result instanceof DeliveryAttemptResult.Refused r) {
                LOG.warn(
                        "{}: {} refused by the policy after STARTTLS, QUIT before MAIL FROM (tls={}): {}",
                        attempt.queueId,
                        attempt.target,
                        attempt.tls,
                        r.verdict().replyText());
            } else if (result instanceof DeliveryAttemptResult.Failed f) {
                LOG.warn(
                        "{}: {} failed at {} (tls={}): {}",
                        attempt.queueId,
                        attempt.target,
                        f.stage().name().toLowerCase(Locale.ROOT).replace('_', ' '),
                        attempt.tls,
                        f.detail());
            }
        }
    }

    private static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String describe(Throwable e) {
        Throwable t = unwrap(e);
        return t.getMessage() != null ? t.getMessage() : Problems.describe(t);
    }
}
