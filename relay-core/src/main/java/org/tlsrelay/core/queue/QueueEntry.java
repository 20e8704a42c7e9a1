package org.tlsrelay.core.queue;

import java.util.Objects;

/**
 * One entry of the spool as {@code queue list} shows it: a message, or something damaged found in the spool's
 * directories, listed under its own file's id with what is wrong with it.
 */
public sealed interface QueueEntry {

    /** The id its files are named after. */
    String id();

    /** The directory it was found in. */
    QueueState state();

    /** A message whose envelope and content are in order. */
    record Message(QueuedMessage message) implements QueueEntry {
        public Message {
            Objects.requireNonNull(message, "message");
        }

        @Override
        public String id() {
            return message.id();
        }

        @Override
        public QueueState state() {
            return message.state();
        }
    }

    /**
     * Something the relay cannot deliver as it is: an envelope that cannot be read or names another message, a message
     * without its content, content without an envelope, a second envelope of one message, or a message set aside in
     * {@code corrupt/}.
     *
     * @param id the id its file is named after (never the id some damaged content claims)
     * @param error what is wrong, for the operator
     */
    record Damaged(String id, QueueState state, String error) implements QueueEntry {
        public Damaged {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(error, "error");
        }
    }
}
