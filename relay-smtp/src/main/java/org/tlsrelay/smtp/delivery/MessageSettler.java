package org.tlsrelay.smtp.delivery;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.tlsrelay.core.dkim.OwnMailSigner;
import org.tlsrelay.core.io.Problems;
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
            Runnable settled) {
        this.spool = spool;
        this.settings = settings;
        this.dsnSigner = dsnSigner;
        this.metrics = metrics;
        this.clock = clock;
        this.settled = settled;
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
     * defer (or give back, at shutdown).
     */
    void settle(MessageRun run) {
        String id = run.id();
        try (MDC.MDCCloseable q = MDC.putCloseable("queueId", id)) {
            apply(run);
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "queue {}: cannot settle the message after its attempt: {}; it is retried",
                    id,
                    Problems.describe(e));
            giveBack(id);
        } finally {
            settled.run();
        }
    }

    /** Puts a claimed message back in the queue, due now. */
    void giveBack(String id) {
        try {
            spool.requeue(id);
        } catch (IOException | RuntimeException e) {
            LOG.error(
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
            spool.record(run.id(), delivered, List.of());
            run.recordedEarly.add(r.domain());
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "queue {}: cannot record deliveries to {}: {}",
                    run.id(),
                    r.domain(),
                    Problems.describe(e));
        }
    }

    /** The spool I/O that {@link Settlement} asks for, DSN first. */
    private void apply(MessageRun run) throws IOException {
        Envelope env = run.message.envelope();
        Instant now = clock.instant();
        List<DomainResult.Outcome> outcomes = new ArrayList<>();
        synchronized (run.results) {
            for (DomainResult r : run.results) {
                outcomes.addAll(r.outcomes());
            }
        }
        Settlement settlement =
                Settlement.of(env, outcomes, now, settings.retry(), run.interrupted);
        List<Dsn.Entry> dsn = settlement.dsn();
        boolean dsnQueued = dsn.isEmpty() || queueDsn(run, dsn, now);
        Settlement.Next next = settlement.next(dsnQueued, Set.copyOf(run.recordedEarly));
        if (next instanceof Settlement.Next.Complete c) {
            spool.complete(run.id());
            completed.incrementAndGet();
            metrics.left(c.how(), env.arrival());
            if (c.failed() > 0) {
                LOG.info(
                        "queue {}: done; {} recipient(s) failed{}",
                        run.id(),
                        c.failed(),
                        env.nullSender() ? " (null sender: no DSN)" : "");
            }
        } else if (next instanceof Settlement.Next.GiveBack g) {
            spool.record(run.id(), g.record(), List.of());
            spool.requeue(run.id());
        } else {
            Settlement.Next.Defer d = (Settlement.Next.Defer) next;
            spool.record(run.id(), d.record(), List.of());
            spool.defer(run.id(), d.until());
            deferred.incrementAndGet();
            metrics.deferred();
            LOG.info("queue {}: deferred until {}: {}", run.id(), d.until(), d.why());
        }
    }

    private boolean queueDsn(MessageRun run, List<Dsn.Entry> entries, Instant now) {
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
            LOG.info(
                    "queue {}: DSN ({}) for {} recipient(s) queued as {} to <{}>",
                    run.id(),
                    entries.get(0).action().label(),
                    entries.size(),
                    queued.id(),
                    env.sender());
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "queue {}: cannot queue the DSN to <{}>: {}; the recipients stay pending",
                    run.id(),
                    env.sender(),
                    Problems.describe(e));
            return false;
        }
    }
}
