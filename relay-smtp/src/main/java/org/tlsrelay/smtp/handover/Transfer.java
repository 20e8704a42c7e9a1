package org.tlsrelay.smtp.handover;

import java.util.List;
import java.util.Objects;

/** What became of one message's transaction with the other relay: a value for each way it can end. */
public sealed interface Transfer {

    /** A recipient the other relay refused, with its reply. */
    record Refusal(String address, String reply) {
        public Refusal {
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(reply, "reply");
        }
    }

    /**
     * The other relay answered the end of data with 250: it has taken {@code recipients}.
     *
     * @param reply its reply, e.g. {@code 250 2.0.0 Ok: queued as 1j1vm1fenese86}
     * @param recipients the recipients it accepted
     * @param refused the recipients it refused at RCPT (they stay here)
     */
    record Accepted(String reply, List<String> recipients, List<Refusal> refused)
            implements Transfer {
        public Accepted {
            Objects.requireNonNull(reply, "reply");
            recipients = List.copyOf(recipients);
            refused = List.copyOf(refused);
        }
    }

    /**
     * The other relay refused the message (at MAIL FROM, every RCPT TO, DATA, or the end of data); the session is
     * still usable and the message stays here.
     *
     * @param stage where: {@code MAIL FROM}, {@code RCPT TO}, {@code DATA}, {@code end of data}
     * @param reply the reply that refused it (for RCPT TO: the first recipient's)
     * @param refused every recipient refused at RCPT TO, with its reply
     */
    record Refused(String stage, String reply, List<Refusal> refused) implements Transfer {
        public Refused {
            Objects.requireNonNull(stage, "stage");
            Objects.requireNonNull(reply, "reply");
            refused = List.copyOf(refused);
        }
    }

    /**
     * The connection broke or timed out; the message stays here. When the end of data was sent and its reply never
     * came, the other relay may have taken it all the same (RFC 1047): the next drain sends it again.
     *
     * @param why what happened, in words
     * @param afterEndOfData whether the end of data had been sent
     */
    record Broken(String why, boolean afterEndOfData) implements Transfer {
        public Broken {
            Objects.requireNonNull(why, "why");
        }
    }
}
