package org.tlsrelay.core.enforce;

import java.util.List;
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
 *     MTA-STS
 */
public record PolicyContext(String domain, Source source, String sourceName, Policy policy, List<String> policyText) {

    /** Kinds of policy source; TLS-RPT reports MTA-STS as {@code sts} and everything else as no policy found. */
    public enum Source {
        MTA_STS,
        LIST,
        OVERRIDE,
        NONE
    }

    public PolicyContext {
        domain = domain.toLowerCase(java.util.Locale.ROOT);
        policyText = List.copyOf(policyText);
    }

    /** A domain for which no source has a policy: opportunistic TLS (mode {@code none}, no MX patterns). */
    public static PolicyContext noPolicy(String domain) {
        return new PolicyContext(domain, Source.NONE, "", new Policy(PolicyMode.NONE, List.of()), List.of());
    }

    public PolicyMode mode() {
        return policy.mode();
    }
}
