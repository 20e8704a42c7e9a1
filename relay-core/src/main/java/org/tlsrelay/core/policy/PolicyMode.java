package org.tlsrelay.core.policy;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;
import java.util.Optional;

/** How strictly a domain's TLS requirements are applied (RFC 8461 §5, STARTTLS-Everywhere list "mode"). */
public enum PolicyMode {
    /** Deliver only to an MX that matches the policy and presents a valid certificate over STARTTLS. */
    ENFORCE,
    /** Deliver anyway, but report what would have failed. */
    TESTING,
    /** No requirement: opportunistic TLS. */
    NONE;

    @JsonValue
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code enforce}, {@code testing} or {@code none}, exactly as written in policies (case-sensitive). */
    public static Optional<PolicyMode> parse(String text) {
        for (PolicyMode mode : values()) {
            if (mode.label().equals(text)) {
                return Optional.of(mode);
            }
        }
        return Optional.empty();
    }
}
