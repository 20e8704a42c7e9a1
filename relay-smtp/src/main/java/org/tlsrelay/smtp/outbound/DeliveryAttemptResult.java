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
     * 5xx greeting or EHLO, lost connection). Nothing was delivered, except possibly at {@link Stage#END_OF_DATA}.
     */
    record Failed(DeliveryTarget target, Stage stage, String detail)
            implements DeliveryAttemptResult {
        /** Whether the MX may have taken the message although no reply said so (RFC 1047). */
        public boolean possiblyDelivered() {
            return stage == Stage.END_OF_DATA;
        }
    }
}
