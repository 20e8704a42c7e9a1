package org.tlsrelay.core.policy.mtasts;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.tls.TlsFailureType;

/**
 * The fetch path of {@link MtaStsResolver}: fetch a domain's policy for a TXT {@code id}, validate it (RFC 8461 §3.2,
 * §3.3), cache it and tell the listener; or record the failure and start the domain's back-off, keeping an unexpired
 * cached policy in force (§3.3).
 */
final class PolicyFetch {
    // The resolver's logger: the log lines keep the source operators know them by.
    private static final Logger log = LoggerFactory.getLogger(MtaStsResolver.class);

    private final PolicyFetcher fetcher;
    private final PolicyCache cache;
    private final Clock clock;
    private final Executor executor;
    private final MtaStsResolver.Settings settings;
    private final RefreshSchedule schedule;
    private volatile Consumer<CachedPolicy> fetchedListener = p -> {};

    PolicyFetch(
            PolicyFetcher fetcher,
            PolicyCache cache,
            Clock clock,
            Executor executor,
            MtaStsResolver.Settings settings,
            RefreshSchedule schedule) {
        this.fetcher = fetcher;
        this.cache = cache;
        this.clock = clock;
        this.executor = executor;
        this.settings = settings;
        this.schedule = schedule;
    }

    /** See {@link MtaStsResolver#onFetched}. */
    void onFetched(Consumer<CachedPolicy> listener) {
        this.fetchedListener = Objects.requireNonNull(listener);
    }

    CompletableFuture<StsOutcome> fetch(String domain, DomainState st, String id) {
        return fetcher.fetch(domain)
                .thenApplyAsync(
                        result -> {
                            Instant now = clock.instant();
                            if (result instanceof FetchResult.Failed f) {
                                return failed(
                                        domain,
                                        st,
                                        id,
                                        new StsFailure(f.type(), f.url() + ": " + f.detail()),
                                        now);
                            }
                            FetchResult.Fetched fetched = (FetchResult.Fetched) result;
                            PolicyParse parsed = PolicyParser.parse(fetched.body());
                            if (!parsed.valid()) {
                                return failed(
                                        domain,
                                        st,
                                        id,
                                        new StsFailure(
                                                TlsFailureType.STS_POLICY_INVALID,
                                                fetched.url()
                                                        + ": "
                                                        + String.join("; ", parsed.errors())),
                                        now);
                            }
                            // Whole seconds: readable in files and explanations, and never later
                            // than the real fetch.
                            CachedPolicy policy =
                                    new CachedPolicy(
                                            domain,
                                            id,
                                            parsed.policy().orElseThrow(),
                                            now.truncatedTo(ChronoUnit.SECONDS));
                            if (policy.policy().maxAgeSeconds() > 0) {
                                try {
                                    cache.store(policy);
                                } catch (IOException | RuntimeException e) {
                                    log.warn(
                                            "MTA-STS {}: cannot write the policy cache in {}: {}",
                                            domain,
                                            cache.directory(),
                                            Problems.describe(e));
                                }
                            }
                            synchronized (st) {
                                st.policy = policy;
                                st.backoffUntil = null;
                                st.lastFailure = null;
                                st.nextRefresh = schedule.next(now, policy);
                            }
                            if (policy.policy().maxAgeSeconds() > 0) {
                                fetchedListener.accept(policy);
                            }
                            log.info(
                                    "MTA-STS {}: fetched policy id {} (mode {}, max_age {})",
                                    domain,
                                    id,
                                    policy.policy().mode().label(),
                                    policy.policy().maxAgeSeconds());
                            return new StsOutcome(
                                    domain,
                                    policy,
                                    true,
                                    null,
                                    "fetched policy id "
                                            + id
                                            + " from "
                                            + fetched.url()
                                            + " (max_age "
                                            + policy.policy().maxAgeSeconds()
                                            + "s)");
                        },
                        executor);
    }

    private StsOutcome failed(
            String domain, DomainState st, String id, StsFailure failure, Instant now) {
        CachedPolicy cached;
        Instant retry = now.plus(settings.backoff());
        synchronized (st) {
            st.backoffUntil = retry;
            st.lastFailure = failure;
            cached = st.usable(now);
            if (cached != null) {
                st.nextRefresh =
                        retry; // try again once the back-off is over, before the policy expires
            }
        }
        log.info(
                "MTA-STS {}: policy id {} not fetched: {}; next attempt after {}",
                domain,
                id,
                failure,
                retry);
        String why = "fetching policy id " + id + " failed (" + failure + ")";
        return cached != null
                ? StsOutcome.cached(
                        domain,
                        cached,
                        failure,
                        why + "; the cached policy applies (RFC 8461 §3.3)")
                : StsOutcome.none(domain, failure, why + " and no policy is cached");
    }
}
