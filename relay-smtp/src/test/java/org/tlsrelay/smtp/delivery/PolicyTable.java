package org.tlsrelay.smtp.delivery;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.testkit.TestPolicies;

/**
 * The engine's policies from tables in memory: what a test put for a domain, no policy otherwise. A re-check before
 * a message is given up (RFC 8461 §5.1) answers what the test put for it, else the same policy, and is counted.
 */
final class PolicyTable implements PolicyLookup {
    private final Map<String, ResolvedPolicy> policies = new ConcurrentHashMap<>();
    private final Map<String, ResolvedPolicy> revalidated = new ConcurrentHashMap<>();
    private final AtomicInteger revalidations = new AtomicInteger();

    /** {@code policy} for its domain from now on. */
    void put(ResolvedPolicy policy) {
        policies.put(policy.domain(), policy);
    }

    /** What a re-check of the policy answers for its domain. */
    void putRevalidated(ResolvedPolicy policy) {
        revalidated.put(policy.domain(), policy);
    }

    /** How many re-checks were asked for. */
    int revalidations() {
        return revalidations.get();
    }

    @Override
    public CompletableFuture<ResolvedPolicy> resolve(String domain) {
        return CompletableFuture.completedFuture(current(domain));
    }

    @Override
    public CompletableFuture<ResolvedPolicy> revalidate(String domain) {
        revalidations.incrementAndGet();
        return CompletableFuture.completedFuture(revalidated.getOrDefault(domain, current(domain)));
    }

    private ResolvedPolicy current(String domain) {
        return policies.getOrDefault(domain, TestPolicies.none(domain));
    }
}
