package org.tlsrelay.smtp.outbound;

import io.netty.handler.codec.smtp.DefaultSmtpRequest;
import io.netty.handler.codec.smtp.SmtpCommand;
import io.netty.handler.codec.smtp.SmtpRequest;
import io.netty.handler.codec.smtp.SmtpRequests;
import io.netty.util.AsciiString;
import java.io.IOException;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.tlsrelay.core.enforce.TlsObservation;
import org.tlsrelay.core.enforce.Verdict;

/**
 * The mail transaction (RFC 5321 §3.3) on a session {@link org.tlsrelay.core.enforce.Enforcer} allowed: MAIL FROM
 * with the parameters the MX offers (SIZE, 8BITMIME, SMTPUTF8, DSN; REQUIRETLS when the verdict says so), RCPT TO
 * per recipient and DATA, as one command group under PIPELINING (RFC 2920 §3.1), then the content streamed,
 * CRLF-normalised and dot-stuffed (§4.5.2). Each recipient's reply is kept as a value. It can only be started with a
 * {@link Verdict.Deliver}.
 */
final class MailTransaction {
    private final Consumer<Session> release;
    private final Clock clock;

    /**
     * @param release takes a session back after a transaction: to the pool, or QUIT
     * @param clock when the transaction started, for the result (the log's transfer time)
     */
    MailTransaction(Consumer<Session> release, Clock clock) {
        this.release = release;
        this.clock = clock;
    }

    /** The replies gathered for one envelope: MAIL, each RCPT, DATA. */
    private static final class EnvelopeReplies {
        final List<OutboundRecipient> recipients;
        final List<SmtpReply> rcpt = new ArrayList<>();
        SmtpReply mail;
        SmtpReply data;

        EnvelopeReplies(List<OutboundRecipient> recipients) {
            this.recipients = recipients;
        }

        boolean anyAccepted() {
            return mail.isPositive() && rcpt.stream().anyMatch(SmtpReply::isPositive);
        }

        /** Each recipient's result: the MAIL reply if it failed, else the RCPT reply if refused, else {@code last}. */
        List<RecipientReply> results(SmtpReply last) {
            List<RecipientReply> out = new ArrayList<>(recipients.size());
            for (int i = 0; i < recipients.size(); i++) {
                SmtpReply r =
                        !mail.isPositive() ? mail : !rcpt.get(i).isPositive() ? rcpt.get(i) : last;
                out.add(RecipientReply.of(recipients.get(i), r));
            }
            return out;
        }
    }

    /**
     * One mail transaction on {@code s}, which {@code verdict} allows; {@code rset} first on a reused connection. The
     * session goes back to the client ({@code release}) when it can carry another message.
     */
    CompletableFuture<DeliveryAttemptResult> run(
            Session s,
            OutboundMessage message,
            Attempt attempt,
            Verdict.Deliver verdict,
            boolean rset) {
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
        Instant started = clock.instant();
        long size;
        ReadableByteChannel source;
        try {
            Optional<SmtpReply> refusal = localRefusal(message, caps);
            if (refusal.isPresent()) {
                release.accept(s);
                List<RecipientReply> all =
                        message.recipients().stream()
                                .map(r -> RecipientReply.of(r, refusal.get()))
                                .toList();
                return CompletableFuture.completedFuture(
                        new DeliveryAttemptResult.Completed(attempt.target, summary, all, started));
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
        EnvelopeReplies env = new EnvelopeReplies(message.recipients());
        List<SmtpRequest> rcpts = message.recipients().stream().map(r -> rcpt(r, caps)).toList();
        SmtpRequest mail = mail(message, caps, size, verdict.requireTls());
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
                                    release.accept(s);
                                    return new DeliveryAttemptResult.Completed(
                                            attempt.target, summary, results, started);
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
            EnvelopeReplies env,
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
            EnvelopeReplies env,
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
    private CompletableFuture<List<RecipientReply>> data(
            SmtpConnection c, EnvelopeReplies env, DotStuffedContent content, Attempt attempt) {
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

    /**
     * A message this MX cannot take, decided before MAIL FROM: the protocol's call, after {@code Enforcer} judged the
     * TLS. SMTPUTF8 (RFC 6531 §3.2, §3.4): a message that needs it goes to no MX without it (a relay does not
     * downgrade; the address as written is what the client asked for), so its recipients bounce; SIZE (RFC 1870 §6).
     */
    private static Optional<SmtpReply> localRefusal(OutboundMessage message, Capabilities caps)
            throws IOException {
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

    private static SmtpRequest mail(
            OutboundMessage message, Capabilities caps, long size, boolean requireTls) {
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
        if (requireTls) {
            params.add("REQUIRETLS"); // RFC 8689 §4.2.1: Enforcer passes it on to an MX that
            // advertised it
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

    private static void closeQuietly(DotStuffedContent content) {
        try {
            content.close();
        } catch (IOException e) {
            // a read-only source: nothing was lost
        }
    }
}
