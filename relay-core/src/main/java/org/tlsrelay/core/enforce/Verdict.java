package org.tlsrelay.core.enforce;

import java.util.Objects;
import java.util.Optional;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;

/**
 * What to do with an MX after looking at its TLS, as decided by {@link Enforcer}: only {@link Enforcer} makes
 * verdicts (their constructors are not public), so code that holds a {@link Deliver} may send {@code MAIL FROM} and
 * code that does not, cannot. Every verdict carries the {@link TlsResult} of the session, so a delivery under
 * {@code testing} still records what would have failed, and says what TLS-RPT records of it ({@link #reported()}).
 */
public sealed interface Verdict permits Verdict.Deliver, Verdict.Refuse {

    /** The RFC 8460 result: success or the failure type with its detail. */
    TlsResult result();

    /** {@code deliver-tls}, {@code deliver-clear} or {@code refuse}: for logs and JSON. */
    String label();

    /**
     * What TLS-RPT and the metrics record of this verdict (RFC 8460 §4.3): the session's result and what the policy
     * made of it; empty for a refusal that is not about TLS at all (a REQUIRETLS refusal before connecting).
     */
    Optional<Reported> reported();

    /** One TLS outcome as it is recorded: the RFC 8460 result and the policy's verdict label. */
    record Reported(TlsResult result, String verdict) {}

    /** Send {@code MAIL FROM}: the only way into a mail transaction. */
    sealed interface Deliver extends Verdict permits DeliverOverTls, DeliverInClear {

        /**
         * Whether {@code MAIL FROM} carries {@code REQUIRETLS} (RFC 8689 §4.2.1): the message asked for it, and this MX
         * is authenticated and advertised it.
         */
        boolean requireTls();

        @Override
        default Optional<Reported> reported() {
            return Optional.of(new Reported(result(), label()));
        }
    }

    /** Send the message over the TLS session that is up. */
    final class DeliverOverTls implements Deliver {
        private final TlsResult result;
        private final boolean requireTls;

        DeliverOverTls(TlsResult result, boolean requireTls) {
            this.result = Objects.requireNonNull(result, "result");
            this.requireTls = requireTls;
        }

        @Override
        public TlsResult result() {
            return result;
        }

        @Override
        public boolean requireTls() {
            return requireTls;
        }

        @Override
        public String label() {
            return "deliver-tls";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof DeliverOverTls d
                    && d.result.equals(result)
                    && d.requireTls == requireTls;
        }

        @Override
        public int hashCode() {
            return Objects.hash(result, requireTls);
        }

        @Override
        public String toString() {
            return label() + " " + result.describe() + (requireTls ? " REQUIRETLS" : "");
        }
    }

    /**
     * Send the message without TLS: the policy allows it ({@code testing}, {@code none}, {@code TLS-Required: No})
     * and no TLS session could be had. After a failed handshake that means a new connection that does not try
     * STARTTLS.
     */
    final class DeliverInClear implements Deliver {
        private final TlsResult result;

        DeliverInClear(TlsResult result) {
            this.result = Objects.requireNonNull(result, "result");
        }

        @Override
        public TlsResult result() {
            return result;
        }

        @Override
        public boolean requireTls() {
            return false; // RFC 8689: never without TLS
        }

        @Override
        public String label() {
            return "deliver-clear";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof DeliverInClear d && d.result.equals(result);
        }

        @Override
        public int hashCode() {
            return result.hashCode();
        }

        @Override
        public String toString() {
            return label() + " " + result.describe();
        }
    }

    /**
     * Do not send {@code MAIL FROM} to this MX: QUIT (or do not connect) and try the next one.
     *
     * <p>On {@link Ground#TLS_POLICY} the MX's TLS (or the DNSSEC look-ups DANE needs) does not satisfy the policy: a
     * policy failure is temporary (RFC 8461 §5.1, RFC 7672 §2.1.1), {@code 4.7.5} (RFC 3463 §3.8, "cryptographic
     * failure"), and the next address of the same MX may do better. On {@link Ground#REQUIRETLS} the MX cannot
     * take this REQUIRETLS message (RFC 8689 §4.2.1): no policy authenticates it, or it does not advertise
     * REQUIRETLS. That is not a TLS failure: {@code 5.7.30}, the next MX is tried, and once every MX is ruled out
     * the message fails ({@link Enforcer#afterMxWalk}).
     */
    final class Refuse implements Verdict {

        /** On what grounds an MX is refused. */
        public enum Ground {
            /** The MX's TLS, or DANE's DNSSEC look-ups, do not satisfy the policy (RFC 8461 §4, RFC 7672). */
            TLS_POLICY,
            /** The message requires TLS that no policy can give at this MX (RFC 8689 §4.2.1). */
            REQUIRETLS
        }

        private final Ground ground;
        private final TlsFailureType failure;
        private final String enhancedCode;
        private final String reason;
        private final Reported reported; // null: nothing to report

        Refuse(
                Ground ground,
                TlsFailureType failure,
                String enhancedCode,
                String reason,
                Optional<Reported> reported) {
            this.ground = Objects.requireNonNull(ground, "ground");
            this.failure = Objects.requireNonNull(failure, "failure");
            this.enhancedCode = Objects.requireNonNull(enhancedCode, "enhancedCode");
            this.reason = Objects.requireNonNull(reason, "reason");
            this.reported = reported.orElse(null);
        }

        public Ground ground() {
            return ground;
        }

        /** The RFC 8460 result type; {@code validation-failure} for a REQUIRETLS refusal, which is never reported. */
        public TlsFailureType failure() {
            return failure;
        }

        /** {@code 4.7.5}, or {@code 5.7.30} on {@link Ground#REQUIRETLS}. */
        public String enhancedCode() {
            return enhancedCode;
        }

        /** A sentence for logs, the spool and an eventual DSN. */
        public String reason() {
            return reason;
        }

        /** The reason as an SMTP reply text: {@code 4.7.5 reason}. */
        public String replyText() {
            return enhancedCode + " " + reason;
        }

        @Override
        public TlsResult result() {
            return TlsResult.failure(failure, reason);
        }

        @Override
        public String label() {
            return "refuse";
        }

        @Override
        public Optional<Reported> reported() {
            return Optional.ofNullable(reported);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Refuse r
                    && r.ground == ground
                    && r.failure == failure
                    && r.enhancedCode.equals(enhancedCode)
                    && r.reason.equals(reason)
                    && Objects.equals(r.reported, reported);
        }

        @Override
        public int hashCode() {
            return Objects.hash(ground, failure, enhancedCode, reason, reported);
        }

        @Override
        public String toString() {
            return "refuse " + ground + " " + replyText();
        }
    }
}
