package org.tlsrelay.core.policy.resolve;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.list.ListedPolicy;
import org.tlsrelay.core.policy.list.PolicyLists;
import org.tlsrelay.core.policy.mtasts.MtaStsResolver;
import org.tlsrelay.core.policy.mtasts.StsFailure;
import org.tlsrelay.core.policy.mtasts.StsOutcome;

/**
 * The single place that decides which policy applies to a recipient domain. Precedence, highest first:
 * <ol>
 *   <li>a local override that says {@code force: true} (the operator's explicit word; MTA-STS is not consulted);</li>
 *   <li>a valid MTA-STS policy, fetched now or cached and unexpired (RFC 8461) — "MTA-STS should take precedence
 *       over the STARTTLS policy list";</li>
 *   <li>the first configured, unexpired policy list that names the domain — also when the MTA-STS fetch failed and
 *       nothing was cached: "the primary benefit of the list with MTA-STS is to secure MTA-STS on first use";</li>
 *   <li>a local override without {@code force};</li>
 *   <li>nothing: opportunistic TLS.</li>
 * </ol>
 * An MTA-STS policy with {@code mode: none} is a valid policy and wins like any other (the domain owner opted out).
 */
public final class PolicyResolver {
    /**
     * What the operator configured: whether MTA-STS is consulted ({@code policy.mta-sts.enabled}) and the local
     * overrides by domain ({@code policy.overrides}).
     */
    public record Settings(boolean mtaStsEnabled, Map<String, LocalOverride> overrides) {
        public Settings {
            Map<String, LocalOverride> byName = new LinkedHashMap<>();
            overrides.forEach((domain, o) -> byName.put(domain.toLowerCase(Locale.ROOT), o));
            overrides = Map.copyOf(byName);
        }

        /** MTA-STS on, no overrides. */
        public static Settings defaults() {
            return new Settings(true, Map.of());
        }
    }

    /**
     * A local policy for one domain.
     *
     * @param force whether it wins over MTA-STS and every list ({@code force: true})
     */
    public record LocalOverride(Policy policy, boolean force) {}

    private final Settings settings;
    private final MtaStsResolver mtaSts;
    private final PolicyLists lists;
    private final Clock clock;

    /**
     * @param mtaSts consulted only when {@link Settings#mtaStsEnabled()}
     */
    public PolicyResolver(
            Settings settings, MtaStsResolver mtaSts, PolicyLists lists, Clock clock) {
        this.settings = settings;
        this.mtaSts = mtaSts;
        this.lists = lists;
        this.clock = clock;
    }

    /**
     * The policy for {@code domain}. The future completes normally; an invalid domain name is an
     * {@link IllegalArgumentException} thrown at once.
     */
    public CompletableFuture<ResolvedPolicy> resolve(String domain) {
        return resolve(DnsNames.requireValid(domain), false);
    }

    /**
     * Like {@link #resolve}, but MTA-STS always asks DNS for a new policy id first: call it before failing a message
     * permanently (RFC 8461 §5.1).
     */
    public CompletableFuture<ResolvedPolicy> revalidate(String domain) {
        return resolve(DnsNames.requireValid(domain), true);
    }

    /** Blocking {@link #resolve}, for the command line. */
    public ResolvedPolicy resolveNow(String domain, Duration timeout)
            throws TimeoutException, InterruptedException {
        try {
            return resolve(domain).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("policy resolution failed for " + domain, e.getCause());
        }
    }

    private CompletableFuture<ResolvedPolicy> resolve(String domain, boolean recheck) {
        LocalOverride override = settings.overrides().get(domain);
        if (override != null && override.force()) {
            return CompletableFuture.completedFuture(
                    ResolvedPolicy.override(
                            domain,
                            override.policy(),
                            true,
                            "the local override says force: true, which wins over MTA-STS and every list",
                            null));
        }
        if (!settings.mtaStsEnabled()) {
            return CompletableFuture.completedFuture(
                    withoutMtaSts(
                            domain,
                            override,
                            null,
                            "MTA-STS is disabled (policy.mta-sts.enabled: false)"));
        }
        CompletableFuture<StsOutcome> sts =
                recheck ? mtaSts.revalidate(domain) : mtaSts.lookup(domain);
        return sts.thenApply(outcome -> decide(domain, override, outcome));
    }

    private ResolvedPolicy decide(String domain, LocalOverride override, StsOutcome sts) {
        StsFailure failure = sts.failure().orElse(null);
        if (sts.policy().isPresent()) {
            StringBuilder why =
                    new StringBuilder("a valid MTA-STS policy applies: ").append(sts.explanation());
            Optional<ListedPolicy> listed = lists.find(domain, clock.instant());
            listed.ifPresent(
                    l ->
                            why.append("; MTA-STS takes precedence over list ")
                                    .append(l.listName())
                                    .append(", which also names this domain"));
            if (override != null) {
                why.append(
                        "; the local override (without force: true) applies only where MTA-STS and lists say"
                                + " nothing");
            }
            return ResolvedPolicy.mtaSts(
                    domain, sts.policy().get(), sts.live(), why.toString(), failure);
        }
        String stsWhy = "MTA-STS: " + sts.explanation();
        if (failure != null) {
            stsWhy += " (RFC 8461 §3.3: deliver as if the domain had no MTA-STS)";
        }
        return withoutMtaSts(domain, override, failure, stsWhy);
    }

    private ResolvedPolicy withoutMtaSts(
            String domain, LocalOverride override, StsFailure failure, String stsWhy) {
        Optional<ListedPolicy> listed = lists.find(domain, clock.instant());
        if (listed.isPresent()) {
            ListedPolicy l = listed.get();
            String why =
                    stsWhy
                            + "; list "
                            + l.listName()
                            + " is the first configured, unexpired list that names "
                            + "this domain (valid until "
                            + l.listExpires()
                            + ")";
            if (failure != null) {
                why += "; this is the list's first-use protection for MTA-STS";
            }
            return ResolvedPolicy.list(domain, l.listName(), l.policy(), why, failure);
        }
        if (override != null) {
            return ResolvedPolicy.override(
                    domain,
                    override.policy(),
                    false,
                    stsWhy + "; no list names this domain, so the local override applies",
                    failure);
        }
        return ResolvedPolicy.none(
                domain,
                stsWhy
                        + "; no list names this domain and there is no local override: "
                        + "opportunistic TLS",
                failure);
    }
}
