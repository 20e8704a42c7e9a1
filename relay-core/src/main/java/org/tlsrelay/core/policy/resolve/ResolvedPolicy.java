package org.tlsrelay.core.policy.resolve;

import java.util.List;
import java.util.Optional;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.PolicySource;
import org.tlsrelay.core.policy.mtasts.CachedPolicy;
import org.tlsrelay.core.policy.mtasts.StsFailure;

/**
 * The policy that applies to one recipient domain, as {@link PolicyResolver} decided it: mode and allowed MX
 * patterns, where it came from, and why that source won. For an MTA-STS policy also its {@code id} and text (the
 * RFC 8460 §4.4 {@code policy-string}); and any MTA-STS fetch failure met while resolving, also when another source
 * won (TLS-RPT counts it).
 *
 * <p>The one policy value of the relay: the delivery engine runs under it, TLS-RPT reports name it, and
 * {@code policy show} and {@code policy check} print it. What DANE says per MX host comes on top of it
 * ({@code org.tlsrelay.core.enforce.MxPolicy}).
 */
public final class ResolvedPolicy {
    private final String domain;
    private final Policy policy;
    private final PolicySource source;
    private final String explanation;
    private final String listName;
    private final boolean forced;
    private final CachedPolicy mtaSts;
    private final StsFailure stsFailure;

    private ResolvedPolicy(
            String domain,
            Policy policy,
            PolicySource source,
            String explanation,
            String listName,
            boolean forced,
            CachedPolicy mtaSts,
            StsFailure stsFailure) {
        this.domain = DnsNames.normalise(domain);
        this.policy = policy;
        this.source = source;
        this.explanation = explanation;
        this.listName = listName;
        this.forced = forced;
        this.mtaSts = mtaSts;
        this.stsFailure = stsFailure;
    }

    /** An MTA-STS policy, fetched during this resolution ({@code live}) or from the cache. */
    public static ResolvedPolicy mtaSts(
            String domain, CachedPolicy p, boolean live, String explanation) {
        return mtaSts(domain, p, live, explanation, null);
    }

    /** The policy of the list {@code listName}. */
    public static ResolvedPolicy list(
            String domain, String listName, Policy p, String explanation) {
        return list(domain, listName, p, explanation, null);
    }

    /** A local override ({@code policy.overrides}); {@code forced} when it says {@code force: true}. */
    public static ResolvedPolicy override(
            String domain, Policy p, boolean forced, String explanation) {
        return override(domain, p, forced, explanation, null);
    }

    /** No policy: opportunistic TLS (mode {@code none}, no MX patterns). */
    public static ResolvedPolicy none(String domain, String explanation) {
        return none(domain, explanation, null);
    }

    /**
     * The policy a TLS-RPT report the relay queued itself is delivered under instead of the domain's: opportunistic
     * TLS, "despite any TLS-related failures" (RFC 8460 §3).
     */
    public static ResolvedPolicy tlsRptExempt(String domain) {
        return new ResolvedPolicy(
                domain,
                new Policy(PolicyMode.NONE, List.of()),
                PolicySource.TLSRPT_EXEMPT,
                "a TLS-RPT report is delivered despite any TLS-related failures (RFC 8460 §3)",
                null,
                false,
                null,
                null);
    }

    static ResolvedPolicy mtaSts(
            String domain, CachedPolicy p, boolean live, String explanation, StsFailure failure) {
        return new ResolvedPolicy(
                domain,
                p.policy().asPolicy(),
                live ? PolicySource.MTA_STS_LIVE : PolicySource.MTA_STS_CACHED,
                explanation,
                null,
                false,
                p,
                failure);
    }

    static ResolvedPolicy list(
            String domain, String listName, Policy p, String explanation, StsFailure failure) {
        return new ResolvedPolicy(
                domain, p, PolicySource.LIST, explanation, listName, false, null, failure);
    }

    static ResolvedPolicy override(
            String domain, Policy p, boolean forced, String explanation, StsFailure failure) {
        return new ResolvedPolicy(
                domain, p, PolicySource.OVERRIDE, explanation, null, forced, null, failure);
    }

    static ResolvedPolicy none(String domain, String explanation, StsFailure failure) {
        return new ResolvedPolicy(
                domain,
                new Policy(PolicyMode.NONE, List.of()),
                PolicySource.NONE,
                explanation,
                null,
                false,
                null,
                failure);
    }

    /** The recipient domain, normalised (lower case, no trailing dot). */
    public String domain() {
        return domain;
    }

    /** Mode and MX patterns as the enforcer uses them. */
    public Policy policy() {
        return policy;
    }

    public PolicyMode mode() {
        return policy.mode();
    }

    public List<MxPattern> mxs() {
        return policy.mxs();
    }

    /**
     * Whether a pattern of the policy allows {@code host} (RFC 8461 §4.1), for reports such as {@code policy check};
     * empty when the policy has no pattern to check ({@code none}, or no {@code mx} lines).
     */
    public Optional<Boolean> mxMatch(String host) {
        return mode() == PolicyMode.NONE || mxs().isEmpty()
                ? Optional.empty()
                : Optional.of(policy().allowsMx(host));
    }

    public PolicySource source() {
        return source;
    }

    /** Why this source won, for operators ({@code tlsrelay policy show}) and logs. */
    public String explanation() {
        return explanation;
    }

    /** The list's name, when {@link #source()} is {@link PolicySource#LIST}. */
    public Optional<String> listName() {
        return Optional.ofNullable(listName);
    }

    /** Whether a local override won because it says {@code force: true}. */
    public boolean forced() {
        return forced;
    }

    /** The MTA-STS policy (id, text, fetch time), when the source is MTA-STS. */
    public Optional<CachedPolicy> mtaSts() {
        return Optional.ofNullable(mtaSts);
    }

    /** The MTA-STS policy {@code id}, when the source is MTA-STS. */
    public Optional<String> policyId() {
        return mtaSts().map(CachedPolicy::id);
    }

    /** The policy's lines for the RFC 8460 §4.4 {@code policy-string}; empty unless the source is MTA-STS. */
    public List<String> policyLines() {
        return mtaSts().map(p -> p.policy().lines()).orElse(List.of());
    }

    /** An MTA-STS fetch or validation failure met while resolving, whichever source won. */
    public Optional<StsFailure> stsFailure() {
        return Optional.ofNullable(stsFailure);
    }

    /** {@code MTA-STS (cached)}, {@code list eff}, {@code local override (forced)}, {@code none}. */
    public String sourceDescription() {
        return switch (source) {
            case MTA_STS_LIVE -> "MTA-STS (fetched now)";
            case MTA_STS_CACHED -> "MTA-STS (cached)";
            case LIST -> "list " + listName;
            case OVERRIDE -> forced ? "local override (force: true)" : "local override";
            case NONE -> "none";
            case TLSRPT_EXEMPT -> "TLS-RPT report exemption (RFC 8460 §3)";
        };
    }

    /**
     * The source in one word for the outcome log's {@code source-name}: the list's name, {@code fetched} or
     * {@code cached} for MTA-STS (as {@link #sourceDescription()} says "fetched now"), {@code forced} for an override
     * that says {@code force: true}, {@code tlsrpt-exempt}; empty otherwise.
     */
    public String sourceName() {
        return switch (source) {
            case MTA_STS_LIVE -> "fetched";
            case MTA_STS_CACHED -> "cached";
            case LIST -> listName;
            case OVERRIDE -> forced ? "forced" : "";
            case NONE -> "";
            case TLSRPT_EXEMPT -> source.label();
        };
    }

    @Override
    public String toString() {
        return domain
                + ": "
                + policy.mode().label()
                + " "
                + policy.mxs().stream().map(MxPattern::text).toList()
                + " from "
                + sourceDescription()
                + " — "
                + explanation;
    }
}
