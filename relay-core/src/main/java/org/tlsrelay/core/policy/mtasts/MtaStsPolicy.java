package org.tlsrelay.core.policy.mtasts;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;

/**
 * A valid MTA-STS policy (RFC 8461 §3.2), as parsed by {@link PolicyParser}. {@code text} is the policy file exactly
 * as fetched (decoded as UTF-8): the cache stores it, and TLS-RPT reports it line by line.
 *
 * @param maxAgeSeconds already clamped to {@link #MAX_AGE_LIMIT}
 */
public record MtaStsPolicy(PolicyMode mode, List<MxPattern> mx, long maxAgeSeconds, String text) {
    /** RFC 8461 §3.2: "maximum value of 31557600" (one year). */
    public static final long MAX_AGE_LIMIT = 31_557_600L;

    public MtaStsPolicy {
        mx = List.copyOf(mx);
        if (maxAgeSeconds < 0 || maxAgeSeconds > MAX_AGE_LIMIT) {
            throw new IllegalArgumentException(
                    "max_age " + maxAgeSeconds + " is out of range 0.." + MAX_AGE_LIMIT);
        }
    }

    public Duration maxAge() {
        return Duration.ofSeconds(maxAgeSeconds);
    }

    /** The mode and MX patterns as the enforcer uses them. */
    public Policy asPolicy() {
        return new Policy(mode, mx);
    }

    /**
     * The policy's lines without line terminators, for the RFC 8460 §4.4 {@code policy-string} array (the final
     * terminator does not start an extra, empty line).
     */
    public List<String> lines() {
        String t = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        return Arrays.stream(t.split("\n", -1))
                .map(l -> l.endsWith("\r") ? l.substring(0, l.length() - 1) : l)
                .toList();
    }
}
