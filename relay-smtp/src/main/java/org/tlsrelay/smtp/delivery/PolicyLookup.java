package org.tlsrelay.smtp.delivery;

import java.util.concurrent.CompletableFuture;
import org.tlsrelay.core.enforce.PolicyContext;
import org.tlsrelay.core.policy.resolve.PolicyResolver;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;

/**
 * Where the engine gets a domain's policy: in the relay, the {@link PolicyResolver}; in tests, a fixed table. Both
 * futures complete normally.
 */
public interface PolicyLookup {

    /** The policy for {@code domain} now (cached MTA-STS policies are used as RFC 8461 §5.1 allows). */
    CompletableFuture<PolicyContext> resolve(String domain);

    /** The policy after asking DNS for a new MTA-STS policy id: asked before a message is given up (RFC 8461 §5.1). */
    CompletableFuture<PolicyContext> revalidate(String domain);

    /** The relay's resolver. */
    static PolicyLookup of(PolicyResolver resolver) {
        return new PolicyLookup() {
            @Override
            public CompletableFuture<PolicyContext> resolve(String domain) {
                return resolver.resolve(domain).thenApply(PolicyLookup::context);
            }

            @Override
            public CompletableFuture<PolicyContext> revalidate(String domain) {
                return resolver.revalidate(domain).thenApply(PolicyLookup::context);
            }
        };
    }

    /** What a delivery attempt and a TLS-RPT report need of a resolved policy. */
    static PolicyContext context(ResolvedPolicy p) {
        return switch (p.source()) {
            case MTA_STS_LIVE ->
                    new PolicyContext(
                            p.domain(),
                            PolicyContext.Source.MTA_STS,
                            "fetched",
                            p.policy(),
                            p.policyLines());
            case MTA_STS_CACHED ->
                    new PolicyContext(
                            p.domain(),
                            PolicyContext.Source.MTA_STS,
                            "cached",
                            p.policy(),
                            p.policyLines());
            case LIST ->
                    new PolicyContext(
                            p.domain(),
                            PolicyContext.Source.LIST,
                            p.listName().orElse(""),
                            p.policy(),
                            java.util.List.of());
            case OVERRIDE ->
                    new PolicyContext(
                            p.domain(),
                            PolicyContext.Source.OVERRIDE,
                            p.forced() ? "forced" : "",
                            p.policy(),
                            java.util.List.of());
            case NONE -> PolicyContext.noPolicy(p.domain());
        };
    }
}
