package org.tlsrelay.core.enforce;

import java.util.Optional;
import java.util.stream.Collectors;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;

/**
 * The one place that reads a policy's mode: given the policy, the MX host name and what the connection showed, say
 * whether to send MAIL FROM. A pure function: no I/O, no clock, no state.
 *
 * <ul>
 *   <li>{@code enforce} (RFC 8461 §5): deliver only to an MX matched by a policy pattern (§4.1) that completed
 *       STARTTLS with a trusted, unexpired certificate naming it (§4.2); anything else is refused, temporarily
 *       ({@code 4.7.5}), so that the next MX is tried and the message is retried later (§5.1).</li>
 *   <li>{@code testing}: deliver anyway, over TLS if a session is up, in clear otherwise; the failure is recorded.</li>
 *   <li>{@code none} (or no policy): opportunistic TLS (RFC 7435): any certificate is accepted; the outcome is still
 *       recorded as observed.</li>
 * </ul>
 */
public final class Enforcer {
    /** RFC 3463 §3.8 X.7.5 "cryptographic failure", temporary: a policy failure is retried (RFC 8461 §5.1). */
    public static final String POLICY_FAILURE_CODE = "4.7.5";

    private Enforcer() {
    }

    /**
     * The check made before connecting: under {@code enforce}, an MX host that no policy pattern matches is skipped
     * without a connection (RFC 8461 §4.1). Under {@code testing} and {@code none} every MX may be tried; a mismatch
     * is recorded by {@link #decide} once the connection is made.
     */
    public static Optional<Verdict.Refuse> beforeConnect(Policy policy, String mxHost) {
        if (policy.mode() == PolicyMode.ENFORCE && !policy.allowsMx(mxHost)) {
            return Optional.of(refuse(TlsFailureType.VALIDATION_FAILURE, mxNotListed(policy, mxHost)));
        }
        return Optional.empty();
    }

    /** The verdict for one connection, made after STARTTLS and before MAIL FROM. */
    public static Verdict decide(Policy policy, String mxHost, TlsObservation observation) {
        TlsResult result = assess(policy, mxHost, observation);
        boolean tlsUp = observation instanceof TlsObservation.Established;
        return switch (policy.mode()) {
            case ENFORCE -> result instanceof TlsResult.Failure f ? refuse(f.type(), f.detail())
                    : new Verdict.DeliverOverTls(result);
            case TESTING, NONE -> tlsUp ? new Verdict.DeliverOverTls(result) : new Verdict.DeliverInClear(result);
        };
    }

    /**
     * The RFC 8460 result of a connection, whatever the mode: the first failure in the order STARTTLS, handshake,
     * chain trust, validity period, host name, MX pattern (the pattern only when the policy has one to check).
     */
    public static TlsResult assess(Policy policy, String mxHost, TlsObservation observation) {
        if (observation instanceof TlsObservation.NotOffered) {
            return TlsResult.failure(TlsFailureType.STARTTLS_NOT_SUPPORTED, mxHost + " did not offer STARTTLS");
        }
        if (observation instanceof TlsObservation.StartTlsRejected r) {
            return TlsResult.failure(TlsFailureType.STARTTLS_NOT_SUPPORTED,
                    mxHost + " offered STARTTLS but answered " + r.reply());
        }
        if (observation instanceof TlsObservation.HandshakeFailed h) {
            return TlsResult.failure(TlsFailureType.VALIDATION_FAILURE,
                    "TLS handshake with " + mxHost + " failed: " + h.reason());
        }
        TlsObservation.Established e = (TlsObservation.Established) observation;
        if (!e.chainTrusted()) {
            return TlsResult.failure(TlsFailureType.CERTIFICATE_NOT_TRUSTED,
                    "certificate of " + mxHost + " is not trusted: " + e.trustDetail());
        }
        if (e.validity() == CertificateValidity.EXPIRED) {
            return TlsResult.failure(TlsFailureType.CERTIFICATE_EXPIRED,
                    "certificate of " + mxHost + " expired (not after " + e.peer().notAfter() + ")");
        }
        if (e.validity() == CertificateValidity.NOT_YET_VALID) {
            // RFC 8460 has no "not yet valid" type; §4.3.1 says validation-failure covers the rest
            return TlsResult.failure(TlsFailureType.VALIDATION_FAILURE,
                    "certificate of " + mxHost + " is not valid before " + e.peer().notBefore());
        }
        if (!e.hostNameMatched()) {
            return TlsResult.failure(TlsFailureType.CERTIFICATE_HOST_MISMATCH,
                    "certificate of " + mxHost + " does not name it (DNS names " + e.peer().dnsNames() + ")");
        }
        if (policy.mode() != PolicyMode.NONE && !policy.allowsMx(mxHost)) {
            return TlsResult.failure(TlsFailureType.VALIDATION_FAILURE, mxNotListed(policy, mxHost));
        }
        return TlsResult.success();
    }

    private static Verdict.Refuse refuse(TlsFailureType type, String detail) {
        return new Verdict.Refuse(type, POLICY_FAILURE_CODE, detail + "; the policy is enforced");
    }

    private static String mxNotListed(Policy policy, String mxHost) {
        String patterns = policy.mxs().stream().map(MxPattern::text).collect(Collectors.joining(", "));
        return mxHost + " matches no MX pattern of the policy (" + patterns + ")";
    }
}
