package org.tlsrelay.smtp.delivery;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.tlsrelay.core.dkim.OwnMailSigner;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.log.RateLimitedLog;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientResult;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;

/**
 * What the engine does with a message once its attempts are done, on a worker thread: asks {@link Settlement} what
 * they mean, queues the DSN, records the recipients' results, then completes, defers or gives the message back. While
 * other domains of the message are still running, the deliveries of a finished one are recorded at once, so a crash
 * never sends them twice.
 */
final class MessageSettler {
    private static final Logger LOG = LoggerFactory.getLogger(MessageSettler.class);

    private final Spool spool;
    private final EngineSettings settings;
    private final OwnMailSigner dsnSigner;
    private final RelayMetrics metrics;
    private final Clock clock;
    private final Runnable settled;
    private final RateLimitedLog errors;
    private HeldMessages held;

    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong deferred = new AtomicLong();
    private final AtomicLong dsns = new AtomicLong();

    /** @param settled called once per message after it is settled (or given back): the engine's slot is free */
    MessageSettler(
            Spool spool,
            EngineSettings settings,
            OwnMailSigner dsnSigner,
            RelayMetrics metrics,
            Clock clock,
            RateLimitedLog errors,
            Runnable settled) {
        this.spool = spool;
        this.settings = settings;
        this.dsnSigner = dsnSigner;
        this.metrics = metrics;
        this.clock = clock;
        this.settled = settled;
        this.errors = errors;
    }

    /** Where results go that the spool cannot take now; set once, before the first message. */
    void holdUnwrittenIn(HeldMessages h) {
        this.held = h;
    }

    long completed() {
        return completed.get();
    }

    long deferred() {
        return deferred.get();
    }

    long dsns() {
        return dsns.get();
    }

    /** One attempt of the message is done: the last one settles the message. */
    void finished(DomainTask t, DomainResult r) {
        MessageRun run = t.run();
        run.results.add(r);
        if (run.outstanding.decrementAndGet() > 0) {
            recordDeliveredEarly(run, r);
            return;
        }
        settle(run);
    }

    /** A task dropped at shutdown before it started. */
    void dropped(DomainTask t) {
        MessageRun run = t.run();
        run.interrupted = true;
        if (run.outstanding.decrementAndGet() == 0) {
            settle(run);
        }
    }

    /**
     * All attempts of the message are done: expire what ran out of time, queue the DSN, record, then complete or
     * defer (or give back, at shutdown). What cannot be written is held in memory ({@link HeldMessages}), never
     * retried at once.
     */
    void settle(MessageRun run) {
        String id = run.id();
        boolean done = true;
        try (MDC.MDCCloseable q = MDC.putCloseable("queueId", id)) {
            done = apply(run);
        } catch (RuntimeException e) {
            // not expected: keep what is known (no delivered recipient is sent to again) and try
            // again on the schedule, never at once
            LOG.error("queue {}: cannot settle the message after its attempt", id, e);
            held.hold(run, fallback(run), false, e);
            done = false;
        } finally {
            if (done) {
                settled.run();
            }
        }
    }

    /** Puts a claimed message back in the queue, due now. */
    void giveBack(String id) {
        try {
            spool.requeue(id);
        } catch (IOException | RuntimeException e) {
            errors.error(
                    RateLimitedLog.cause(e),
                    "queue {}: cannot give the message back to the queue: {}; it is retried at the next start",
                    id,
                    Problems.describe(e));
        }
    }

    /** Another domain of the message is still running: persist what this one delivered, so it is never sent twice. */
    private void recordDeliveredEarly(MessageRun run, DomainResult r) {
        List<RecipientResult> delivered =
                r.outcomes().stream()
                        .filter(o -> o.state() == RecipientStatus.State.DELIVERED)
                        .map(DomainResult.Outcome::toResult)
                        .toList();
        if (delivered.isEmpty()) {
            return;
        }
        try {
            spool.record(run.id(), delivered, List.of()).ifPresent(run::written);
            run.recordedEarly.add(r.domain());
        } catch (IOException | RuntimeException e) {
            // they are recorded with the rest of the message once its last domain is done
            errors.error(
                    RateLimitedLog.cause(e),
                    "queue {}: cannot record deliveries to {} yet: {}",
                    run.id(),
                    r.domain(),
                    Problems.describe(e));
        }
    }

    /**
     * The spool I/O that {@link Settlement} asks for, DSN first. Returns whether the message is settled; false when
     * its results are held in memory because the spool could not take them.
     */
    private boolean apply(MessageRun run) {
        Envelope env = run.current();
        Instant now = clock.instant();
        List<DomainResult.Outcome> outcomes = outcomes(run);
        boolean notStarted = false;
        boolean cut = false;
        List<String> notes = new ArrayList<>();
        synchronized (run.results) {
            for (DomainResult r : run.results) {
                switch (r.interruption()) {
                    case NOT_STARTED -> notStarted = true;
                    case CUT -> cut = true;
                    case CUT_AFTER_DATA -> {
                        cut = true;
                        notes.add(possibleDuplicate(run, r, now));
                    }
                    case NONE -> {}
                }
            }
        }
        Settlement settlement =
                Settlement.of(
                        env, outcomes, now, settings.retry(), run.interrupted || notStarted, cut);
        List<Dsn.Entry> dsn = settlement.dsn();
        Optional<String> dsnId = dsn.isEmpty() ? Optional.empty() : queueDsn(run, dsn, now);
        boolean dsnQueued = dsn.isEmpty() || dsnId.isPresent();
        Settlement.Next next = settlement.next(dsnQueued, Set.copyOf(run.recordedEarly));
        for (DomainResult.Outcome o : outcomes) {
            DeliveryLog.recipient(run.id(), env.arrival(), o, settlement.status(o, dsnQueued));
        }
        dsnId.ifPresent(
                id ->
                        DeliveryLog.dsnQueued(
                                run.id(),
                                id,
                                dsn.stream().anyMatch(e -> e.action() == Dsn.Action.FAILED),
                                dsn.size()));
        if (next.failed() > 0 && env.nullSender()) {
            DeliveryLog.noDsnForNullSender(run.id(), next.failed());
        }
        if (next instanceof Settlement.Next.Complete c) {
            completed.incrementAndGet();
            metrics.left(c.how(), env.arrival());
            try {
                spool.complete(run.id());
            } catch (IOException e) {
                held.hold(run, env, true, e);
                return false;
            }
            DeliveryLog.removed(run.id());
        } else if (next instanceof Settlement.Next.GiveBack g) {
            try {
                spool.record(run.id(), g.record(), List.of());
                spool.requeue(run.id());
            } catch (IOException e) {
                LOG.error(
                        "queue {}: cannot write the results of its attempt at shutdown: {}; recipients it delivered to "
                                + "may get a second copy after the restart",
                        run.id(),
                        Problems.describe(e));
            }
        } else {
            Settlement.Next.Defer d = (Settlement.Next.Defer) next;
            Envelope after =
                    env.withResults(d.record(), now).withNotes(notes).deferredUntil(d.until());
            deferred.incrementAndGet();
            metrics.deferred();
            try {
                spool.defer(after);
            } catch (IOException e) {
                held.hold(run, after, false, e);
                return false;
            }
            DeliveryLog.deferred(run.id(), d.until());
        }
        return true;
    }

    /**
     * RFC 1047: the relay cut the connection after the end of data, before the MX's reply: the MX may have taken
     * the message, and sending it again may deliver it twice. Logged, and noted in the envelope.
     */
    private static String possibleDuplicate(MessageRun run, DomainResult r, Instant now) {
        String recipients =
                r.outcomes().stream()
                        .filter(o -> o.state() == RecipientStatus.State.PENDING)
                        .map(o -> "<" + o.recipient().address() + ">")
                        .reduce((a, b) -> a + ", " + b)
                        .orElse("");
        LOG.warn(
                "queue {}: possible duplicate: the relay, stopping, cut its delivery to {} for {} after the end of "
                        + "data, before the MX's reply; the MX may have the message. It is sent again at once after "
                        + "the restart",
                run.id(),
                r.domain(),
                recipients);
        return "possible duplicate: delivery to "
                + r.domain()
                + " cut by the relay's stop after the end of data at "
                + now;
    }

    private static List<DomainResult.Outcome> outcomes(MessageRun run) {
        List<DomainResult.Outcome> outcomes = new ArrayList<>();
        synchronized (run.results) {
            for (DomainResult r : run.results) {
                outcomes.addAll(r.outcomes());
            }
        }
        return outcomes;
    }

    /**
     * What to hold when settling broke unexpectedly: the deliveries applied (never sent twice), the rest pending,
     * one attempt more, next due after the schedule's wait.
     */
    private Envelope fallback(MessageRun run) {
        Envelope env = run.current();
        Instant now = clock.instant();
        List<RecipientResult> delivered =
                outcomes(run).stream()
                        .filter(o -> o.state() == RecipientStatus.State.DELIVERED)
                        .filter(o -> !run.recordedEarly.contains(o.recipient().domain()))
                        .map(DomainResult.Outcome::toResult)
                        .toList();
        return env.withResults(delivered, now)
                .deferredUntil(now.plus(settings.retry().waitAfter(env.attempts() + 1)));
    }

    /** Queues the DSN; its queue id, empty when it could not be queued. */
    private Optional<String> queueDsn(MessageRun run, List<Dsn.Entry> entries, Instant now) {
        Envelope env = run.message.envelope();
        try {
            byte[] dsn =
                    dsnSigner.sign(
                            Dsn.build(
                                    settings.reportingMta(),
                                    env,
                                    run.message.body(),
                                    entries,
                                    now));
            QueuedMessage queued =
                    spool.enqueue("", List.of(env.sender()), new ByteArrayInputStream(dsn));
            dsns.incrementAndGet();
            return Optional.of(queued.id());
        } catch (IOException | RuntimeException e) {
            errors.error(
                    RateLimitedLog.cause(e),
                    "{}: cannot queue the DSN to <{}>: {}; the recipients stay pending",
                    run.id(),
                    env.sender(),
                    Problems.describe(e));
            return Optional.empty();
        }
    }
}
