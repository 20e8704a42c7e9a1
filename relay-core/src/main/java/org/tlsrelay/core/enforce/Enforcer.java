package org.tlsrelay.core.enforce;

import java.time.Instant;
import java.util.Optional;
import java.util.stream.Collectors;
import org.tlsrelay.core.dane.DaneMatch;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;

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
 * DANE comes first, per MX host (RFC 8461 §2: DANE wins over MTA-STS; here over lists and overrides too): where the
 * MX host has usable secure TLSA records ({@link DanePolicy.Required}), TLS is mandatory and the presented chain must
 * match them (RFC 7672 §2.2, §3); the PKIX trust store, the MX patterns and the domain's mode play no part. Where the
 * DNSSEC look-ups failed ({@link DanePolicy.Failed}), the host is not tried (RFC 7672 §2.1.1). Otherwise the domain's
 * policy decides as above.
 */
public final class Enforcer {
    /** RFC 3463 §3.8 X.7.5 "cryptographic failure", temporary: a policy failure is retried (RFC 8461 §5.1). */
    public static final String POLICY_FAILURE_CODE = "4.7.5";

    /** RFC 8689 §6 X.7.30 "REQUIRETLS support required": no policy can authenticate the MX for this message. */
    public static final String REQUIRETLS_CODE = "5.7.30";

    private Enforcer() {}

    /**
     * The check made before connecting: under {@code enforce}, an MX host that no policy pattern matches is skipped
     * without a connection (RFC 8461 §4.1). Under {@code testing} and {@code none} every MX may be tried; a mismatch
     * is recorded by {@link #decide} once the connection is made.
     */
    public static Optional<Verdict.Refuse> beforeConnect(Policy policy, String mxHost) {
        if (policy.mode() == PolicyMode.ENFORCE && !policy.allowsMx(mxHost)) {
            return Optional.of(
                    refuse(TlsFailureType.VALIDATION_FAILURE, mxNotListed(policy, mxHost)));
        }
        return Optional.empty();
    }

    /**
     * The check made before connecting to {@code mxHost} under a per-MX context ({@link PolicyContext#forMx}): a
     * DNSSEC failure of the DANE look-ups keeps the host waiting ({@code dnssec-invalid}, RFC 7672 §2.1.1), DANE
     * records make the policy's MX patterns irrelevant (RFC 8461 §2), otherwise
     * {@link #beforeConnect(Policy, String)}.
     */
    public static Optional<Verdict.Refuse> beforeConnect(PolicyContext context, String mxHost) {
        return beforeConnect(context, mxHost, TlsRequirement.POLICY);
    }

    /**
     * As {@link #beforeConnect(PolicyContext, String)}, for a message with its own TLS requirement (RFC 8689): a
     * {@code TLS-Required: No} message skips no MX; a REQUIRETLS message skips, with {@value #REQUIRETLS_CODE}, every
     * MX that neither DANE nor an enforced policy can authenticate (RFC 8689 §4.2.1).
     */
    public static Optional<Verdict.Refuse> beforeConnect(
            PolicyContext context, String mxHost, TlsRequirement requirement) {
        if (requirement == TlsRequirement.TLS_OPTIONAL) {
            return Optional.empty();
        }
        if (context.dane() instanceof DanePolicy.Failed f) {
            return Optional.of(
                    daneRefuse(
                            f.failureType(), f.describe())); // temporary, whatever the message asks
        }
        if (requirement == TlsRequirement.REQUIRETLS && !authenticating(context)) {
            return Optional.of(requireTlsRefusal(mxHost));
        }
        if (context.dane() instanceof DanePolicy.Required) {
            return Optional.empty();
        }
        return beforeConnect(context.policy(), mxHost);
    }

    /**
     * The verdict for one connection under a per-MX context: DANE's when it applies (TLS mandatory, the chain must
     * match a TLSA record at {@code now}), otherwise {@link #decide(Policy, String, TlsObservation)}.
     */
    public static Verdict decide(
            PolicyContext context, String mxHost, TlsObservation observation, Instant now) {
        return decide(context, mxHost, observation, now, TlsRequirement.POLICY);
    }

    /**
     * As {@link #decide(PolicyContext, String, TlsObservation, Instant)}, for a message with its own TLS requirement
     * (RFC 8689): REQUIRETLS delivers only over TLS that DANE or an enforced policy authenticated (§4.2.1);
     * {@code TLS-Required: No} turns every refusal into delivery, over TLS if a session is up, with the failure
     * still reported (§5).
     */
    public static Verdict decide(
            PolicyContext context,
            String mxHost,
            TlsObservation observation,
            Instant now,
            TlsRequirement requirement) {
        Verdict verdict = decideByPolicy(context, mxHost, observation, now);
        if (requirement == TlsRequirement.TLS_OPTIONAL && verdict instanceof Verdict.Refuse r) {
            return observation instanceof TlsObservation.Established
                    ? new Verdict.DeliverOverTls(r.result())
                    : new Verdict.DeliverInClear(r.result());
        }
        if (requirement == TlsRequirement.REQUIRETLS
                && !(verdict instanceof Verdict.Refuse)
                && !(authenticating(context)
                        && verdict instanceof Verdict.DeliverOverTls
                        && verdict.result() instanceof TlsResult.Success)) {
            return requireTlsRefusal(mxHost);
        }
        return verdict;
    }

    /** Whether DANE or an enforced policy authenticates the MX of this context (RFC 8689 §4.2.1). */
    private static boolean authenticating(PolicyContext context) {
        return context.dane() instanceof DanePolicy.Required
                || !context.daneApplies() && context.mode() == PolicyMode.ENFORCE;
    }

    private static Verdict.Refuse requireTlsRefusal(String mxHost) {
        return new Verdict.Refuse(
                TlsFailureType.VALIDATION_FAILURE,
                REQUIRETLS_CODE,
                "the message requires TLS "
                        + "(REQUIRETLS, RFC 8689) but neither DANE nor an enforced policy authenticates "
                        + mxHost);
    }

    private static Verdict decideByPolicy(
            PolicyContext context, String mxHost, TlsObservation observation, Instant now) {
        if (context.dane() instanceof DanePolicy.Failed f) {
            return daneRefuse(f.failureType(), f.describe());
        }
        if (context.dane() instanceof DanePolicy.Required r) {
            TlsResult result = assessDane(r, mxHost, observation, now);
            return result instanceof TlsResult.Failure f
                    ? daneRefuse(f.type(), f.detail())
                    : new Verdict.DeliverOverTls(result);
        }
        return decide(context.policy(), mxHost, observation);
    }

    /**
     * The RFC 8460 result of a connection to an MX host with usable TLSA records: STARTTLS missing or refused is
     * {@code dane-required}, a chain no record matches (or no TLS session) {@code tlsa-invalid} (RFC 8460 §4.3.2.1).
     */
    public static TlsResult assessDane(
            DanePolicy.Required dane, String mxHost, TlsObservation observation, Instant now) {
        if (observation instanceof TlsObservation.NotOffered) {
            return TlsResult.failure(
                    TlsFailureType.DANE_REQUIRED,
                    mxHost + " publishes TLSA records but did not offer STARTTLS");
        }
        if (observation instanceof TlsObservation.StartTlsRejected r) {
            return TlsResult.failure(
                    TlsFailureType.DANE_REQUIRED,
                    mxHost + " publishes TLSA records but answered STARTTLS with " + r.reply());
        }
        if (observation instanceof TlsObservation.HandshakeFailed h) {
            return TlsResult.failure(
                    TlsFailureType.VALIDATION_FAILURE,
                    "TLS handshake with " + mxHost + " failed: " + h.reason());
        }
        TlsObservation.Established e = (TlsObservation.Established) observation;
        DaneMatch match = dane.match(e.chain(), now);
        if (match instanceof DaneMatch.Matched) {
            return TlsResult.success();
        }
        return TlsResult.failure(
                TlsFailureType.TLSA_INVALID, "certificate of " + mxHost + ": " + match.describe());
    }

    /** The verdict for one connection, made after STARTTLS and before MAIL FROM. */
    public static Verdict decide(Policy policy, String mxHost, TlsObservation observation) {
        TlsResult result = assess(policy, mxHost, observation);
        boolean tlsUp = observation instanceof TlsObservation.Established;
        return switch (policy.mode()) {
            case ENFORCE ->
                    result instanceof TlsResult.Failure f
                            ? refuse(f.type(), f.detail())
                            : new Verdict.DeliverOverTls(result);
            case TESTING, NONE ->
                    tlsUp ? new Verdict.DeliverOverTls(result) : new Verdict.DeliverInClear(result);
        };
    }

    /**
     * The RFC 8460 result of a connection, whatever the mode: the first failure in the order STARTTLS, handshake,
     * chain trust, validity period, host name, MX pattern (the pattern only when the policy has one to check).
     */
    public static TlsResult assess(Policy policy, String mxHost, TlsObservation observation) {
        if (observation instanceof TlsObservation.NotOffered) {
            return TlsResult.failure(
                    TlsFailureType.STARTTLS_NOT_SUPPORTED, mxHost + " did not offer STARTTLS");
        }
        if (observation instanceof TlsObservation.StartTlsRejected r) {
            return TlsResult.failure(
                    TlsFailureType.STARTTLS_NOT_SUPPORTED,
                    mxHost + " offered STARTTLS but answered " + r.reply());
        }
        if (observation instanceof TlsObservation.HandshakeFailed h) {
            return TlsResult.failure(
                    TlsFailureType.VALIDATION_FAILURE,
                    "TLS handshake with " + mxHost + " failed: " + h.reason());
        }
        TlsObservation.Established e = (TlsObservation.Established) observation;
        if (!e.chainTrusted()) {
            return TlsResult.failure(
                    TlsFailureType.CERTIFICATE_NOT_TRUSTED,
                    "certificate of " + mxHost + " is not trusted: " + e.trustDetail());
        }
        if (e.validity() == CertificateValidity.EXPIRED) {
            return TlsResult.failure(
                    TlsFailureType.CERTIFICATE_EXPIRED,
                    "certificate of "
                            + mxHost
                            + " expired (not after "
                            + e.peer().notAfter()
                            + ")");
        }
        if (e.validity() == CertificateValidity.NOT_YET_VALID) {
            // RFC 8460 has no "not yet valid" type; §4.3.1 says validation-failure covers the rest
            return TlsResult.failure(
                    TlsFailureType.VALIDATION_FAILURE,
                    "certificate of " + mxHost + " is not valid before " + e.peer().notBefore());
        }
        if (!e.hostNameMatched()) {
            return TlsResult.failure(
                    TlsFailureType.CERTIFICATE_HOST_MISMATCH,
                    "certificate of "
                            + mxHost
                            + " does not name it (DNS names "
                            + e.peer().dnsNames()
                            + ")");
        }
        if (policy.mode() != PolicyMode.NONE && !policy.allowsMx(mxHost)) {
            return TlsResult.failure(
                    TlsFailureType.VALIDATION_FAILURE, mxNotListed(policy, mxHost));
        }
        return TlsResult.success();
    }

    private static Verdict.Refuse refuse(TlsFailureType type, String detail) {
        return new Verdict.Refuse(type, POLICY_FAILURE_CODE, detail + "; the policy is enforced");
    }

    private static Verdict.Refuse daneRefuse(TlsFailureType type, String detail) {
        return new Verdict.Refuse(
                type, POLICY_FAILURE_CODE, detail + "; DANE (RFC 7672) requires authenticated TLS");
    }

    private static String mxNotListed(Policy policy, String mxHost) {
        String patterns =
                policy.mxs().stream().map(MxPattern::text).collect(Collectors.joining(", "));
        return mxHost + " matches no MX pattern of the policy (" + patterns + ")";
    }
}
