package org.tlsrelay.smtp.delivery;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientResult;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.RetrySchedule;

/**
 * What the attempts of one message mean for it, once they are all done: a pure function of the recipients'
 * outcomes, the message's state, the time and the retry schedule. First the delivery status notification to send
 * ({@link #dsn()}); then, once the caller knows whether it was queued, what to record and whether the message is
 * done, deferred or given back ({@link #next}). A DSN comes before the record: a crash in between repeats the
 * attempt and the DSN, it never loses one.
 */
final class Settlement {
    private final Envelope envelope;
    private final List<DomainResult.Outcome> outcomes;
    private final Instant now;
    private final RetrySchedule retry;
    private final boolean interrupted;
    private final boolean cut;
    private final Optional<Instant> nextAttempt;
    private final boolean expired;
    private final List<Dsn.Entry> dsn;

    /** What happens to the message. */
    sealed interface Next {

        /** Recipients that failed for good in this attempt (bounced). */
        int failed();

        /** Every recipient is delivered or failed: the message leaves the spool, {@code how}. */
        record Complete(int failed, RelayMetrics.Disposition how) implements Next {}

        /** Recipients are pending: record the results and try again at {@code until}. */
        record Defer(List<RecipientResult> record, Instant until, int failed) implements Next {
            public Defer {
                record = List.copyOf(record);
            }
        }

        /** The engine stopped before every attempt ran: record the results and give the message back. */
        record GiveBack(List<RecipientResult> record, int failed) implements Next {
            public GiveBack {
                record = List.copyOf(record);
            }
        }
    }

    private Settlement(
            Envelope envelope,
            List<DomainResult.Outcome> outcomes,
            Instant now,
            RetrySchedule retry,
            boolean interrupted,
            boolean cut) {
        this.envelope = envelope;
        this.outcomes = List.copyOf(outcomes);
        this.now = now;
        this.retry = retry;
        this.interrupted = interrupted;
        this.cut = cut;
        boolean anyPending =
                this.outcomes.stream().anyMatch(o -> o.state() == RecipientStatus.State.PENDING);
        boolean ranItsCourse = !interrupted && !cut;
        this.nextAttempt =
                anyPending && ranItsCourse
                        ? retry.next(envelope.arrival(), envelope.attempts() + 1, now)
                        : Optional.empty();
        // RFC 5321 §4.5.4.1: past max-age, what is still pending fails
        this.expired = anyPending && ranItsCourse && nextAttempt.isEmpty();
        this.dsn = envelope.nullSender() ? List.of() : dsnEntries();
    }

    /**
     * @param outcomes every recipient outcome of the attempts, domain by domain
     * @param interrupted the engine stopped before some of the message's attempts ran
     */
    static Settlement of(
            Envelope envelope,
            List<DomainResult.Outcome> outcomes,
            Instant now,
            RetrySchedule retry,
            boolean interrupted) {
        return new Settlement(envelope, outcomes, now, retry, interrupted, false);
    }

    /**
     * @param cut the relay, stopping, cut some of the message's attempts after they had connected: they count as an
     *     attempt, and the message is due again at once (after the restart) rather than after the schedule's wait
     */
    static Settlement of(
            Envelope envelope,
            List<DomainResult.Outcome> outcomes,
            Instant now,
            RetrySchedule retry,
            boolean interrupted,
            boolean cut) {
        return new Settlement(envelope, outcomes, now, retry, interrupted, cut);
    }

    /**
     * The DSN to queue before anything is recorded: failures (also those pending past max-age) where NOTIFY asks
     * for them (RFC 3461 §4.1: by default), and "relayed" where NOTIFY=SUCCESS reached an MX that cannot report
     * success itself (RFC 3461 §5.2.2.1). Empty for a message from the null sender (RFC 5321 §4.5.5).
     */
    List<Dsn.Entry> dsn() {
        return dsn;
    }

    /**
     * What follows once the DSN was queued (or there was none to queue), or not: a failure whose DSN could not be
     * queued stays pending, so it is tried again and the DSN with it.
     *
     * @param recordedEarly the domains whose deliveries were already recorded while other domains were running
     */
    Next next(boolean dsnQueued, Set<String> recordedEarly) {
        List<RecipientResult> toRecord = new ArrayList<>();
        Set<String> done = new HashSet<>();
        int failed = 0;
        for (DomainResult.Outcome o : outcomes) {
            RecipientStatus.State state = finalState(o, dsnQueued);
            if (state == RecipientStatus.State.FAILED) {
                failed++;
            }
            if (state != RecipientStatus.State.PENDING) {
                done.add(o.recipient().address());
            }
            if (state == RecipientStatus.State.DELIVERED
                    && recordedEarly.contains(o.recipient().domain())) {
                continue;
            }
            toRecord.add(o.withState(state).toResult());
        }
        boolean remaining = envelope.pending().stream().anyMatch(r -> !done.contains(r.address()));
        if (!remaining) {
            boolean anyFailed =
                    failed > 0
                            || envelope.recipients().stream()
                                    .anyMatch(r -> r.state() == RecipientStatus.State.FAILED);
            RelayMetrics.Disposition how =
                    expired
                            ? RelayMetrics.Disposition.EXPIRED
                            : anyFailed
                                    ? RelayMetrics.Disposition.BOUNCED
                                    : RelayMetrics.Disposition.DELIVERED;
            return new Next.Complete(failed, how);
        }
        if (cut) {
            // the relay stopped and cut its attempt: due again at once after the restart
            return new Next.Defer(toRecord, now, failed);
        }
        if (interrupted) {
            return new Next.GiveBack(toRecord, failed);
        }
        Instant until =
                nextAttempt.orElseGet(() -> now.plus(retry.waitAfter(envelope.attempts() + 1)));
        return new Next.Defer(toRecord, until, failed);
    }

    /** What the log says became of a recipient in this attempt (Postfix's {@code status=}). */
    enum Status {
        SENT,
        DEFERRED,
        BOUNCED,
        /** Still pending at {@code max-age}: it fails now (RFC 5321 §4.5.4.1). */
        EXPIRED;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The status of {@code o} once the DSN was queued (or not), as {@link #next} records it. */
    Status status(DomainResult.Outcome o, boolean dsnQueued) {
        return switch (finalState(o, dsnQueued)) {
            case DELIVERED -> Status.SENT;
            case PENDING -> Status.DEFERRED;
            case FAILED ->
                    o.state() == RecipientStatus.State.PENDING ? Status.EXPIRED : Status.BOUNCED;
        };
    }

    /** Past max-age what is pending fails; a failure whose DSN could not be queued stays pending. */
    private RecipientStatus.State finalState(DomainResult.Outcome o, boolean dsnQueued) {
        RecipientStatus.State state = o.state();
        if (expired && state == RecipientStatus.State.PENDING) {
            state = RecipientStatus.State.FAILED;
        }
        if (state == RecipientStatus.State.FAILED && !dsnQueued) {
            state = RecipientStatus.State.PENDING; // tried again later, and the DSN with it
        }
        return state;
    }

    private List<Dsn.Entry> dsnEntries() {
        List<Dsn.Entry> entries = new ArrayList<>();
        for (DomainResult.Outcome o : outcomes) {
            Set<RecipientStatus.Notify> notify = o.recipient().dsnNotify();
            boolean failed =
                    o.state() == RecipientStatus.State.FAILED
                            || expired && o.state() == RecipientStatus.State.PENDING;
            if (failed && wantsFailure(notify)) {
                entries.add(
                        new Dsn.Entry(
                                o.recipient(),
                                Dsn.Action.FAILED,
                                o.reply(),
                                o.remoteMta(),
                                o.state() == RecipientStatus.State.PENDING));
            } else if (o.state() == RecipientStatus.State.DELIVERED
                    && !o.mxOfferedDsn()
                    && notify.contains(RecipientStatus.Notify.SUCCESS)) {
                // RFC 3461 §5.2.2.1: the next hop cannot report success, so this relay says it
                // relayed
                entries.add(
                        new Dsn.Entry(
                                o.recipient(),
                                Dsn.Action.RELAYED,
                                o.reply(),
                                o.remoteMta(),
                                false));
            }
        }
        return List.copyOf(entries);
    }

    /** RFC 3461 §4.1: without NOTIFY, failures are reported; NOTIFY=NEVER asks for nothing. */
    private static boolean wantsFailure(Set<RecipientStatus.Notify> notify) {
        return notify.isEmpty() || notify.contains(RecipientStatus.Notify.FAILURE);
    }
}
