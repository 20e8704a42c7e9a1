package org.tlsrelay.smtp.outbound;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.smtp.DefaultSmtpRequest;
import io.netty.handler.codec.smtp.SmtpCommand;
import io.netty.handler.codec.smtp.SmtpRequest;
import io.netty.handler.codec.smtp.SmtpRequests;
import io.netty.util.AsciiString;
import java.io.IOException;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.tlsrelay.core.enforce.Enforcer;
import org.tlsrelay.core.enforce.PolicyContext;
import org.tlsrelay.core.enforce.TlsObservation;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.enforce.TlsRequirement;
import org.tlsrelay.core.enforce.Verdict;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TrustMaterial;

/**
 * The outbound SMTP client: delivers one message to one MX address per call, under the recipient domain's policy.
 *
 * <p>Each attempt connects (or reuses an idle connection to the same MX address), reads the greeting, sends EHLO,
 * STARTTLS when offered and EHLO again (RFC 3207), records what TLS showed, and asks {@link Enforcer} before MAIL
 * FROM; on a refusal it sends QUIT and nothing else. Then MAIL/RCPT/DATA, as one command group when the MX offers
 * PIPELINING (RFC 2920), with the content streamed, CRLF-normalised and dot-stuffed (RFC 5321 §4.5.2). Each
 * recipient's reply is kept as a value. Every TLS outcome goes to the {@link TlsOutcomeListener}.
 *
 * <p>Callers get a {@link CompletableFuture}; nothing blocks a thread. Futures complete on a Netty event loop, so a
 * caller must not block in a callback either. The client does no DNS: the caller resolves MX hosts and addresses and
 * tries them in order, calling {@link #deliver} per address until one does not return {@code Refused} or
 * {@code Failed}.
 */
public final class OutboundClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutboundClient.class);
    private static final SmtpCommand STARTTLS = SmtpCommand.valueOf("STARTTLS");

    private final OutboundSettings settings;
    private final TlsInspector tls;
    private final TlsOutcomeListener outcomes;
    private final Clock clock;
    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    private final ConnectionPool pool;
    private volatile boolean closed;

    public OutboundClient(
            OutboundSettings settings, TrustMaterial trust, TlsOutcomeListener outcomes) {
        this(settings, trust, outcomes, Clock.systemUTC());
    }

    /** With a clock for certificate validity and outcome times (tests). */
    public OutboundClient(
            OutboundSettings settings,
            TrustMaterial trust,
            TlsOutcomeListener outcomes,
            Clock clock) {
        this.settings = settings;
        this.tls = new TlsInspector(trust, clock);
        this.outcomes = outcomes;
        this.clock = clock;
        this.group =
                new MultiThreadIoEventLoopGroup(settings.ioThreads(), NioIoHandler.newFactory());
        this.pool = new ConnectionPool(settings.idleTimeout(), settings.maxIdlePerTarget());
        this.bootstrap =
                new Bootstrap()
                        .group(group)
                        .channel(NioSocketChannel.class)
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
                                        SmtpConnection.install(ch, settings.commandTimeout());
                                    }
                                });
    }

    /**
     * One delivery attempt of {@code message} to one MX address under {@code policy}. The future never completes
     * exceptionally for anything the network or the MX did: that is a {@link DeliveryAttemptResult.Failed}.
     */
    public CompletableFuture<DeliveryAttemptResult> deliver(
            DeliveryTarget target, OutboundMessage message, PolicyContext policy) {
        Attempt attempt = new Attempt(target, message.queueId(), policy);
        CompletableFuture<DeliveryAttemptResult> result;
        if (closed) {
            result =
                    CompletableFuture.completedFuture(
                            new DeliveryAttemptResult.Failed(
                                    target, Stage.CONNECT, "the outbound client is closed"));
        } else {
            Optional<Verdict.Refuse> skip =
                    Enforcer.beforeConnect(policy, target.mxHost(), message.tlsRequirement());
            if (skip.isPresent()) {
                // RFC 8461 §4.1: not connected at all; still a TLS-RPT outcome for the policy
                // domain
                emit(
                        attempt,
                        "",
                        "",
                        skip.get(),
                        skip.get().failure() == TlsFailureType.DNSSEC_INVALID
                                ? "not connected: the DNSSEC look-ups for DANE failed"
                                : "not connected: the MX host is not in the policy");
                attempt.verdict = skip.get().label();
                result =
                        CompletableFuture.completedFuture(
                                new DeliveryAttemptResult.Refused(target, skip.get(), false));
            } else {
                result =
                        safely(
                                attempt,
                                () ->
                                        pool.take(target)
                                                .map(
                                                        s ->
                                                                onLoop(
                                                                        s,
                                                                        () ->
                                                                                reuse(
                                                                                        s, message,
                                                                                        attempt)))
                                                .orElseGet(() -> fresh(message, attempt)));
            }
        }
        return result.whenComplete((r, e) -> log(attempt, r));
    }

    /**
     * Connects, greets, sends EHLO and STARTTLS, and says what the policy would make of it, without sending any
     * message ({@code policy check}). No outcome is recorded for a probe.
     */
    public CompletableFuture<ProbeResult> probe(DeliveryTarget target, PolicyContext policy) {
        Optional<Verdict.Refuse> skip = Enforcer.beforeConnect(policy, target.mxHost());
        if (skip.isPresent()) {
            return CompletableFuture.completedFuture(
                    new ProbeResult.NotAllowed(target, skip.get()));
        }
        if (closed) {
            return CompletableFuture.completedFuture(
                    new ProbeResult.Failed(target, Stage.CONNECT, "the outbound client is closed"));
        }
        Attempt attempt = new Attempt(target, "probe", policy);
        return open(attempt, false)
                .<ProbeResult>thenApply(
                        s -> {
                            Verdict verdict =
                                    Enforcer.decide(
                                            policy,
                                            target.mxHost(),
                                            s.observation,
                                            clock.instant());
                            s.connection.quit();
                            return new ProbeResult.Observed(
                                    target, s.greeting, s.capabilities, s.observation, verdict);
                        })
                .exceptionally(e -> new ProbeResult.Failed(target, attempt.stage, describe(e)));
    }

    /** Idle connections kept for reuse now. */
    public int idleConnections() {
        return pool.idleCount();
    }

    /** QUITs idle connections and stops the event loops; attempts still running fail. */
    @Override
    public void close() {
        closed = true;
        pool.close();
        group.shutdownGracefully(100, 2_000, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }

    // ---- the attempt ----

    /** What one call is doing, for its result and its log line. */
    private static final class Attempt {
        final DeliveryTarget target;
        final String queueId;
        final PolicyContext policy;
        volatile Stage stage = Stage.CONNECT;
        volatile String tls = "-";
        volatile String verdict = "-";
        volatile boolean reused;

        /** On a reused connection: whether the MX answered our RSET, i.e. the connection was still alive. */
        volatile boolean rsetAnswered;

        Attempt(DeliveryTarget target, String queueId, PolicyContext policy) {
            this.target = target;
            this.queueId = queueId;
            this.policy = policy;
        }
    }

    /** A reused connection: decide again for this message's policy, then RSET and send. */
    private CompletableFuture<DeliveryAttemptResult> reuse(
            Session s, OutboundMessage message, Attempt attempt) {
        if (!s.connection.usable()) {
            s.connection.close();
            return fresh(message, attempt);
        }
        Verdict verdict =
                Enforcer.decide(
                        attempt.policy,
                        attempt.target.mxHost(),
                        s.observation,
                        clock.instant(),
                        message.tlsRequirement());
        if (verdict instanceof Verdict.Refuse) {
            // this connection's TLS does not satisfy this policy; a new connection gets its own
            // observation
            release(s);
            return fresh(message, attempt);
        }
        attempt.reused = true;
        emit(attempt, s, verdict);
        return transaction(s, message, attempt, verdict, true)
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
                                return fresh(message, attempt);
                            }
                            return CompletableFuture.<DeliveryAttemptResult>failedFuture(e);
                        })
                .thenCompose(f -> f);
    }

    /** A new connection: observe, decide, then send (or reconnect in clear when the policy allows and TLS broke). */
    private CompletableFuture<DeliveryAttemptResult> fresh(
            OutboundMessage message, Attempt attempt) {
        return open(attempt, false)
                .thenCompose(
                        s -> {
                            Verdict verdict =
                                    Enforcer.decide(
                                            attempt.policy,
                                            attempt.target.mxHost(),
                                            s.observation,
                                            clock.instant(),
                                            message.tlsRequirement());
                            emit(attempt, s, verdict);
                            if (verdict instanceof Verdict.Refuse refuse) {
                                s.connection.quit();
                                return CompletableFuture.completedFuture(
                                        new DeliveryAttemptResult.Refused(
                                                attempt.target, refuse, true));
                            }
                            if (verdict instanceof Verdict.DeliverInClear
                                    && !s.connection.usable()) {
                                // testing/none after a failed handshake: the connection is gone;
                                // deliver in clear on a new one
                                // that does not try STARTTLS (what Postfix does for opportunistic
                                // TLS)
                                s.connection.close();
                                return open(attempt, true)
                                        .thenCompose(
                                                clear -> {
                                                    Session retry =
                                                            clear.withObservation(s.observation);
                                                    retry.reportedDomains.addAll(s.reportedDomains);
                                                    return transaction(
                                                            retry, message, attempt, verdict,
                                                            false);
                                                });
                            }
                            return transaction(s, message, attempt, verdict, false);
                        });
    }

    /** Connects and brings the session up to the point where MAIL FROM could be sent. */
    private CompletableFuture<Session> open(Attempt attempt, boolean clearOnly) {
        attempt.stage = Stage.CONNECT;
        CompletableFuture<SmtpConnection> connected = new CompletableFuture<>();
        ChannelFuture cf = bootstrap.connect(attempt.target.socketAddress());
        cf.addListener(
                f -> {
                    if (f.isSuccess()) {
                        connected.complete(cf.channel().pipeline().get(SmtpConnection.class));
                    } else {
                        connected.completeExceptionally(
                                new SmtpSessionException(
                                        "cannot connect: " + TlsInspector.rootMessage(f.cause()),
                                        f.cause()));
                    }
                });
        return connected.thenCompose(
                c -> {
                    attempt.stage = Stage.GREETING;
                    return c.greeting()
                            .thenCompose(
                                    greeting -> {
                                        if (!greeting.isPositive()) {
                                            // RFC 5321 §3.1: a 554 greeting means no SMTP service
                                            // here; QUIT and try elsewhere
                                            throw new CompletionException(
                                                    new SmtpSessionException(
                                                            "greeting " + greeting));
                                        }
                                        attempt.stage = Stage.EHLO;
                                        return ehlo(c).thenCompose(
                                                        caps -> {
                                                            if (clearOnly
                                                                    || !caps.has(
                                                                            Extension.STARTTLS)) {
                                                                TlsObservation none =
                                                                        TlsObservation.notOffered();
                                                                return CompletableFuture
                                                                        .completedFuture(
                                                                                new Session(
                                                                                        attempt.target,
                                                                                        c,
                                                                                        greeting,
                                                                                        caps,
                                                                                        none,
                                                                                        false));
                                                            }
                                                            return startTls(
                                                                    c, attempt, greeting, caps);
                                                        });
                                    })
                            .whenComplete(
                                    (session, e) -> {
                                        if (e != null) {
                                            c.quit(); // a refused greeting or EHLO: say
                                            // goodbye; a broken connection is just
                                            // closed
                                        }
                                    });
                });
    }

    private CompletableFuture<Session> startTls(
            SmtpConnection c, Attempt attempt, SmtpReply greeting, Capabilities caps) {
        attempt.stage = Stage.STARTTLS;
        return c.send(new DefaultSmtpRequest(STARTTLS))
                .thenCompose(
                        reply -> {
                            if (reply.code() != 220) {
                                // RFC 3207 §4: the session goes on in clear; whether that is
                                // acceptable is the policy's call
                                TlsObservation rejected =
                                        new TlsObservation.StartTlsRejected(reply.toString());
                                return CompletableFuture.completedFuture(
                                        new Session(
                                                attempt.target,
                                                c,
                                                greeting,
                                                caps,
                                                rejected,
                                                false));
                            }
                            return c.startTls(tls, attempt.target.mxHost())
                                    .thenCompose(
                                            observation -> {
                                                if (!(observation
                                                        instanceof TlsObservation.Established e)) {
                                                    c.close();
                                                    return CompletableFuture.completedFuture(
                                                            new Session(
                                                                    attempt.target,
                                                                    c,
                                                                    greeting,
                                                                    caps,
                                                                    observation,
                                                                    false));
                                                }
                                                attempt.tls = e.protocol() + "/" + e.cipherSuite();
                                                attempt.stage = Stage.EHLO;
                                                // RFC 3207 §4.2: forget what the MX said before TLS
                                                // and ask again
                                                return ehlo(c).thenApply(
                                                                tlsCaps ->
                                                                        new Session(
                                                                                attempt.target,
                                                                                c,
                                                                                greeting,
                                                                                tlsCaps,
                                                                                observation,
                                                                                true));
                                            });
                        });
    }

    /** EHLO, or HELO when EHLO is refused as unknown (RFC 5321 §3.2). */
    private CompletableFuture<Capabilities> ehlo(SmtpConnection c) {
        return c.send(SmtpRequests.ehlo(settings.heloName()))
                .thenCompose(
                        reply -> {
                            if (reply.code() == 250) {
                                return CompletableFuture.completedFuture(Capabilities.parse(reply));
                            }
                            if (reply.code() == 500 || reply.code() == 502) {
                                return c.send(SmtpRequests.helo(settings.heloName()))
                                        .thenApply(
                                                helo -> {
                                                    if (helo.code() != 250) {
                                                        throw new CompletionException(
                                                                new SmtpSessionException(
                                                                        "HELO answered " + helo));
                                                    }
                                                    return Capabilities.helo(helo);
                                                });
                            }
                            throw new CompletionException(
                                    new SmtpSessionException("EHLO answered " + reply));
                        });
    }

    // ---- the mail transaction ----

    /** Replies gathered for one envelope. */
    private static final class Envelope {
        final List<OutboundRecipient> recipients;
        final List<SmtpReply> rcpt = new ArrayList<>();
        SmtpReply mail;
        SmtpReply data;

        Envelope(List<OutboundRecipient> recipients) {
            this.recipients = recipients;
        }

        boolean anyAccepted() {
            return mail.isPositive() && rcpt.stream().anyMatch(SmtpReply::isPositive);
        }

        /** Each recipient's result: the MAIL reply if it failed, else the RCPT reply if refused, else {@code last}. */
        List<RecipientResult> results(SmtpReply last) {
            List<RecipientResult> out = new ArrayList<>(recipients.size());
            for (int i = 0; i < recipients.size(); i++) {
                SmtpReply r =
                        !mail.isPositive() ? mail : !rcpt.get(i).isPositive() ? rcpt.get(i) : last;
                out.add(RecipientResult.of(recipients.get(i), r));
            }
            return out;
        }
    }

    private CompletableFuture<DeliveryAttemptResult> transaction(
            Session s, OutboundMessage message, Attempt attempt, Verdict verdict, boolean rset) {
        if (verdict instanceof Verdict.DeliverOverTls != s.tls) {
            // the verdict was made for another kind of connection: never send in clear what must go
            // over TLS
            s.connection.close();
            return CompletableFuture.failedFuture(
                    new IllegalStateException(
                            "queue "
                                    + message.queueId()
                                    + ": verdict "
                                    + verdict.label()
                                    + " on a connection with tls="
                                    + s.tls));
        }
        attempt.verdict = verdict.label();
        attempt.tls =
                s.tls && s.observation instanceof TlsObservation.Established e
                        ? e.protocol() + "/" + e.cipherSuite()
                        : "none";
        SessionSummary summary =
                new SessionSummary(
                        s.greeting, s.capabilities, s.observation, verdict, s.localAddress(), rset);
        Capabilities caps = s.capabilities;
        long size;
        ReadableByteChannel source;
        try {
            Optional<SmtpReply> refusal = localRefusal(message, caps);
            if (refusal.isPresent()) {
                release(s);
                List<RecipientResult> all =
                        message.recipients().stream()
                                .map(r -> RecipientResult.of(r, refusal.get()))
                                .toList();
                return CompletableFuture.completedFuture(
                        new DeliveryAttemptResult.Completed(attempt.target, summary, all));
            }
            size = message.content().size();
            source = message.content().open();
        } catch (IOException e) {
            // a local problem (the spool file): the MX did nothing wrong, but the connection is not
            // kept
            s.connection.quit();
            return CompletableFuture.failedFuture(
                    new IOException(
                            "queue "
                                    + message.queueId()
                                    + ": cannot read the message content: "
                                    + e.getMessage(),
                            e));
        }
        DotStuffedContent content = new DotStuffedContent(source, size);
        Envelope env = new Envelope(message.recipients());
        List<SmtpRequest> rcpts = message.recipients().stream().map(r -> rcpt(r, caps)).toList();
        SmtpRequest mail = mail(message, caps, size);
        attempt.stage = Stage.MAIL;
        CompletableFuture<Void> envelope =
                caps.has(Extension.PIPELINING)
                        ? pipelined(s.connection, rset, mail, rcpts, env, attempt)
                        : stepwise(s.connection, rset, mail, rcpts, env, attempt);
        CompletableFuture<DeliveryAttemptResult> done =
                envelope.thenCompose(v -> data(s.connection, env, content, attempt))
                        .thenApply(
                                results -> {
                                    s.messages++;
                                    release(s);
                                    return new DeliveryAttemptResult.Completed(
                                            attempt.target, summary, results);
                                });
        return done.whenComplete(
                (r, e) -> {
                    closeQuietly(content);
                    if (e != null) {
                        s.connection.close();
                    }
                });
    }

    /** RFC 2920 §3.1: RSET, MAIL, every RCPT and DATA in one group; DATA ends it. */
    private CompletableFuture<Void> pipelined(
            SmtpConnection c,
            boolean rset,
            SmtpRequest mail,
            List<SmtpRequest> rcpts,
            Envelope env,
            Attempt attempt) {
        List<SmtpRequest> group = new ArrayList<>(rcpts.size() + 3);
        if (rset) {
            group.add(SmtpRequests.rset());
        }
        group.add(mail);
        group.addAll(rcpts);
        group.add(SmtpRequests.data());
        List<CompletableFuture<SmtpReply>> replies = c.sendAll(group);
        int first = rset ? 1 : 0;
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        if (rset) {
            chain = replies.get(0).thenAccept(r -> rsetAnswered(r, attempt));
        }
        chain =
                chain.thenCompose(v -> replies.get(first))
                        .thenAccept(
                                r -> {
                                    env.mail = r;
                                    attempt.stage = Stage.RCPT;
                                });
        for (int i = 0; i < rcpts.size(); i++) {
            CompletableFuture<SmtpReply> reply = replies.get(first + 1 + i);
            chain = chain.thenCompose(v -> reply).thenAccept(env.rcpt::add);
        }
        return chain.thenAccept(v -> attempt.stage = Stage.DATA)
                .thenCompose(v -> replies.get(replies.size() - 1))
                .thenAccept(r -> env.data = r);
    }

    /** Without PIPELINING: one command, one reply; stop at a refused MAIL, skip DATA when no RCPT was accepted. */
    private CompletableFuture<Void> stepwise(
            SmtpConnection c,
            boolean rset,
            SmtpRequest mail,
            List<SmtpRequest> rcpts,
            Envelope env,
            Attempt attempt) {
        CompletableFuture<Void> chain =
                rset
                        ? c.send(SmtpRequests.rset()).thenAccept(r -> rsetAnswered(r, attempt))
                        : CompletableFuture.completedFuture(null);
        chain =
                chain.thenCompose(v -> c.send(mail))
                        .thenAccept(
                                r -> {
                                    env.mail = r;
                                    attempt.stage = Stage.RCPT;
                                });
        for (SmtpRequest rcpt : rcpts) {
            chain =
                    chain.thenCompose(
                                    v ->
                                            env.mail.isPositive()
                                                    ? c.send(rcpt)
                                                    : CompletableFuture.completedFuture(env.mail))
                            .thenAccept(env.rcpt::add);
        }
        return chain.thenCompose(
                v -> {
                    if (!env.anyAccepted()) {
                        return CompletableFuture.completedFuture(null);
                    }
                    attempt.stage = Stage.DATA;
                    return c.send(SmtpRequests.data()).thenAccept(r -> env.data = r);
                });
    }

    private static void rsetAnswered(SmtpReply reply, Attempt attempt) {
        if (reply.code() != 250) {
            throw new CompletionException(new SmtpSessionException("RSET answered " + reply));
        }
        attempt.rsetAnswered = true;
    }

    /** After the envelope: send the content on 354, or reset after a refused DATA. */
    private CompletableFuture<List<RecipientResult>> data(
            SmtpConnection c, Envelope env, DotStuffedContent content, Attempt attempt) {
        if (env.data == null) {
            // DATA was not sent (no recipient accepted, without pipelining)
            return CompletableFuture.completedFuture(env.results(env.mail));
        }
        if (env.data.code() != 354) {
            // DATA refused: reset the transaction (and the codec, which still expects content)
            SmtpReply refused = env.data;
            return c.send(SmtpRequests.rset()).thenApply(r -> env.results(refused));
        }
        if (!env.anyAccepted()) {
            // RFC 2920 §3.1: a 354 though no recipient was accepted: end the data at once
            return c.sendEmptyContent().thenApply(r -> env.results(env.mail));
        }
        attempt.stage = Stage.CONTENT;
        return c.sendContent(content, () -> attempt.stage = Stage.END_OF_DATA)
                .thenApply(env::results);
    }

    /** A message this MX cannot take, decided before MAIL FROM: SMTPUTF8 (RFC 6531 §3.2) or SIZE (RFC 1870 §6). */
    private static Optional<SmtpReply> localRefusal(OutboundMessage message, Capabilities caps)
            throws IOException {
        if (message.tlsRequirement() == TlsRequirement.REQUIRETLS
                && !caps.has(Extension.REQUIRETLS)) {
            // RFC 8689 §4.2.1: only to an MX that advertises REQUIRETLS; temporary here, so that
            // the next MX is
            // tried: the attempt fails the message (5.7.30) once no MX qualifies
            return Optional.of(
                    SmtpReply.local(
                            450,
                            "4.7.30",
                            "the MX does not advertise REQUIRETLS, which this message requires (RFC 8689)"));
        }
        if (message.needsSmtpUtf8() && !caps.has(Extension.SMTPUTF8)) {
            boolean asciiAddresses =
                    OutboundMessage.isAscii(message.sender())
                            && message.recipients().stream()
                                    .allMatch(r -> OutboundMessage.isAscii(r.address()));
            // RFC 6533 §3: X.6.7 for a non-ASCII address, X.6.9 for a message that needs SMTPUTF8
            // otherwise
            return Optional.of(
                    asciiAddresses
                            ? SmtpReply.local(
                                    554,
                                    "5.6.9",
                                    "the MX does not offer SMTPUTF8, which this message needs")
                            : SmtpReply.local(
                                    553,
                                    "5.6.7",
                                    "the MX does not offer SMTPUTF8, which non-ASCII addresses need"));
        }
        long limit = caps.sizeLimit();
        if (caps.has(Extension.SIZE) && limit > 0 && message.content().size() > limit) {
            return Optional.of(
                    SmtpReply.local(
                            552,
                            "5.3.4",
                            "message size "
                                    + message.content().size()
                                    + " exceeds the MX's limit of "
                                    + limit));
        }
        return Optional.empty();
    }

    private static SmtpRequest mail(OutboundMessage message, Capabilities caps, long size) {
        List<CharSequence> params = new ArrayList<>();
        params.add(address("FROM:", message.sender()));
        if (caps.has(Extension.SIZE)) {
            params.add("SIZE=" + size);
        }
        if (message.eightBit() && caps.has(Extension.EIGHT_BIT_MIME)) {
            params.add("BODY=8BITMIME");
        }
        if (message.needsSmtpUtf8()) {
            params.add("SMTPUTF8");
        }
        if (message.tlsRequirement() == TlsRequirement.REQUIRETLS) {
            params.add(
                    "REQUIRETLS"); // RFC 8689 §4.2.1: passed on, only ever to an MX that advertised
            // it
        }
        if (caps.has(Extension.DSN)) {
            if (message.ret() != OutboundMessage.Ret.UNSPECIFIED) {
                params.add("RET=" + message.ret().name());
            }
            if (!message.envelopeId().isEmpty()) {
                params.add("ENVID=" + message.envelopeId());
            }
        }
        return new DefaultSmtpRequest(SmtpCommand.MAIL, params.toArray(CharSequence[]::new));
    }

    private static SmtpRequest rcpt(OutboundRecipient recipient, Capabilities caps) {
        List<CharSequence> params = new ArrayList<>();
        params.add(address("TO:", recipient.address()));
        if (caps.has(Extension.DSN)) {
            if (!recipient.notifyOn().isEmpty()) {
                params.add(
                        "NOTIFY="
                                + recipient.notifyOn().stream()
                                        .map(Enum::name)
                                        .collect(Collectors.joining(",")));
            }
            if (!recipient.originalRecipient().isEmpty()) {
                params.add("ORCPT=" + recipient.originalRecipient());
            }
        }
        return new DefaultSmtpRequest(SmtpCommand.RCPT, params.toArray(CharSequence[]::new));
    }

    /**
     * {@code FROM:<address>} as UTF-8 octets. The codec writes each char of a CharSequence as one octet; an
     * {@link AsciiString} is a byte string and is copied as it is, so a UTF-8 address (RFC 6531 §3.3) goes out
     * intact. The codec still refuses CR and LF in it.
     */
    private static CharSequence address(String prefix, String address) {
        return new AsciiString(
                (prefix + "<" + address + ">").getBytes(StandardCharsets.UTF_8), false);
    }

    // ---- connections, outcomes, logs ----

    /** Back to the pool if it can carry another message, else QUIT. */
    private void release(Session s) {
        if (closed
                || !s.connection.usable()
                || s.messages >= settings.maxMessagesPerConnection()
                || !pool.offer(s)) {
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
                            attempt.target, attempt.stage, describe(cause));
                });
    }

    private void emit(Attempt attempt, Session s, Verdict verdict) {
        if (!s.reportedDomains.add(attempt.policy.domain())) {
            return;
        }
        String info = s.observation.describe();
        if (s.observation instanceof TlsObservation.Established e) {
            info += "; certificate " + e.peer().describe();
        }
        emit(attempt, s.mxName(), s.localAddress(), verdict, info);
    }

    private void emit(
            Attempt attempt, String mxHelo, String sendingIp, Verdict verdict, String info) {
        if (verdict instanceof Verdict.Refuse r && r.requireTls()) {
            return; // the message's own requirement, not a TLS failure of the MX (RFC 8460 has no
            // type for it)
        }
        TlsOutcome outcome =
                new TlsOutcome(
                        clock.instant(),
                        attempt.policy,
                        attempt.target.mxHost(),
                        mxHelo,
                        sendingIp,
                        attempt.target.address().getHostAddress(),
                        verdict.result(),
                        verdict.label(),
                        info);
        try {
            outcomes.record(outcome);
        } catch (RuntimeException e) {
            LOG.warn("queue {}: the TLS outcome listener failed", attempt.queueId, e);
        }
    }

    /** One line per attempt: domain, MX, TLS, verdict and the MX's reply (MDC: queueId, domain, mx). */
    private static void log(Attempt attempt, DeliveryAttemptResult result) {
        if (result == null) {
            return;
        }
        try (MDC.MDCCloseable q = MDC.putCloseable("queueId", attempt.queueId);
                MDC.MDCCloseable d = MDC.putCloseable("domain", attempt.policy.domain());
                MDC.MDCCloseable m = MDC.putCloseable("mx", attempt.target.mxHost())) {
            String mode = attempt.policy.mode().label();
            if (result instanceof DeliveryAttemptResult.Completed c) {
                LOG.info(
                        "delivery to {} for {} (policy {}): tls={} verdict={} reused={} delivered={} deferred={} "
                                + "failed={} reply=\"{}\"",
                        attempt.target,
                        attempt.policy.domain(),
                        mode,
                        attempt.tls,
                        attempt.verdict,
                        attempt.reused,
                        c.count(RecipientResult.Status.DELIVERED),
                        c.count(RecipientResult.Status.DEFERRED),
                        c.count(RecipientResult.Status.FAILED),
                        decisiveReply(c));
            } else if (result instanceof DeliveryAttemptResult.Refused r) {
                LOG.warn(
                        "delivery to {} for {} (policy {}): tls={} verdict=refuse {} reply=\"{}\"",
                        attempt.target,
                        attempt.policy.domain(),
                        mode,
                        attempt.tls,
                        r.connected() ? "after connecting" : "without connecting",
                        r.verdict().replyText());
            } else if (result instanceof DeliveryAttemptResult.Failed f) {
                LOG.warn(
                        "delivery to {} for {} (policy {}): tls={} verdict={} failed at {}: {}",
                        attempt.target,
                        attempt.policy.domain(),
                        mode,
                        attempt.tls,
                        attempt.verdict,
                        f.stage().name().toLowerCase(Locale.ROOT),
                        f.detail());
            }
        }
    }

    /** The reply that best tells what happened: the first delivered recipient's, else the first other one's. */
    private static SmtpReply decisiveReply(DeliveryAttemptResult.Completed c) {
        return c.recipients().stream()
                .filter(r -> r.status() == RecipientResult.Status.DELIVERED)
                .map(RecipientResult::reply)
                .findFirst()
                .orElseGet(() -> c.recipients().get(0).reply());
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
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    private static void closeQuietly(DotStuffedContent content) {
        try {
            content.close();
        } catch (IOException e) {
            // a read-only source: nothing was lost
        }
    }
}
