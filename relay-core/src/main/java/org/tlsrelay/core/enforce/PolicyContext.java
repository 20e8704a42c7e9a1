package org.tlsrelay.core.enforce;

import java.util.List;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;

/**
 * The policy a delivery attempt runs under, with what a TLS-RPT report needs to name it (RFC 8460 §4.4
 * {@code policy}): its domain, where it came from and, for MTA-STS, the policy text. The scheduler makes one from
 * the resolver's answer; a domain without any policy is {@link #noPolicy(String)} (mode {@code none}).
 *
 * @param domain the recipient (policy) domain
 * @param source which kind of source produced the policy
 * @param sourceName the list's name for {@link Source#LIST}, otherwise free text such as {@code cached}; may be empty
 * @param policy mode and MX patterns; the only part {@link Enforcer} reads
 * @param policyText the policy as published, one entry per line (RFC 8460 {@code policy-string}); empty unless
 *     MTA-STS, or DANE (the TLSA records in presentation form)
 * @param dane what DANE says about the one MX host this context is for; {@link DanePolicy.NotApplicable} for a
 *     domain-wide context (see {@link #forMx})
 */
public record PolicyContext(
        String domain,
        Source source,
        String sourceName,
        Policy policy,
        List<String> policyText,
        DanePolicy dane) {

    /**
     * Kinds of policy source; TLS-RPT reports MTA-STS as {@code sts}, DANE as {@code tlsa} and everything else as no
     * policy found.
     */
    public enum Source {
        MTA_STS,
        LIST,
        OVERRIDE,
        NONE,
        /** DANE decides for this MX host (RFC 7672); it wins over every other source (RFC 8461 §2). */
        DANE
    }

    public PolicyContext {
        domain = domain.toLowerCase(java.util.Locale.ROOT);
        policyText = List.copyOf(policyText);
        java.util.Objects.requireNonNull(dane, "dane");
    }

    /** A domain-wide context: DANE not looked at. */
    public PolicyContext(
            String domain,
            Source source,
            String sourceName,
            Policy policy,
            List<String> policyText) {
        this(
                domain,
                source,
                sourceName,
                policy,
                policyText,
                new DanePolicy.NotApplicable("", "not looked up"));
    }

    /**
     * This context for one MX host, given what DANE says about it. Where DANE decides ({@link DanePolicy.Required},
     * or {@link DanePolicy.Failed}: the host waits), the context becomes a DANE one, reported as a {@code tlsa}
     * policy with the TLSA records as its strings (RFC 8460 §4.4); otherwise the domain's own policy stays in force.
     */
    public PolicyContext forMx(DanePolicy danePolicy) {
        if (danePolicy instanceof DanePolicy.Required r) {
            return new PolicyContext(
                    domain,
                    Source.DANE,
                    r.tlsaBaseDomain(),
                    policy,
                    r.records().stream().map(Object::toString).toList(),
                    danePolicy);
        }
        if (danePolicy instanceof DanePolicy.Failed) {
            return new PolicyContext(
                    domain, Source.DANE, "dnssec-failure", policy, List.of(), danePolicy);
        }
        return new PolicyContext(domain, source, sourceName, policy, policyText, danePolicy);
    }

    /** Whether DANE decides for the MX host of this context (its TLSA records, or a DNSSEC failure). */
    public boolean daneApplies() {
        return source == Source.DANE;
    }

    /** A domain for which no source has a policy: opportunistic TLS (mode {@code none}, no MX patterns). */
    public static PolicyContext noPolicy(String domain) {
        return new PolicyContext(
                domain, Source.NONE, "", new Policy(PolicyMode.NONE, List.of()), List.of());
    }

    public PolicyMode mode() {
        return policy.mode();
    }
}
