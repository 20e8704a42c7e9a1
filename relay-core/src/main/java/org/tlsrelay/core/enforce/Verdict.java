package org.tlsrelay.core.enforce;

import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;

/**
 * What to do with an MX after looking at its TLS, as decided by {@link Enforcer}. Every verdict carries the
 * {@link TlsResult} to report, so a delivery under {@code testing} still records what would have failed.
 */
public sealed interface Verdict {

    /** Send the message over the TLS session that is up. */
    record DeliverOverTls(TlsResult result) implements Verdict {
        @Override
        public String label() {
            return "deliver-tls";
        }
    }

    /**
     * Send the message without TLS: the policy allows it ({@code testing}, {@code none}) and no TLS session could be
     * had. After a failed handshake that means a new connection that does not try STARTTLS.
     */
    record DeliverInClear(TlsResult result) implements Verdict {
        @Override
        public String label() {
            return "deliver-clear";
        }
    }

    /**
     * Do not send MAIL FROM to this MX: QUIT and try the next one. A policy failure is temporary (RFC 8461 §5.1), so
     * the reply that stands for it has a {@code 4.7.5} enhanced status code (RFC 3463 §3.8, "cryptographic failure").
     *
     * @param failure the RFC 8460 result type
     * @param enhancedCode {@code 4.7.5}; {@code 5.7.30} when a REQUIRETLS message cannot go to this MX because no
     *     policy authenticates it (RFC 8689 §4.2.1), which is not a TLS failure and is not reported as one
     * @param reason a sentence for logs, the spool and an eventual DSN
     */
    record Refuse(TlsFailureType failure, String enhancedCode, String reason) implements Verdict {
        @Override
        public TlsResult result() {
            return TlsResult.failure(failure, reason);
        }

        @Override
        public String label() {
            return "refuse";
        }

        /** The reason as an SMTP reply text: {@code 4.7.5 reason}. */
        public String replyText() {
            return enhancedCode + " " + reason;
        }

        /** A REQUIRETLS refusal ({@code 5.7.30}): the MX's TLS did not fail, the message's requirement did. */
        public boolean requireTls() {
            return Enforcer.REQUIRETLS_CODE.equals(enhancedCode);
        }
    }

    TlsResult result();

    /** {@code deliver-tls}, {@code deliver-clear} or {@code refuse}: for logs and JSON. */
    String label();
}
