package org.tlsrelay.smtp.delivery;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;

/** A message the engine claimed from the spool, and what its attempts (one per recipient domain) produced so far. */
final class MessageRun {
    final QueuedMessage message;

    /** The message is at its {@code max-age}: this is its last attempt (RFC 8461 §5.1: re-check the policy). */
    final boolean lastChance;

    /** Attempts not finished yet; the last one to finish settles the message. */
    final AtomicInteger outstanding;

    final List<DomainResult> results = Collections.synchronizedList(new ArrayList<>());

    /** Domains whose deliveries were recorded as soon as their attempt ended. */
    final Set<String> recordedEarly = Collections.synchronizedSet(new HashSet<>());

    /** The engine stopped before some of the attempts started. */
    volatile boolean interrupted;

    /** The envelope as the spool holds it now: the claimed one, with the deliveries recorded early applied. */
    private Envelope current;

    MessageRun(QueuedMessage message, boolean lastChance, int domains) {
        this.message = message;
        this.lastChance = lastChance;
        this.outstanding = new AtomicInteger(domains);
        this.current = message.envelope();
    }

    String id() {
        return message.id();
    }

    synchronized Envelope current() {
        return current;
    }

    /** The spool now holds {@code written} (deliveries recorded while other domains still ran). */
    synchronized void written(Envelope written) {
        current = written;
    }
}
