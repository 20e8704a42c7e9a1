package org.tlsrelay.smtp.delivery;

import java.util.Optional;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.queue.Envelope;

/**
 * A policy that replaces the recipient domain's resolved policy for some messages, e.g. TLS-RPT reports, which
 * RFC 8460 §3 says must be delivered "despite any TLS-related failures". Asked once per (message, domain) attempt,
 * before the domain's policy is resolved; empty means the domain's own policy applies.
 */
@FunctionalInterface
public interface PolicyOverride {

    Optional<ResolvedPolicy> policyFor(Envelope envelope, String domain);

    /** No message is treated specially. */
    static PolicyOverride none() {
        return (envelope, domain) -> Optional.empty();
    }
}
