package org.tlsrelay.smtp.outbound;

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
     */
    record Completed(
            DeliveryTarget target, SessionSummary session, List<RecipientResult> recipients)
            implements DeliveryAttemptResult {
        public Completed {
            recipients = List.copyOf(recipients);
        }

        public long count(RecipientResult.Status status) {
            return recipients.stream().filter(r -> r.status() == status).count();
        }
    }

    /**
     * The policy refused this MX (no MAIL FROM was sent): a temporary failure, {@code 4.7.5}. When
     * {@code connected} is false the MX host itself is not allowed by the policy, so its other addresses need not be
     * tried either.
     */
    record Refused(DeliveryTarget target, Verdict.Refuse verdict, boolean connected)
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
