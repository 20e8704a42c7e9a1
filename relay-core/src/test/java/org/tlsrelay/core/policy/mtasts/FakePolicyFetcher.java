package org.tlsrelay.core.policy.mtasts;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.tlsrelay.core.tls.TlsFailureType;

/** A {@link PolicyFetcher} answering from a map, counting fetches; unknown domains fail with a fetch error. */
public final class FakePolicyFetcher implements PolicyFetcher {
    private final Map<String, FetchResult> answers = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> fetches = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Void>> gates = new ConcurrentHashMap<>();

    public FakePolicyFetcher serve(String domain, String policy) {
        answers.put(
                domain,
                new FetchResult.Fetched(
                        PolicyFetcher.url(domain, 443), policy.getBytes(StandardCharsets.UTF_8)));
        return this;
    }

    public FakePolicyFetcher fail(String domain, TlsFailureType type) {
        answers.put(
                domain,
                new FetchResult.Failed(PolicyFetcher.url(domain, 443), type, "test says so"));
        return this;
    }

    /** Fetches of {@code domain} wait until the returned future is completed. */
    public CompletableFuture<Void> hold(String domain) {
        return gates.computeIfAbsent(domain, d -> new CompletableFuture<>());
    }

    public int fetches(String domain) {
        AtomicInteger n = fetches.get(domain);
        return n == null ? 0 : n.get();
    }

    @Override
    public CompletableFuture<FetchResult> fetch(String domain) {
        fetches.computeIfAbsent(domain, d -> new AtomicInteger()).incrementAndGet();
        FetchResult r =
                answers.getOrDefault(
                        domain,
                        new FetchResult.Failed(
                                PolicyFetcher.url(domain, 443),
                                TlsFailureType.STS_POLICY_FETCH_ERROR,
                                "no such host"));
        CompletableFuture<Void> gate = gates.get(domain);
        return gate == null ? CompletableFuture.completedFuture(r) : gate.thenApply(v -> r);
    }
}
