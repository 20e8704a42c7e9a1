package org.tlsrelay.smtp.handover;

import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * What a session with the other relay showed, for {@link HandOverRules} and the log.
 *
 * @param relay the other relay as the log names it, {@code host[address]:port}
 * @param tls the TLS version and cipher suite ({@code TLSv1.3/TLS_AES_256_GCM_SHA384}), {@code none} in clear
 * @param verified the certificate chained to the trust anchors and named the host (only ever when they were asked for)
 * @param extensions the EHLO keywords (after STARTTLS, when it was used), upper case
 * @param sizeLimit the SIZE the other relay advertised (RFC 1870), 0 for none
 */
public record SessionFacts(
        String relay, String tls, boolean verified, Set<String> extensions, long sizeLimit) {
    public SessionFacts {
        Objects.requireNonNull(relay, "relay");
        Objects.requireNonNull(tls, "tls");
        extensions = Set.copyOf(extensions);
    }

    public boolean encrypted() {
        return !tls.equals("none");
    }

    public boolean offers(String keyword) {
        return extensions.contains(keyword.toUpperCase(Locale.ROOT));
    }
}
