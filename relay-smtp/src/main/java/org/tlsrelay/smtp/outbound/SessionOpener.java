package org.tlsrelay.smtp.outbound;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.smtp.DefaultSmtpRequest;
import io.netty.handler.codec.smtp.SmtpCommand;
import io.netty.handler.codec.smtp.SmtpRequests;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import org.tlsrelay.core.enforce.TlsObservation;

/**
 * Brings a new connection up to the point where MAIL FROM could be sent, observing and never deciding: connect, read
 * the greeting (RFC 5321 §3.1), EHLO or HELO (§3.2), STARTTLS when offered (RFC 3207) with the handshake's findings
 * written down by the {@link TlsInspector}, and EHLO again over TLS (RFC 3207 §4.2). What to make of the session is
 * {@link org.tlsrelay.core.enforce.Enforcer}'s call.
 */
final class SessionOpener {
    private static final SmtpCommand STARTTLS = SmtpCommand.valueOf("STARTTLS");

    private final Bootstrap bootstrap;
    private final TlsInspector tls;
    private final String heloName;

    SessionOpener(Bootstrap bootstrap, TlsInspector tls, String heloName) {
        this.bootstrap = bootstrap;
        this.tls = tls;
        this.heloName = heloName;
    }

    /**
     * Connects and brings the session up to the point where MAIL FROM could be sent. The connection holds {@code
     * room} until it closes.
     */
    CompletableFuture<Session> open(
            Attempt attempt, boolean clearOnly, ConnectionBudget.Permit room) {
        attempt.stage = Stage.CONNECT;
        CompletableFuture<SmtpConnection> connected = new CompletableFuture<>();
        ChannelFuture cf;
        try {
            cf = bootstrap.connect(attempt.target.socketAddress());
        } catch (RuntimeException e) {
            room.release();
            throw e;
        }
        // the room is given back after whatever closed the connection has run to its end, so that
        // what the close says about the host (a timeout: its circuit breaker opens) counts first
        cf.channel().closeFuture().addListener(f -> later(cf.channel(), room::release));
        cf.addListener(
                f -> {
                    if (f.isSuccess()) {
                        connected.complete(cf.channel().pipeline().get(SmtpConnection.class));
                    } else {
                        room.release(); // a channel that never registered never reports its close
                        connected.completeExceptionally(
                                new SmtpSessionException(
                                        "cannot connect: " + TlsInspector.rootMessage(f.cause()),
                                        f.cause() instanceof ConnectTimeoutException
                                                ? SmtpSessionException.Cause.TIMEOUT
                                                : SmtpSessionException.Cause.OTHER,
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

    private static void later(Channel ch, Runnable r) {
        try {
            ch.eventLoop().execute(r);
        } catch (RejectedExecutionException e) {
            r.run(); // the event loop is gone
        }
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
        return c.send(SmtpRequests.ehlo(heloName))
                .thenCompose(
                        reply -> {
                            if (reply.code() == 250) {
                                return CompletableFuture.completedFuture(Capabilities.parse(reply));
                            }
                            if (reply.code() == 500 || reply.code() == 502) {
                                return c.send(SmtpRequests.helo(heloName))
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
}
