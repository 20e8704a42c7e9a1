package org.tlsrelay.core.enforce;

/**
 * What the message itself asks of TLS (RFC 8689), on top of the recipient domain's policy.
 */
public enum TlsRequirement {
    /** Nothing: the domain's policy (and DANE) decide. */
    POLICY,
    /**
     * {@code MAIL FROM:<..> REQUIRETLS} (RFC 8689 §4.2.1): only an MX authenticated by DANE or by an enforced policy
     * (MTA-STS, a list, an override) with a verified certificate, and which advertises REQUIRETLS itself.
     */
    REQUIRETLS,
    /**
     * {@code TLS-Required: No} (RFC 8689 §5): deliver despite policy failures (DANE and MTA-STS included), still
     * over TLS when the MX offers it.
     */
    TLS_OPTIONAL
}
