package org.tlsrelay.smtp.outbound;

import java.time.Instant;
import java.util.List;
import org.tlsrelay.core.enforce.Verdict;

/**
 * How one attempt at one MX address ended. Only {@link Completed} means a transaction took place; its recipients
 * each have their own result. {@link Refused} and {@link Failed} mean nothing was sent: try the next address or MX.
 */
public sealed interface DeliveryAttemptResult {

    DeliveryTarget target();

    /**
     * The MX transaction ran: each recipient was delivered, deferred or failed by the MX (or by a local check such as
     * SMTPUTF8 or SIZE, with a reply made up here).
     *
     * @param transactionStarted when MAIL FROM was about to go out (or the local check refused the message): what
     *     came before was connection set-up, what came after the transfer
     */
    record Completed(
            DeliveryTarget target,
            SessionSummary session,
            List<RecipientReply> recipients,
            Instant transactionStarted)
            implements DeliveryAttemptResult {
        public Completed {
            recipients = List.copyOf(recipients);
        }

        public long count(RecipientReply.Status status) {
            return recipients.stream().filter(r -> r.status() == status).count();
        }
    }

    /**
     * {@link org.tlsrelay.core.enforce.Enforcer} refused this MX after connecting to it: no MAIL FROM was sent, the
     * connection was closed with QUIT. The refusal says on what grounds ({@code 4.7.5} for TLS that fails the policy,
     * {@code 5.7.30} for a REQUIRETLS message the MX cannot take).
     */
    record Refused(DeliveryTarget target, Verdict.Refuse verdict)
            implements DeliveryAttemptResult {}

    /**
     * The connection or the conversation broke before a transaction completed (refused connection, timeout, a 4xx or
     * 5xx greeting or EHLO, lost connection), or no connection was made. Nothing was delivered, except possibly at
     * {@link Stage#END_OF_DATA}.
     *
     * @param cause who ended it: the network or the MX, the host's circuit breaker, or the relay stopping
     */
    record Failed(DeliveryTarget target, Stage stage, String detail, Cause cause)
            implements DeliveryAttemptResult {

        /** Who ended an attempt that failed. */
        public enum Cause {
            /** The MX or the network: refused, timed out, closed, or an answer that ends the session. */
            NETWORK,
            /** Not connected: the MX host did not answer lately and its circuit breaker is open. */
            HOST_RESTING,
            /** The relay cut the connection while stopping (its shutdown grace was over). */
            CUT,
            /** Not connected: the relay is stopping. */
            NOT_STARTED
        }

        /** Broken by the MX or the network. */
        public Failed(DeliveryTarget target, Stage stage, String detail) {
            this(target, stage, detail, Cause.NETWORK);
        }

        /** Whether the MX may have taken the message although no reply said so (RFC 1047). */
        public boolean possiblyDelivered() {
            return stage == Stage.END_OF_DATA;
        }

        /** Whether the relay ended it itself, stopping: the attempt is to be made again at once after the restart. */
        public boolean byRelay() {
            return cause == Cause.CUT || cause == Cause.NOT_STARTED;
        }
    }
}
