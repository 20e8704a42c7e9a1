package org.tlsrelay.core.enforce;

import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What one connection showed before {@code MAIL FROM}: its TLS, and the EHLO keywords the MX advertised in the
 * session that would carry the message (after STARTTLS: the second EHLO, RFC 3207 §4.2). {@link Enforcer} reads the
 * keywords where a decision depends on them (RFC 8689 §4.2.1: REQUIRETLS).
 *
 * @param tls what STARTTLS showed
 * @param ehloKeywords the EHLO keywords, upper case (RFC 5321 §4.1.1.1)
 */
public record MxObservation(TlsObservation tls, Set<String> ehloKeywords) {
    public MxObservation {
        ehloKeywords =
                ehloKeywords.stream()
                        .map(k -> k.toUpperCase(Locale.ROOT))
                        .collect(Collectors.toUnmodifiableSet());
    }

    /** Whether the MX advertised {@code keyword} in EHLO. */
    public boolean advertises(String keyword) {
        return ehloKeywords.contains(keyword.toUpperCase(Locale.ROOT));
    }
}
