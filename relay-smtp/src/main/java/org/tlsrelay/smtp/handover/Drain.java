package org.tlsrelay.smtp.handover;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueueEntry;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.SpoolDrain;

/**
 * Hands every queued message of a spool over to another relay, one at a time, oldest first, and removes each here
 * only once the other relay has answered 250 for it and that answer is recorded on disk ({@link SpoolDrain}). A
 * message the session cannot carry as it is ({@link HandOverRules}) or that the other relay refuses stays here, and
 * so do held and damaged ones; a connection that breaks is opened again once, for the next message.
 */
public final class Drain {
    private final HandOverTarget target;
    private final Consumer<Outcome> progress;
    private final Clock clock;

    /**
     * What a drain did.
     *
     * @param handedOver messages removed here, every pending recipient taken by the other relay
     * @param left messages still here: refused (wholly or partly), not carried, held or damaged
     * @param failed messages still here because the connection broke during their transaction
     * @param stopped why the drain stopped before the end (the other relay became unreachable, a hand-over could not
     *     be recorded); empty when it went through
     */
    public record Summary(int handedOver, int left, int failed, String stopped) {
        public Summary {
            Objects.requireNonNull(stopped, "stopped");
        }
    }

    public Drain(HandOverTarget target, Consumer<Outcome> progress, Clock clock) {
        this.target = target;
        this.progress = progress;
        this.clock = clock;
    }

    /**
     * Drains {@code spool}.
     *
     * @throws HandOverException when the first connection cannot be made or used (nothing was handed over)
     * @throws IOException when the spool cannot be read
     */
    public Summary run(SpoolDrain spool) throws HandOverException, IOException {
        String user = SpoolDrain.operator();
        List<QueuedMessage> todo = spool.waiting();
        List<QueueEntry> alone = spool.leftAlone();
        HandOverLog.start(user, todo.size(), alone.size(), target);
        Counts n = new Counts();
        String stopped = "";
        if (!todo.isEmpty()) {
            HandOverSession session = HandOverSession.open(target);
            HandOverLog.connected(session.facts(), target);
            try {
                for (int i = 0; i < todo.size(); i++) {
                    Step step = handOver(spool, session, todo.get(i).id(), user, n);
                    if (step instanceof Step.Stop s) {
                        stopped = s.why();
                        n.left += todo.size() - i - 1; // not tried: still here
                        break;
                    }
                    if (step instanceof Step.Reconnect && i + 1 < todo.size()) {
                        session.close();
                        try {
                            session = HandOverSession.open(target);
                        } catch (HandOverException e) {
                            stopped = e.getMessage();
                            n.left += todo.size() - i - 1;
                            break;
                        }
                    }
                }
            } finally {
                session.close();
            }
        }
        for (QueueEntry e : alone) {
            String reason =
                    e instanceof QueueEntry.Damaged d
                            ? "damaged (" + d.error() + ")"
                            : "on hold: release it (tlsrelay queue release "
                                    + e.id()
                                    + ") and drain again, or delete it";
            left(e.id(), reason, n);
        }
        Summary sum = new Summary(n.handedOver, n.left, n.failed, stopped);
        HandOverLog.done(user, sum);
        return sum;
    }

    /** What the loop does after a message. */
    private sealed interface Step {
        record Next() implements Step {}

        /** The connection broke: open another for the next message. */
        record Reconnect() implements Step {}

        /** Stop draining: going on could do harm or cannot work. */
        record Stop(String why) implements Step {}
    }

    private static final Step NEXT = new Step.Next();

    private Step handOver(
            SpoolDrain spool, HandOverSession session, String id, String user, Counts n)
            throws IOException {
        // read again: an operator may have held or deleted it since the listing
        Optional<QueuedMessage> now = spool.reread(id);
        if (now.isEmpty()) {
            return NEXT;
        }
        QueuedMessage m = now.get();
        if (m.state() == QueueState.HOLD || m.state() == QueueState.CORRUPT) {
            left(id, "put on hold or set aside while the drain ran", n);
            return NEXT;
        }
        Envelope env = m.envelope();
        if (env.pending().isEmpty()) {
            left(id, "no recipient is pending: start the relay once to finish it", n);
            return NEXT;
        }
        SessionFacts facts = session.facts();
        Optional<String> refusal = HandOverRules.refusal(env, m.size(), facts);
        if (refusal.isPresent()) {
            left(id, refusal.get(), n);
            return NEXT;
        }
        Transfer t;
        try {
            t = session.send(env, m.body(), m.size());
        } catch (IOException e) {
            left(id, "its content cannot be read here: " + Problems.describe(e), n);
            return NEXT;
        }
        Instant when = clock.instant();
        if (t instanceof Transfer.Accepted a) {
            String queuedAs = HandOverLog.queuedAs(a.reply());
            SpoolDrain.Result r;
            try {
                // at once: until this is on disk, a crash means a second copy (RFC 1047)
                r = spool.handedOver(id, a.recipients(), target.label(), a.reply(), when);
            } catch (IOException e) {
                HandOverLog.notRecorded(id, queuedAs, Problems.describe(e));
                n.failed++;
                progress.accept(
                        new Outcome.Failed(
                                id,
                                "taken by the other relay as "
                                        + queuedAs
                                        + " but not recorded here: "
                                        + Problems.describe(e)));
                return new Step.Stop(
                        "the hand-over of "
                                + id
                                + " could not be recorded: "
                                + Problems.describe(e)
                                + "; delete it here (tlsrelay queue delete "
                                + id
                                + "), the other relay has it as "
                                + queuedAs);
            }
            Map<String, RecipientStatus> byAddress = new HashMap<>();
            env.pending().forEach(rs -> byAddress.put(rs.address(), rs));
            for (String rcpt : a.recipients()) {
                HandOverLog.recipient(
                        id,
                        env.arrival(),
                        when,
                        byAddress.get(rcpt),
                        facts,
                        "handed-over",
                        a.reply());
            }
            for (Transfer.Refusal x : a.refused()) {
                HandOverLog.recipient(
                        id,
                        env.arrival(),
                        when,
                        byAddress.get(x.address()),
                        facts,
                        "left",
                        x.reply());
            }
            HandOverLog.handedOver(id, facts, queuedAs, user, a.recipients().size());
            if (r == SpoolDrain.Result.REMOVED) {
                HandOverLog.removed(id);
                n.handedOver++;
            } else {
                n.left++;
                HandOverLog.left(
                        id, a.refused().size() + " recipient(s) refused by " + facts.relay());
            }
            progress.accept(
                    new Outcome.HandedOver(
                            id,
                            queuedAs,
                            a.recipients().size(),
                            r == SpoolDrain.Result.REMOVED ? 0 : a.refused().size()));
            return NEXT;
        }
        if (t instanceof Transfer.Refused x) {
            Map<String, RecipientStatus> byAddress = new HashMap<>();
            env.pending().forEach(rs -> byAddress.put(rs.address(), rs));
            for (Transfer.Refusal rr : x.refused()) {
                HandOverLog.recipient(
                        id,
                        env.arrival(),
                        when,
                        byAddress.get(rr.address()),
                        facts,
                        "left",
                        rr.reply());
            }
            left(id, facts.relay() + " refused it at " + x.stage() + ": " + x.reply(), n);
            return NEXT;
        }
        Transfer.Broken b = (Transfer.Broken) t;
        String why =
                b.why()
                        + (b.afterEndOfData()
                                ? " (after the end of data: it may have been taken all the same,"
                                        + " and the next drain sends it again, RFC 1047)"
                                : "");
        HandOverLog.failed(id, why);
        n.failed++;
        progress.accept(new Outcome.Failed(id, why));
        return new Step.Reconnect();
    }

    private void left(String id, String reason, Counts n) {
        HandOverLog.left(id, reason);
        n.left++;
        progress.accept(new Outcome.Left(id, reason));
    }

    private static final class Counts {
        int handedOver;
        int left;
        int failed;
    }
}
