package org.tlsrelay.smtp.outbound;

import java.util.Locale;
import java.util.Optional;

/** The EHLO keywords this client acts on (RFC 5321 §4.1.1.1); any other keyword is ignored. */
public enum Extension {
    /** RFC 3207. */
    STARTTLS("STARTTLS"),
    /** RFC 2920. */
    PIPELINING("PIPELINING"),
    /** RFC 1870; the limit is kept in {@link Capabilities#sizeLimit()}. */
    SIZE("SIZE"),
    /** RFC 6152. */
    EIGHT_BIT_MIME("8BITMIME"),
    /** RFC 6531. */
    SMTPUTF8("SMTPUTF8"),
    /** RFC 3461. */
    DSN("DSN"),
    /** RFC 2034. */
    ENHANCED_STATUS_CODES("ENHANCEDSTATUSCODES"),
    /** RFC 8689: the MX takes {@code MAIL FROM:<..> REQUIRETLS}. */
    REQUIRETLS("REQUIRETLS"),
    /** RFC 3030 (not used for sending yet). */
    CHUNKING("CHUNKING");

    private final String keyword;

    Extension(String keyword) {
        this.keyword = keyword;
    }

    public String keyword() {
        return keyword;
    }

    static Optional<Extension> ofKeyword(String keyword) {
        String k = keyword.toUpperCase(Locale.ROOT);
        for (Extension e : values()) {
            if (e.keyword.equals(k)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }
}
