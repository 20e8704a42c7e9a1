package org.tlsrelay.core.policy.mtasts;

import java.time.Instant;

/**
 * A policy in the cache (RFC 8461 §5.1): keyed by domain, with the TXT {@code id} it was fetched under, the policy,
 * and when it was fetched. It may be used until {@code fetchedAt + max_age}.
 */
public record CachedPolicy(String domain, String id, MtaStsPolicy policy, Instant fetchedAt) {

    public Instant expiresAt() {
        return fetchedAt.plus(policy.maxAge());
    }

    /** Whether the policy may no longer be used at {@code now} (RFC 8461 §3.2 max_age: "max lifetime"). */
    public boolean isExpired(Instant now) {
        return !now.isBefore(expiresAt());
    }
}
