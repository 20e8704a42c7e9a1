package org.tlsrelay.smtp.inbound;

import java.util.Optional;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;

/**
 * A command refused: the SMTP reply to send, and the metrics reason when the refusal is one the relay counts
 * ({@code tlsrelay_inbound_rejected_total}).
 */
record Refusal(String reply, Optional<Rejection> counted) {

    /** A refusal that is not counted (a syntax error, an unsupported parameter). */
    static Refusal of(String reply) {
        return new Refusal(reply, Optional.empty());
    }

    /** A refusal counted under {@code reason}. */
    static Refusal counted(Rejection reason, String reply) {
        return new Refusal(reply, Optional.of(reason));
    }
}
