package org.tlsrelay.core.queue;

import java.util.Locale;
import java.util.Optional;

/** The state of a queued message, which is the directory its envelope is in. */
public enum QueueState {
    /** Accepted and due now (new messages, and messages that were being delivered when the relay stopped). */
    INCOMING,
    /** Claimed by a delivery worker of the running relay. */
    ACTIVE,
    /** Waiting for its next attempt. */
    DEFERRED,
    /** Held by the operator: never scheduled until released. */
    HOLD,
    /** The envelope could not be read; kept for the operator, never touched by the relay. */
    CORRUPT;

    /** The directory name under the spool root, e.g. {@code deferred}. */
    public String dirName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** How {@code queue list} shows it, the same as the directory name. */
    public String label() {
        return dirName();
    }

    public static Optional<QueueState> ofLabel(String label) {
        for (QueueState s : values()) {
            if (s.label().equals(label)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}
