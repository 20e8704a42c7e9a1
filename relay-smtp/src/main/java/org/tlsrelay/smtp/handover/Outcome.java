package org.tlsrelay.smtp.handover;

import java.util.Objects;

/** What the drain did with one message: shown as one line of progress. */
public sealed interface Outcome {
    String id();

    /**
     * The other relay took it.
     *
     * @param queuedAs its queue id from the 250 reply (the whole reply when it names none)
     * @param recipients how many recipients it took
     * @param stillHere recipients it refused, still pending here (then the message stays)
     */
    record HandedOver(String id, String queuedAs, int recipients, int stillHere)
            implements Outcome {
        public HandedOver {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(queuedAs, "queuedAs");
        }
    }

    /** It stays here: refused by the other relay, not carried by the session, held or damaged. */
    record Left(String id, String reason) implements Outcome {
        public Left {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** It stays here because the connection broke during its transaction. */
    record Failed(String id, String reason) implements Outcome {
        public Failed {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(reason, "reason");
        }
    }
}
