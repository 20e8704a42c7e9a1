package org.tlsrelay.core.enforce;

import java.util.Objects;

/** A refusal met at one MX host during one delivery attempt, for {@link Enforcer#afterMxWalk}. */
public record MxRefusal(String mxHost, Verdict.Refuse refusal) {
    public MxRefusal {
        Objects.requireNonNull(mxHost, "mxHost");
        Objects.requireNonNull(refusal, "refusal");
    }
}
