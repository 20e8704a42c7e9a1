package org.tlsrelay.core.enforce;

import java.util.List;
import java.util.Objects;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.PolicySource;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;

/**
 * The policy one MX host is judged under: the recipient domain's {@link ResolvedPolicy} and what DANE says about
 * the host. Where DANE decides ({@link DanePolicy.Required}, or {@link DanePolicy.Failed}: the host waits) it wins
 * over every other source for that host (RFC 8461 §2), and TLS-RPT reports it as a {@code tlsa} policy with the TLSA
 * records as its strings (RFC 8460 §4.4); otherwise the domain's policy stays in force.
 *
 * @param domainPolicy the recipient domain's policy, as resolved
 * @param dane what DANE says about this MX host; {@link DanePolicy.NotApplicable} when it was not looked at
 */
public record MxPolicy(ResolvedPolicy domainPolicy, DanePolicy dane) {

    public MxPolicy {
        Objects.requireNonNull(domainPolicy, "domainPolicy");
        Objects.requireNonNull(dane, "dane");
    }

    /** The domain's policy for an MX host whose DANE policy was not looked at. */
    public static MxPolicy domainWide(ResolvedPolicy domainPolicy) {
        return new MxPolicy(domainPolicy, new DanePolicy.NotApplicable("", "not looked up"));
    }

    /** The recipient (policy) domain. */
    public String domain() {
        return domainPolicy.domain();
    }

    /** The domain's mode and MX patterns. */
    public Policy policy() {
        return domainPolicy.policy();
    }

    public PolicyMode mode() {
        return domainPolicy.mode();
    }

    /** Whether DANE decides for this MX host (its TLSA records, or a DNSSEC failure). */
    public boolean daneApplies() {
        return dane instanceof DanePolicy.Required || dane instanceof DanePolicy.Failed;
    }

    /**
     * The policy as published, one entry per line (RFC 8460 {@code policy-string}): the TLSA records in presentation
     * form where DANE decides, the MTA-STS policy's lines, otherwise nothing.
     */
    public List<String> policyText() {
        if (dane instanceof DanePolicy.Required r) {
            return r.records().stream().map(Object::toString).toList();
        }
        if (dane instanceof DanePolicy.Failed) {
            return List.of();
        }
        return domainPolicy.policyLines();
    }

    /**
     * The source in one word for the outcome log: the TLSA base domain, {@code dnssec-failure}, or the domain
     * policy's {@link ResolvedPolicy#sourceName()}.
     */
    public String sourceName() {
        if (dane instanceof DanePolicy.Required r) {
            return r.tlsaBaseDomain();
        }
        if (dane instanceof DanePolicy.Failed) {
            return "dnssec-failure";
        }
        return domainPolicy.sourceName();
    }

    /** Whether TLS-RPT reports this as an MTA-STS ({@code sts}) policy. */
    public boolean isMtaSts() {
        return !daneApplies() && domainPolicy.source().isMtaSts();
    }

    /** Whether this is the policy of a TLS-RPT report the relay sends itself (RFC 8460 §3). */
    public boolean isTlsRptExempt() {
        return domainPolicy.source() == PolicySource.TLSRPT_EXEMPT;
    }
}
