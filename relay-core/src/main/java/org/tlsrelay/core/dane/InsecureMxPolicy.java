package org.tlsrelay.core.dane;

import java.util.Locale;

/**
 * What DANE does with an MX host whose MX RRset (or proven absence of one) was not DNSSEC-secure ({@code
 * dane.insecure-mx}).
 */
public enum InsecureMxPolicy {
    /**
     * RFC 7672 §2.2.1: DANE does not apply; MTA-STS, lists and overrides decide, else opportunistic TLS. An attacker
     * who can forge the insecure MX answer could name any host, so its TLSA records prove nothing about the domain.
     */
    OPPORTUNISTIC,
    /**
     * As Postfix's {@code smtp_tls_dane_insecure_mx_policy = dane}: the host's own TLSA records are used when its
     * addresses and TLSA RRset are secure. That protects against STARTTLS stripping and forged certificates on the
     * way to that host, though not against a forged MX answer naming another host.
     */
    DANE;

    /** The YAML value, e.g. {@code opportunistic}. */
    @com.fasterxml.jackson.annotation.JsonValue
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** From the YAML value. */
    @com.fasterxml.jackson.annotation.JsonCreator
    public static InsecureMxPolicy parse(String value) {
        for (InsecureMxPolicy p : values()) {
            if (p.label().equals(value)) {
                return p;
            }
        }
        throw new IllegalArgumentException("\"" + value + "\" is not one of opportunistic, dane");
    }
}
