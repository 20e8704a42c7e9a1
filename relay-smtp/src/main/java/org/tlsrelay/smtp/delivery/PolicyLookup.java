package org.tlsrelay.smtp.delivery;

import java.util.concurrent.CompletableFuture;
import org.tlsrelay.core.policy.resolve.PolicyResolver;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;

/**
 * Where the engine gets a domain's policy: in the relay, the {@link PolicyResolver}; in tests, a fixed table. Both
 * futures complete normally; the domain is a valid domain name (the engine checks before it asks).
 */
public interface PolicyLookup {

    /** The policy for {@code domain} now (cached MTA-STS policies are used as RFC 8461 §5.1 allows). */
    CompletableFuture<ResolvedPolicy> resolve(String domain);

    /** The policy after asking DNS for a new MTA-STS policy id: asked before a message is given up (RFC 8461 §5.1). */
    CompletableFuture<ResolvedPolicy> revalidate(String domain);

    /** The relay's resolver. */
    static PolicyLookup of(PolicyResolver resolver) {
        return new PolicyLookup() {
            @Override
            public CompletableFuture<ResolvedPolicy> resolve(String domain) {
                return resolver.resolve(domain);
            }

            @Override
            public CompletableFuture<ResolvedPolicy> revalidate(String domain) {
                return resolver.revalidate(domain);
            }
        };
    }
}
