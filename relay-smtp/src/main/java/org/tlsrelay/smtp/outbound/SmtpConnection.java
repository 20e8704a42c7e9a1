package org.tlsrelay.smtp.outbound;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.smtp.LastSmtpContent;
import io.netty.handler.codec.smtp.SmtpRequest;
import io.netty.handler.codec.smtp.SmtpRequestEncoder;
import io.netty.handler.codec.smtp.SmtpRequests;
import io.netty.handler.codec.smtp.SmtpResponse;
import io.netty.handler.codec.smtp.SmtpResponseDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import org.tlsrelay.core.config.Durations;
import org.tlsrelay.core.enforce.TlsObservation;

/**
 * One SMTP client connection: writes requests through Netty's SMTP codec and hands each reply to the request that
 * waits for it, in order (RFC 2920 §3.1: replies come in the order of the commands). Every wait has a time limit.
 * All methods run on the channel's event loop; nothing here blocks.
 *
 * <p>Pipeline, head to tail: [tls] encoder, chunked writer, reply decoder, this handler.
 */
final class SmtpConnection extends ChannelInboundHandlerAdapter {
    private static final String TLS = "tls";
    private static final String CHUNKED = "chunked";
    private static final String DECODER = "replies";
    // RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; accept more, but not without bound
    private static final int MAX_REPLY_LINE = 4096;
    private static final int MAX_REPLY_SIZE = 64 * 1024;

    private final Channel channel;
    private final long commandTimeoutMillis;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private static final String INJECTION =
            "the MX sent plain text after its 220 to STARTTLS (possible STARTTLS injection, RFC 3207 §5)";

    private Throwable failure;

    /** Between the 220 to STARTTLS and the end of the handshake, when nothing may be read as a reply. */
    private boolean tlsStarting;

    private boolean plaintextAfterStartTls;
    private boolean closingAnnounced;
    private boolean quitting;

    /** A request that waits for its reply. */
    private final class Pending {
        final String command;
        final CompletableFuture<SmtpReply> reply = new CompletableFuture<>();
        ScheduledFuture<?> timer;

        Pending(String command) {
            this.command = command;
        }

        void arm(long millis) {
            if (!reply.isDone()) {
                timer =
                        channel.eventLoop()
                                .schedule(
                                        () ->
                                                fail(
                                                        new SmtpSessionException(
                                                                "no reply to "
                                                                        + command
                                                                        + " within "
                                                                        + Durations.format(
                                                                                Duration.ofMillis(
                                                                                        millis)),
                                                                SmtpSessionException.Cause.TIMEOUT,
                                                                null)),
                                        millis,
                                        TimeUnit.MILLISECONDS);
            }
        }

        void disarm() {
            if (timer != null) {
                timer.cancel(false);
            }
        }
    }

    private Pending greeting;

    private SmtpConnection(Channel channel, Duration commandTimeout) {
        this.channel = channel;
        this.commandTimeoutMillis = commandTimeout.toMillis();
    }

    /** Sets up the pipeline of a new channel; the greeting is the first reply awaited. */
    static SmtpConnection install(Channel channel, Duration commandTimeout) {
        SmtpConnection c = new SmtpConnection(channel, commandTimeout);
        c.greeting = c.new Pending("the greeting");
        c.pending.add(c.greeting);
        ChannelPipeline p = channel.pipeline();
        p.addLast("encoder", new SmtpRequestEncoder());
        p.addLast(CHUNKED, new ChunkedWriteHandler());
        p.addLast(DECODER, newDecoder());
        p.addLast("session", c);
        return c;
    }

    private static SmtpResponseDecoder newDecoder() {
        return new SmtpResponseDecoder(MAX_REPLY_LINE, MAX_REPLY_SIZE);
    }

    Channel channel() {
        return channel;
    }

    /** The greeting (RFC 5321 §4.3.1); its timer starts when the connection is up. */
    CompletableFuture<SmtpReply> greeting() {
        // The greeting may have arrived before anyone asked for it: it is kept, not looked up in
        // the queue.
        greeting.arm(commandTimeoutMillis);
        return greeting.reply;
    }

    /** Sends one request and returns its reply. */
    CompletableFuture<SmtpReply> send(SmtpRequest request) {
        return sendAll(List.of(request)).get(0);
    }

    /** Sends a group of requests in one write (RFC 2920 §3.1) and returns their replies in order. */
    List<CompletableFuture<SmtpReply>> sendAll(List<SmtpRequest> requests) {
        List<CompletableFuture<SmtpReply>> replies = new ArrayList<>(requests.size());
        for (SmtpRequest request : requests) {
            Pending p = new Pending(label(request));
            replies.add(p.reply);
            if (failure != null) {
                p.reply.completeExceptionally(failure);
                continue;
            }
            pending.add(p);
            channel.write(request).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
            p.arm(commandTimeoutMillis);
        }
        channel.flush();
        return replies;
    }

    /**
     * Streams the content after a 354 and returns the reply to the final dot. The reply's timer starts once the last
     * octet is written; while writing, a stall (the MX stops reading) longer than the command timeout fails the
     * connection.
     */
    CompletableFuture<SmtpReply> sendContent(DotStuffedContent content, Runnable onWritten) {
        Pending p = new Pending("the end of data");
        if (failure != null) {
            p.reply.completeExceptionally(failure);
            return p.reply;
        }
        pending.add(p);
        Watchdog watchdog = new Watchdog(content);
        channel.writeAndFlush(content)
                .addListener(
                        f -> {
                            watchdog.stop();
                            if (f.isSuccess()) {
                                onWritten.run();
                                p.arm(commandTimeoutMillis);
                            } else {
                                fail(
                                        new SmtpSessionException(
                                                "sending the content failed: "
                                                        + TlsInspector.rootMessage(f.cause()),
                                                f.cause()));
                            }
                        });
        return p.reply;
    }

    /** Ends the content at once (RFC 2920 §3.1: a 354 after every RCPT was refused) and returns the dot's reply. */
    CompletableFuture<SmtpReply> sendEmptyContent() {
        Pending p = new Pending("the end of data");
        if (failure != null) {
            p.reply.completeExceptionally(failure);
            return p.reply;
        }
        pending.add(p);
        channel.writeAndFlush(LastSmtpContent.EMPTY_LAST_CONTENT)
                .addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        p.arm(commandTimeoutMillis);
        return p.reply;
    }

    /**
     * After a 220 to STARTTLS: starts TLS and returns what it showed (RFC 3207 §4). Anything the MX sent after its
     * 220 and before the handshake is plain text that an attacker may have injected (RFC 3207 §5); it is never read
     * as a reply: the connection is closed and the handshake counts as failed.
     */
    CompletableFuture<TlsObservation> startTls(TlsInspector inspector, String mxHost) {
        // A new decoder for the TLS stream (RFC 3207 §4.2: forget what came before). Removing the
        // old one hands any bytes it still holds to its next handler, this one, as a raw ByteBuf,
        // which marks the injection. (Not pipeline.replace(): that would forward those plain-text
        // bytes into the new decoder, ahead of the TLS data.)
        channel.pipeline().remove(DECODER);
        channel.pipeline().addAfter(CHUNKED, DECODER, newDecoder());
        tlsStarting = true;
        if (plaintextAfterStartTls || !pending.isEmpty()) {
            fail(new SmtpSessionException(INJECTION));
            return CompletableFuture.completedFuture(new TlsObservation.HandshakeFailed(INJECTION));
        }
        SSLEngine engine = inspector.newEngine(channel.alloc(), mxHost);
        SslHandler ssl = new SslHandler(engine);
        ssl.setHandshakeTimeoutMillis(commandTimeoutMillis);
        CompletableFuture<TlsObservation> observed = new CompletableFuture<>();
        ssl.handshakeFuture()
                .addListener(
                        f -> {
                            tlsStarting = false;
                            if (plaintextAfterStartTls) {
                                inspector.forget(engine);
                                observed.complete(new TlsObservation.HandshakeFailed(INJECTION));
                            } else if (f.isSuccess()) {
                                observed.complete(inspector.established(engine, mxHost));
                            } else {
                                inspector.forget(engine);
                                observed.complete(
                                        new TlsObservation.HandshakeFailed(
                                                TlsInspector.rootMessage(f.cause())));
                            }
                        });
        channel.pipeline().addFirst(TLS, ssl);
        return observed;
    }

    /** Whether the connection can carry another transaction. */
    boolean usable() {
        return failure == null
                && !closingAnnounced
                && !quitting
                && channel.isActive()
                && pending.isEmpty();
    }

    /** Sends QUIT and closes once it is answered (or at once if the connection is not usable). */
    void quit() {
        if (quitting) {
            return;
        }
        quitting = true;
        if (failure != null || !channel.isActive() || !pending.isEmpty()) {
            channel.close();
            return;
        }
        send(SmtpRequests.quit()).whenComplete((r, e) -> channel.close());
    }

    void close() {
        channel.close();
    }

    /** The relay closes the connection itself (stopping): what waits for a reply fails with {@code why}. */
    void cut(String why) {
        try {
            channel.eventLoop()
                    .execute(
                            () ->
                                    fail(
                                            new SmtpSessionException(
                                                    why, SmtpSessionException.Cause.CUT, null)));
        } catch (RejectedExecutionException e) {
            channel.close(); // the event loop is gone already
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (tlsStarting) {
            // Decoded from plain text the MX sent after its 220 to STARTTLS, or bytes the
            // plain-text decoder still held when it was replaced: either way not from the TLS
            // session, and never a reply (RFC 3207 §5).
            ReferenceCountUtil.release(msg);
            plaintextAfterStartTls = true;
            fail(new SmtpSessionException(INJECTION));
            return;
        }
        if (msg instanceof SmtpResponse response) {
            SmtpReply reply = SmtpReply.of(response);
            Pending p = pending.poll();
            if (p == null) {
                fail(new SmtpSessionException("reply without a command: " + reply));
                return;
            }
            p.disarm();
            if (reply.code() == 421) {
                // RFC 5321 §3.8: the MX is closing the transmission channel
                closingAnnounced = true;
            }
            p.reply.complete(reply);
        } else if (msg instanceof ByteBuf) {
            // bytes the plain-text decoder still held when startTls() replaced it
            plaintextAfterStartTls = true;
            ReferenceCountUtil.release(msg);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail(
                new SmtpSessionException(
                        "the MX closed the connection", new ClosedChannelException()));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(new SmtpSessionException(TlsInspector.rootMessage(cause), cause));
    }

    /** Fails every waiting request with the first cause and closes the connection. */
    void fail(Throwable cause) {
        if (failure == null) {
            failure = cause;
        }
        Pending p;
        while ((p = pending.poll()) != null) {
            p.disarm();
            p.reply.completeExceptionally(failure);
        }
        channel.close();
    }

    private static String label(SmtpRequest request) {
        return request.command().name().toString();
    }

    /** Fails the connection when content stops flowing for a command timeout (the MX stopped reading). */
    private final class Watchdog implements Runnable {
        private final DotStuffedContent content;
        private final ScheduledFuture<?> task;
        private long lastProgress = -1;

        Watchdog(DotStuffedContent content) {
            this.content = content;
            this.task =
                    channel.eventLoop()
                            .scheduleAtFixedRate(
                                    this,
                                    commandTimeoutMillis,
                                    commandTimeoutMillis,
                                    TimeUnit.MILLISECONDS);
        }

        @Override
        public void run() {
            long now = content.progress();
            if (now == lastProgress) {
                stop();
                fail(
                        new SmtpSessionException(
                                "the MX stopped reading the content for "
                                        + Duration.ofMillis(commandTimeoutMillis)));
            }
            lastProgress = now;
        }

        void stop() {
            task.cancel(false);
        }
    }
}
