package org.tlsrelay.core.policy.mtasts;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/** What {@link MtaStsResolver} knows of one domain; guarded by its own monitor. */
final class DomainState {
    CachedPolicy policy;
    Instant lastTxtCheck;
    String lastNoPolicy; // why the last TXT check found no policy; null when it found one
    Instant backoffUntil;
    StsFailure lastFailure;
    Instant nextRefresh;
    CompletableFuture<StsOutcome> inflight;

    /** The policy if it may still be used; an expired one is forgotten (its file is replaced later). */
    CachedPolicy usable(Instant now) {
        if (policy != null && policy.isExpired(now)) {
            policy = null;
            nextRefresh = null;
        }
        return policy;
    }
}
