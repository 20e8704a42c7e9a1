package org.tlsrelay.smtp.delivery;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.log.RateLimitedLog;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.Spool;

/**
 * Messages whose last attempt could not be written to the spool (a full disk, an I/O error), kept in memory with what
 * the attempt achieved: a recipient an MX accepted is never sent to again, whatever the disk does, and the message
 * waits its retry time as usual instead of being retried at once (seen: 4,166 attempts per second, and a working MX
 * reached 770 times per message in 45 s). Every {@code retry} the envelope is written again; once that works the
 * spool's schedule takes over. When the message is due before the disk recovers, it is attempted from memory, for its
 * pending recipients only, and held again.
 *
 * <p>What stays unwritten is lost only if the relay stops before the disk recovers: the spool then still has the
 * envelope of before the attempt, and recipients delivered since may get a second copy after the restart. The engine
 * logs which messages that concerns.
 */
final class HeldMessages {
    private static final Logger LOG = LoggerFactory.getLogger(HeldMessages.class);

    private final Spool spool;
    private final Duration retry;
    private final Clock clock;
    private final ScheduledExecutorService timer;
    private final Executor io;
    private final RateLimitedLog errors;
    private final Consumer<QueuedMessage> attemptAgain;
    private final Runnable settled;
    private final Map<String, Held> held = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * One held message.
     *
     * @param message the claimed message with its envelope as the engine knows it ({@code after} the attempt)
     * @param complete every recipient is done: the message is to be removed, not deferred
     * @param since when it was first held
     */
    private record Held(QueuedMessage message, boolean complete, Instant since) {
        String id() {
            return message.id();
        }
    }

    /**
     * @param retry how often to try writing a held envelope again
     * @param timer where the retries are timed (never does I/O itself)
     * @param io where the spool writes run
     * @param attemptAgain takes a held message that is due again back into delivery, from memory
     * @param settled called when a held message leaves (written, or given up at shutdown): its place in hand is free
     */
    HeldMessages(
            Spool spool,
            Duration retry,
            Clock clock,
            ScheduledExecutorService timer,
            Executor io,
            RateLimitedLog errors,
            Consumer<QueuedMessage> attemptAgain,
            Runnable settled) {
        this.spool = spool;
        this.retry = retry;
        this.clock = clock;
        this.timer = timer;
        this.io = io;
        this.errors = errors;
        this.attemptAgain = attemptAgain;
        this.settled = settled;
    }

    /**
     * Keeps {@code after} (the envelope after the attempt: results, attempt count, next attempt) in memory, since
     * writing it failed with {@code why}; tries again every {@code retry}.
     *
     * @param complete every recipient is done and the message only had to be removed
     */
    void hold(MessageRun run, Envelope after, boolean complete, Exception why) {
        QueuedMessage m =
                new QueuedMessage(
                        after, run.message.state(), run.message.body(), run.message.size());
        Held h = new Held(m, complete, clock.instant());
        errors.error(
                RateLimitedLog.cause(why),
                "queue {}: cannot write the results of its attempt to the spool: {}; they are kept in memory "
                        + "(no recipient is sent to twice) and the message waits for its next attempt at {}",
                run.id(),
                why.getMessage(),
                complete ? "once written" : after.nextAttempt());
        if (closed) {
            lastTry(h);
            settled.run();
            return;
        }
        held.put(h.id(), h);
        arm(h, clock.instant());
    }

    /** Messages held now (tests, health). */
    int size() {
        return held.size();
    }

    private void arm(Held h, Instant now) {
        Instant at = now.plus(retry);
        if (!h.complete() && h.message().envelope().nextAttempt().isBefore(at)) {
            at = h.message().envelope().nextAttempt();
        }
        long delay = Math.max(1, Duration.between(now, at).toMillis());
        try {
            timer.schedule(() -> runIo(h), delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closing: close() writes what it can
        }
    }

    private void runIo(Held h) {
        try {
            io.execute(() -> tryAgain(h));
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    /** Writes the held envelope; if the disk still refuses and the message is due, attempts it from memory. */
    private void tryAgain(Held h) {
        if (closed || held.get(h.id()) != h) {
            return;
        }
        try (MDC.MDCCloseable q = MDC.putCloseable("queueId", h.id())) {
            write(h);
            if (held.remove(h.id(), h)) {
                LOG.info(
                        "queue {}: the results of its last attempt are written to the spool now (kept in memory since {})",
                        h.id(),
                        h.since());
                settled.run();
            }
        } catch (IOException | RuntimeException e) {
            Instant now = clock.instant();
            errors.error(
                    RateLimitedLog.cause(e),
                    "queue {}: still cannot write the results of its last attempt to the spool: {}; kept in memory",
                    h.id(),
                    Problems.describe(e));
            if (!h.complete() && !now.isBefore(h.message().envelope().nextAttempt())) {
                if (held.remove(h.id(), h)) {
                    attemptAgain.accept(h.message());
                }
            } else {
                arm(h, now);
            }
        }
    }

    /** True when written, false when the message is gone (an operator deleted it): either way it leaves. */
    private boolean write(Held h) throws IOException {
        return h.complete() ? spool.complete(h.id()) : spool.defer(h.message().envelope());
    }

    /** At shutdown: one last try for each held message; what still fails is named. */
    void close() {
        closed = true;
        List<Held> all = new ArrayList<>(held.values());
        held.clear();
        for (Held h : all) {
            lastTry(h);
            settled.run();
        }
    }

    private void lastTry(Held h) {
        try {
            write(h);
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "queue {}: the results of its last attempt could not be written ({}); recipients delivered since "
                            + "{} may get a second copy after the restart",
                    h.id(),
                    Problems.describe(e),
                    h.since());
        }
    }
}
