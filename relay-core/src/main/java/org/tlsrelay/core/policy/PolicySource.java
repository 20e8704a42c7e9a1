package org.tlsrelay.core.policy;

/** Where a domain's resolved policy came from. */
public enum PolicySource {
    /** An MTA-STS policy fetched from {@code mta-sts.DOMAIN} during this resolution (RFC 8461). */
    MTA_STS_LIVE("mta-sts-live"),
    /** An unexpired MTA-STS policy from the cache (RFC 8461 §5.1). */
    MTA_STS_CACHED("mta-sts-cached"),
    /** The first configured, unexpired policy list that names the domain. */
    LIST("list"),
    /** A local override from the configuration ({@code policy.overrides}). */
    OVERRIDE("override"),
    /** Nothing applies: opportunistic TLS. */
    NONE("none"),
    /**
     * Not the domain's policy: a TLS-RPT report the relay queued itself, which RFC 8460 §3 says to deliver "despite
     * any TLS-related failures" (opportunistic TLS, session not reported). The resolver never answers this.
     */
    TLSRPT_EXEMPT("tlsrpt-exempt");

    private final String label;

    PolicySource(String label) {
        this.label = label;
    }

    /** The name used in JSON output, e.g. {@code mta-sts-cached}. */
    public String label() {
        return label;
    }

    /** Whether the policy is an MTA-STS policy (live or cached): RFC 8460 reports it as policy-type "sts". */
    public boolean isMtaSts() {
        return this == MTA_STS_LIVE || this == MTA_STS_CACHED;
    }
}
