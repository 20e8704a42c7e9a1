package org.tlsrelay.smtp.outbound;

/**
 * What became of one recipient in a completed transaction, with the reply that decided it: the RCPT reply when it
 * was refused, otherwise the reply to the end of data (or to MAIL FROM or DATA when those failed).
 */
public record RecipientReply(OutboundRecipient recipient, Status status, SmtpReply reply) {

    public enum Status {
        /** 2xx: the MX took responsibility (RFC 5321 §4.2.5). */
        DELIVERED,
        /** 4xx, or a local temporary condition: retry later. */
        DEFERRED,
        /** 5xx, or a local permanent condition: bounce. */
        FAILED
    }

    static RecipientReply of(OutboundRecipient recipient, SmtpReply reply) {
        Status status =
                reply.isPositive()
                        ? Status.DELIVERED
                        : reply.isPermanent() ? Status.FAILED : Status.DEFERRED;
        return new RecipientReply(recipient, status, reply);
    }
}
