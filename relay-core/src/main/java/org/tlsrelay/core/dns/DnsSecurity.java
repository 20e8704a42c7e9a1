package org.tlsrelay.core.dns;

/**
 * What DNSSEC says about an answer (RFC 4033 §5, RFC 4035 §4.3). A third state, bogus, never reaches a caller as
 * data: a bogus answer is a {@link DnsResult.Failed} with {@link DnsResult.Failure#BOGUS} and the validator's reason,
 * because it must never be used (RFC 4035 §5.5; RFC 7672 §2.1.1).
 */
public enum DnsSecurity {
    /**
     * Validated: a chain of trust from a configured trust anchor signs the records, or proves their absence (an
     * authenticated denial of existence, RFC 4035 §5.4). For a CNAME chain, every link was secure.
     */
    SECURE,
    /**
     * Not validated: the name lies below an insecure delegation (a provably unsigned zone, RFC 4035 §5.2), or no
     * validation was done at all (the non-validating resolver, {@code dns.dnssec: off}).
     */
    INSECURE
}
