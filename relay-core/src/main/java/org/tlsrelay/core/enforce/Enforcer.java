package org.tlsrelay.core.enforce;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.tlsrelay.core.dane.DaneMatch;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;

/**
 * The one place that reads a policy's mode and decides about TLS, in three steps per delivery attempt: before
 * connecting to an MX host ({@link #beforeConnect}: connect or skip), after EHLO and STARTTLS ({@link #decide}: send
 * MAIL FROM or not), and once every MX host was walked ({@link #afterMxWalk}: what the refusals mean for the
 * recipients). Every refusal, deferral and escalation is a value made here; only here are the verdicts made that let
 * the outbound client send MAIL FROM. Pure functions: no I/O, no clock (the time is passed in), no state.
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
 *
 * <p>On top of the policy comes what the message asks itself (RFC 8689, {@link TlsRequirement}): REQUIRETLS only to
 * an MX that DANE or an enforced policy authenticates and that advertises REQUIRETLS (§4.2.1), else 5.7.30 once no
 * MX qualifies; {@code TLS-Required: No} delivers despite any policy failure (§5).
 */
public final class Enforcer {
    /** RFC 3463 §3.8 X.7.5 "cryptographic failure", temporary: a policy failure is retried (RFC 8461 §5.1). */
    public static final String POLICY_FAILURE_CODE = "4.7.5";

    /** RFC 8689 §6 X.7.30 "REQUIRETLS support required": no policy can authenticate the MX for this message. */
    public static final String REQUIRETLS_CODE = "5.7.30";

    /** The EHLO keyword of RFC 8689 §2. */
    static final String REQUIRETLS_KEYWORD = "REQUIRETLS";

    private Enforcer() {}

    /**
     * The check made once per MX host, before its addresses are looked up: a {@code TLS-Required: No} message skips
     * no host; a DNSSEC failure of the DANE look-ups keeps the host waiting ({@code dnssec-invalid}, RFC 7672
     * §2.1.1); a REQUIRETLS message skips, with {@value #REQUIRETLS_CODE}, every host that neither DANE nor an
     * enforced policy can authenticate (RFC 8689 §4.2.1); DANE records make the policy's MX patterns irrelevant
     * (RFC 8461 §2); otherwise under {@code enforce} a host that no pattern matches is skipped (RFC 8461 §4.1).
     */
    public static Admission beforeConnect(
            MxPolicy policy, String mxHost, TlsRequirement requirement) {
        Admission.Connect connect = new Admission.Connect(policy, mxHost, requirement);
        if (requirement == TlsRequirement.TLS_OPTIONAL) {
            return connect;
        }
        if (policy.dane() instanceof DanePolicy.Failed f) {
            // temporary, whatever the message asks
            return new Admission.Skip(daneRefuse(f.failureType(), f.describe()));
        }
        if (requirement == TlsRequirement.REQUIRETLS && !authenticating(policy)) {
            return new Admission.Skip(
                    requireTlsRefusal(
                            "the message requires TLS (REQUIRETLS, RFC 8689) but neither DANE nor an"
                                    + " enforced policy authenticates "
                                    + mxHost,
                            Optional.empty()));
        }
        if (policy.dane() instanceof DanePolicy.Required) {
            return connect;
        }
        Optional<Verdict.Refuse> skip = beforeConnect(policy.policy(), mxHost);
        return skip.<Admission>map(Admission.Skip::new).orElse(connect);
    }

    /**
     * The verdict for one session, after EHLO (and STARTTLS and EHLO again) and before MAIL FROM: DANE's when it
     * applies (TLS mandatory, the chain must match a TLSA record at {@code now}), otherwise the domain policy's
     * ({@link #decide(Policy, String, TlsObservation)}); then the message's own requirement: REQUIRETLS delivers only
     * over TLS that DANE or an enforced policy authenticated, to an MX that advertised REQUIRETLS, and passes the
     * parameter on (RFC 8689 §4.2.1); {@code TLS-Required: No} turns every refusal into delivery, over TLS if a
     * session is up, with the failure still reported (§5).
     */
    public static Verdict decide(Admission.Connect permit, MxObservation observation, Instant now) {
        MxPolicy policy = permit.policy();
        String mxHost = permit.mxHost();
        Verdict verdict = decideByPolicy(policy, mxHost, observation.tls(), now);
        return switch (permit.requirement()) {
            case POLICY -> verdict;
            case TLS_OPTIONAL -> {
                if (!(verdict instanceof Verdict.Refuse r)) {
                    yield verdict;
                }
                yield observation.tls() instanceof TlsObservation.Established
                        ? new Verdict.DeliverOverTls(r.result(), false)
                        : new Verdict.DeliverInClear(r.result());
            }
            case REQUIRETLS -> {
                if (verdict instanceof Verdict.Refuse) {
                    yield verdict; // the MX's TLS fails the policy: temporary, as for any message
                }
                // the session itself is reported as the policy saw it: REQUIRETLS is no TLS outcome
                Optional<Verdict.Reported> session = verdict.reported();
                if (!(authenticating(policy)
                        && verdict instanceof Verdict.DeliverOverTls
                        && verdict.result() instanceof TlsResult.Success)) {
                    yield requireTlsRefusal(
                            "the message requires TLS (REQUIRETLS, RFC 8689) but neither DANE nor an"
                                    + " enforced policy authenticates "
                                    + mxHost,
                            session);
                }
                if (!observation.advertises(REQUIRETLS_KEYWORD)) {
                    yield requireTlsRefusal(
                            mxHost
                                    + " does not advertise REQUIRETLS, which this message requires"
                                    + " (RFC 8689)",
                            session);
                }
                yield new Verdict.DeliverOverTls(verdict.result(), true);
            }
        };
    }

    /**
     * What the refusals of one attempt mean for the recipients no MX took, once the MX hosts ran out: when every host
     * of the MX list was ruled out for this REQUIRETLS message, they fail with {@value #REQUIRETLS_CODE} (RFC 8689
     * §4.2.1, §6); when the policy refused MX hosts and no transaction took place, they wait with the first refusal
     * (RFC 8461 §5.1). Empty when neither: the connection problems or the MX's own replies say why.
     *
     * @param mxHosts every MX host of the domain, in the order tried
     * @param refusals the refusals met, in order
     * @param transacted whether some MX ran a mail transaction for the recipients
     */
    public static Optional<DomainVerdict> afterMxWalk(
            String domain, List<String> mxHosts, List<MxRefusal> refusals, boolean transacted) {
        Set<String> ruledOut = new HashSet<>();
        Optional<MxRefusal> lastRequireTls = Optional.empty();
        Optional<MxRefusal> firstPolicy = Optional.empty();
        for (MxRefusal r : refusals) {
            if (r.refusal().ground() == Verdict.Refuse.Ground.REQUIRETLS) {
                ruledOut.add(r.mxHost());
                lastRequireTls = Optional.of(r);
            } else if (firstPolicy.isEmpty()) {
                firstPolicy = Optional.of(r);
            }
        }
        if (!mxHosts.isEmpty() && ruledOut.containsAll(mxHosts) && lastRequireTls.isPresent()) {
            // RFC 8689 §4.2.1 and §6: a permanent failure; the DSN goes without REQUIRETLS
            return Optional.of(
                    new DomainVerdict.Fail(
                            "550 "
                                    + REQUIRETLS_CODE
                                    + " REQUIRETLS support required: no MX of "
                                    + domain
                                    + " qualifies (last: "
                                    + lastRequireTls.get().refusal().reason()
                                    + ")"));
        }
        if (!transacted && firstPolicy.isPresent()) {
            return Optional.of(
                    new DomainVerdict.Defer("451 " + firstPolicy.get().refusal().replyText()));
        }
        return Optional.empty();
    }

    /**
     * The domain policy's check before connecting: under {@code enforce}, an MX host that no policy pattern matches
     * is skipped without a connection (RFC 8461 §4.1). Under {@code testing} and {@code none} every MX may be tried;
     * a mismatch is recorded by {@link #decide} once the connection is made.
     */
    static Optional<Verdict.Refuse> beforeConnect(Policy policy, String mxHost) {
        if (policy.mode() == PolicyMode.ENFORCE && !policy.allowsMx(mxHost)) {
            return Optional.of(
                    refuse(TlsFailureType.VALIDATION_FAILURE, mxNotListed(policy, mxHost)));
        }
        return Optional.empty();
    }

    /** Whether DANE or an enforced policy authenticates the MX (RFC 8689 §4.2.1). */
    private static boolean authenticating(MxPolicy policy) {
        return policy.dane() instanceof DanePolicy.Required
                || !policy.daneApplies() && policy.mode() == PolicyMode.ENFORCE;
    }

    private static Verdict.Refuse requireTlsRefusal(
            String reason, Optional<Verdict.Reported> session) {
        return new Verdict.Refuse(
                Verdict.Refuse.Ground.REQUIRETLS,
                TlsFailureType.VALIDATION_FAILURE,
                REQUIRETLS_CODE,
                reason,
                session);
    }

    private static Verdict decideByPolicy(
            MxPolicy policy, String mxHost, TlsObservation observation, Instant now) {
        if (policy.dane() instanceof DanePolicy.Failed f) {
            return daneRefuse(f.failureType(), f.describe());
        }
        if (policy.dane() instanceof DanePolicy.Required r) {
            TlsResult result = assessDane(r, mxHost, observation, now);
            return result instanceof TlsResult.Failure f
                    ? daneRefuse(f.type(), f.detail())
                    : new Verdict.DeliverOverTls(result, false);
        }
        return decide(policy.policy(), mxHost, observation);
    }

    /**
     * The RFC 8460 result of a connection to an MX host with usable TLSA records: STARTTLS missing or refused is
     * {@code dane-required}, a chain no record matches (or no TLS session) {@code tlsa-invalid} (RFC 8460 §4.3.2.1).
     */
    static TlsResult assessDane(
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

    /** The domain policy's verdict for one connection, made after STARTTLS and before MAIL FROM. */
    static Verdict decide(Policy policy, String mxHost, TlsObservation observation) {
        TlsResult result = assess(policy, mxHost, observation);
        boolean tlsUp = observation instanceof TlsObservation.Established;
        return switch (policy.mode()) {
            case ENFORCE ->
                    result instanceof TlsResult.Failure f
                            ? refuse(f.type(), f.detail())
                            : new Verdict.DeliverOverTls(result, false);
            case TESTING, NONE ->
                    tlsUp
                            ? new Verdict.DeliverOverTls(result, false)
                            : new Verdict.DeliverInClear(result);
        };
    }

    /**
     * The RFC 8460 result of a connection, whatever the mode: the first failure in the order STARTTLS, handshake,
     * chain trust, validity period, host name, MX pattern (the pattern only when the policy has one to check).
     */
    static TlsResult assess(Policy policy, String mxHost, TlsObservation observation) {
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
        return policyRefusal(type, detail + "; the policy is enforced");
    }

    private static Verdict.Refuse daneRefuse(TlsFailureType type, String detail) {
        return policyRefusal(type, detail + "; DANE (RFC 7672) requires authenticated TLS");
    }

    /** A TLS failure under the policy: reported as such (RFC 8460 §4.3), temporary ({@value #POLICY_FAILURE_CODE}). */
    private static Verdict.Refuse policyRefusal(TlsFailureType type, String reason) {
        return new Verdict.Refuse(
                Verdict.Refuse.Ground.TLS_POLICY,
                type,
                POLICY_FAILURE_CODE,
                reason,
                Optional.of(new Verdict.Reported(TlsResult.failure(type, reason), "refuse")));
    }

    private static String mxNotListed(Policy policy, String mxHost) {
        String patterns =
                policy.mxs().stream().map(MxPattern::text).collect(Collectors.joining(", "));
        return mxHost + " matches no MX pattern of the policy (" + patterns + ")";
    }
}
