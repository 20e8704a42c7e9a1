package org.tlsrelay.core.enforce;

/** Where the current time falls in the validity periods of a presented certificate chain (RFC 5280 §4.1.2.5). */
public enum CertificateValidity {
    VALID,
    /** Some certificate of the chain is past its {@code notAfter}. */
    EXPIRED,
    /** Some certificate of the chain is before its {@code notBefore}. */
    NOT_YET_VALID
}
