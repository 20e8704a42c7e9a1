package org.tlsrelay.core.policy.mtasts;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.tls.TlsFailureType;

/**
 * A domain's MTA-STS policy, per RFC 8461 §3 and §5.1: TXT discovery, HTTPS fetch, validation, and the cache.
 *
 * <ul>
 *   <li>An unexpired cached policy is used without asking DNS when its TXT {@code id} was checked within
 *       {@link Settings#txtRecheck()}; otherwise the TXT record is read, and a new {@code id} triggers a fetch.</li>
 *   <li>When the TXT look-up fails, the TXT record is gone or invalid, or the fetch fails, an unexpired cached policy
 *       keeps applying (§3.3: "if no 'live' policy can be discovered via DNS or fetched via HTTPS, but a valid
 *       (non-expired) policy exists in the sender's cache, the sender MUST apply that cached policy").</li>
 *   <li>After a failed fetch the domain is not fetched again for {@link Settings#backoff()} (at least five minutes),
 *       so that a broken or hostile policy host is not hammered by every queued message.</li>
 *   <li>Cached policies are refreshed before they expire, about daily with jitter (§3.3 "MTAs SHOULD proactively
 *       refresh cached policies before they expire"): see {@link MtaStsRefresher}.</li>
 * </ul>
 * Futures complete normally; the blocking work (HTTPS, cache files) runs on the given executor. Time comes only from
 * the given clock.
 */
public final class MtaStsResolver {
    private static final Logger log = LoggerFactory.getLogger(MtaStsResolver.class);

    /** Never back off for less: RFC 8461 leaves the figure open; five minutes bounds load on a failing host. */
    public static final Duration MIN_BACKOFF = Duration.ofMinutes(5);

    /**
     * Timing of look-ups and refreshes.
     *
     * @param txtRecheck      how long a cached policy is used before its TXT {@code id} is read again
     * @param backoff         no fetch for this long after a failed one (at least {@link #MIN_BACKOFF})
     * @param refreshInterval how often a cached policy's TXT {@code id} is checked proactively (about daily)
     * @param refreshJitter   each refresh time moves by a random amount up to this, either way
     */
    public record Settings(
            Duration txtRecheck,
            Duration backoff,
            Duration refreshInterval,
            Duration refreshJitter) {
        public Settings {
            if (backoff.compareTo(MIN_BACKOFF) < 0) {
                throw new IllegalArgumentException(
                        "the MTA-STS fetch back-off must be at least 5 minutes");
            }
            if (txtRecheck.isNegative()
                    || refreshJitter.isNegative()
                    || refreshInterval.compareTo(refreshJitter) <= 0) {
                throw new IllegalArgumentException("invalid MTA-STS timing " + this);
            }
        }

        public static Settings defaults() {
            return new Settings(
                    Duration.ofMinutes(5), MIN_BACKOFF, Duration.ofHours(24), Duration.ofHours(2));
        }
    }

    /** How hard a look-up tries. */
    enum Mode {
        /** Use an unexpired cached policy without DNS when its id was checked recently. */
        NORMAL,
        /** Always read the TXT record (RFC 8461 §5.1: before a message is failed permanently). */
        RECHECK,
        /** Proactive refresh: read the TXT record, and fetch when the id changed or the policy nears expiry. */
        REFRESH
    }

    private final DnsResolver dns;
    private final PolicyFetcher fetcher;
    private final PolicyCache cache;
    private final Clock clock;
    private final Settings settings;
    private final RefreshSchedule schedule;
    private final PolicyFetch policyFetch;
    private final Map<String, DomainState> states = new ConcurrentHashMap<>();

    private MtaStsResolver(
            DnsResolver dns,
            PolicyFetcher fetcher,
            PolicyCache cache,
            Clock clock,
            Executor executor,
            Settings settings) {
        this.dns = dns;
        this.fetcher = fetcher;
        this.cache = cache;
        this.clock = clock;
        this.settings = settings;
        this.schedule = new RefreshSchedule(settings);
        this.policyFetch = new PolicyFetch(fetcher, cache, clock, executor, settings, schedule);
    }

    /**
     * Opens the resolver on the cache directory: every unexpired cached policy is loaded (expired ones are deleted),
     * so that a restart keeps the policies it had.
     */
    public static MtaStsResolver open(
            DnsResolver dns,
            PolicyFetcher fetcher,
            PolicyCache cache,
            Clock clock,
            Executor executor,
            Settings settings)
            throws IOException {
        MtaStsResolver r = new MtaStsResolver(dns, fetcher, cache, clock, executor, settings);
        Instant now = clock.instant();
        for (CachedPolicy p : cache.loadAll().values()) {
            if (p.isExpired(now)) {
                cache.delete(p.domain());
                continue;
            }
            DomainState st = r.state(p.domain());
            synchronized (st) {
                st.policy = p;
                st.nextRefresh = r.schedule.next(now, p);
            }
        }
        return r;
    }

    /** The policy that applies to {@code domain} now (RFC 8461 §5.1 step 1, with the cache). */
    public CompletableFuture<StsOutcome> lookup(String domain) {
        return run(DnsNames.requireValid(domain), Mode.NORMAL);
    }

    /**
     * Like {@link #lookup}, but always asks DNS whether the policy {@code id} changed. RFC 8461 §5.1: "A message
     * delivery attempt MUST NOT be permanently failed until the sender has first checked for the presence of a new
     * policy".
     */
    public CompletableFuture<StsOutcome> revalidate(String domain) {
        return run(DnsNames.requireValid(domain), Mode.RECHECK);
    }

    /** Proactive refresh of one cached domain (see {@link MtaStsRefresher}). */
    CompletableFuture<StsOutcome> refresh(String domain) {
        return run(DnsNames.requireValid(domain), Mode.REFRESH);
    }

    /** The domains whose cached policy is due for a proactive refresh at {@code now}. */
    List<String> dueForRefresh() {
        Instant now = clock.instant();
        List<String> due = new ArrayList<>();
        states.forEach(
                (domain, st) -> {
                    synchronized (st) {
                        if (st.usable(now) != null
                                && st.nextRefresh != null
                                && !now.isBefore(st.nextRefresh)
                                && st.inflight == null) {
                            due.add(domain);
                        }
                    }
                });
        return due;
    }

    /**
     * Hears every policy this resolver fetched and validated (a cluster shares it with the other relays, issue 18). The
     * listener runs on the fetch's executor and must not block.
     */
    public void onFetched(Consumer<CachedPolicy> listener) {
        policyFetch.onFetched(listener);
    }

    /**
     * Takes a policy another relay fetched (a cluster's shared cache), when it is newer than the one held and not
     * expired: it then applies as if fetched here, and is written to the local cache, so that it also survives a
     * restart without the cluster. The caller has validated it (its text parsed again, its domain checked); its TXT
     * {@code id} is still compared with DNS before use, as for any cached policy (RFC 8461 §5.1).
     *
     * @return whether the policy was taken
     */
    public boolean adopt(CachedPolicy shared) {
        Instant now = clock.instant();
        if (shared.isExpired(now) || shared.fetchedAt().isAfter(now.plus(Duration.ofMinutes(5)))) {
            return false; // expired, or from a clock far ahead: not to be trusted for max_age
        }
        String domain = DnsNames.requireValid(shared.domain());
        DomainState st = state(domain);
        synchronized (st) {
            CachedPolicy held = st.usable(now);
            if (held != null && !shared.fetchedAt().isAfter(held.fetchedAt())) {
                return false;
            }
            st.policy = shared;
            st.backoffUntil = null;
            st.lastFailure = null;
            st.nextRefresh = schedule.next(now, shared);
        }
        try {
            cache.store(shared);
        } catch (IOException | RuntimeException e) {
            log.warn(
                    "MTA-STS {}: cannot write the policy cache in {}: {}",
                    domain,
                    cache.directory(),
                    Problems.describe(e));
        }
        log.info(
                "MTA-STS {}: took policy id {} (fetched {}) from the cluster's shared cache",
                domain,
                shared.id(),
                shared.fetchedAt());
        return true;
    }

    /** Every unexpired policy held now (to share them when the cluster's Redis comes back). */
    public List<CachedPolicy> held() {
        Instant now = clock.instant();
        List<CachedPolicy> out = new ArrayList<>();
        states.values()
                .forEach(
                        st -> {
                            synchronized (st) {
                                CachedPolicy p = st.usable(now);
                                if (p != null) {
                                    out.add(p);
                                }
                            }
                        });
        return out;
    }

    /** The cached, unexpired policy of {@code domain}, as it stands (no DNS, no fetch). */
    public Optional<CachedPolicy> cached(String domain) {
        DomainState st = states.get(DnsNames.normalise(domain));
        if (st == null) {
            return Optional.empty();
        }
        synchronized (st) {
            return Optional.ofNullable(st.usable(clock.instant()));
        }
    }

    /**
     * Discovery and fetch without the cache and without back-off, for diagnostics ({@code tlsrelay mta-sts fetch}):
     * what a first contact with the domain would see.
     */
    public CompletableFuture<Probe> probe(String domain) {
        String d = DnsNames.requireValid(domain);
        return dns.txt("_mta-sts." + d)
                .thenCompose(
                        txt -> {
                            if (txt.isFailed()) {
                                return CompletableFuture.completedFuture(
                                        new Probe(d, txt, null, null, null));
                            }
                            StsTxtRecord.Discovery discovery =
                                    StsTxtRecord.discover(txt.found().orElse(List.of()));
                            if (!(discovery instanceof StsTxtRecord.Found)) {
                                return CompletableFuture.completedFuture(
                                        new Probe(d, txt, discovery, null, null));
                            }
                            return fetcher.fetch(d)
                                    .thenApply(
                                            fetched ->
                                                    new Probe(
                                                            d,
                                                            txt,
                                                            discovery,
                                                            fetched,
                                                            fetched instanceof FetchResult.Fetched f
                                                                    ? PolicyParser.parse(f.body())
                                                                    : null));
                        });
    }

    // ---- the look-up ----

    private CompletableFuture<StsOutcome> run(String domain, Mode mode) {
        Instant now = clock.instant();
        DomainState st = state(domain);
        synchronized (st) {
            CachedPolicy cached = st.usable(now);
            if (mode == Mode.NORMAL
                    && cached != null
                    && st.lastTxtCheck != null
                    && now.isBefore(st.lastTxtCheck.plus(settings.txtRecheck()))) {
                return CompletableFuture.completedFuture(
                        new StsOutcome(
                                domain,
                                cached,
                                false,
                                null,
                                "cached policy id "
                                        + cached.id()
                                        + " (fetched "
                                        + cached.fetchedAt()
                                        + ", expires "
                                        + cached.expiresAt()
                                        + "); its TXT id was confirmed at "
                                        + st.lastTxtCheck));
            }
            if (mode == Mode.NORMAL
                    && cached == null
                    && st.lastNoPolicy != null
                    && now.isBefore(st.lastTxtCheck.plus(settings.txtRecheck()))) {
                // Most domains publish no policy: do not ask DNS for every message to them.
                return CompletableFuture.completedFuture(
                        StsOutcome.none(
                                domain,
                                null,
                                "no policy: "
                                        + st.lastNoPolicy
                                        + " (checked at "
                                        + st.lastTxtCheck
                                        + ")"));
            }
        }
        return dns.txt("_mta-sts." + domain).thenCompose(txt -> afterTxt(domain, st, txt, mode));
    }

    private CompletableFuture<StsOutcome> afterTxt(
            String domain, DomainState st, DnsResult<List<String>> txt, Mode mode) {
        Instant now = clock.instant();
        if (txt instanceof DnsResult.Failed<List<String>> failed) {
            CachedPolicy cached;
            synchronized (st) {
                cached = st.usable(now);
            }
            String why =
                    "the _mta-sts."
                            + domain
                            + " TXT look-up failed ("
                            + failed.failure()
                            + ": "
                            + failed.detail()
                            + ")";
            return done(
                    cached != null
                            ? StsOutcome.cached(
                                    domain,
                                    cached,
                                    null,
                                    why + "; the cached policy applies (RFC 8461 §3.3)")
                            : StsOutcome.none(domain, null, why + " and no policy is cached"));
        }
        StsTxtRecord.Discovery discovery = StsTxtRecord.discover(txt.found().orElse(List.of()));
        String reason =
                discovery instanceof StsTxtRecord.NoPolicy none
                        ? (txt instanceof DnsResult.NoRecords<List<String>> nr
                                ? "no _mta-sts TXT record (" + nr.absence() + ")"
                                : none.reason())
                        : null;
        CachedPolicy cached;
        synchronized (st) {
            st.lastTxtCheck = now;
            st.lastNoPolicy = reason;
            cached = st.usable(now);
        }
        if (reason != null) {
            if (cached != null) {
                refreshed(st, now, cached, mode);
                return done(
                        StsOutcome.cached(
                                domain,
                                cached,
                                null,
                                reason
                                        + " now; a cached policy is kept until it"
                                        + " expires, a TXT record that disappears does not remove it (RFC 8461 §3.3)"));
            }
            return done(StsOutcome.none(domain, null, "no policy: " + reason));
        }
        String id = ((StsTxtRecord.Found) discovery).id();
        boolean nearExpiry =
                mode == Mode.REFRESH
                        && cached != null
                        && !now.isBefore(cached.expiresAt().minus(schedule.lead(cached)));
        if (cached != null && cached.id().equals(id) && !nearExpiry) {
            refreshed(st, now, cached, mode);
            return done(StsOutcome.cached(domain, cached, null, "TXT id " + id + " unchanged"));
        }
        CompletableFuture<StsOutcome> fetch;
        synchronized (st) {
            if (st.backoffUntil != null && now.isBefore(st.backoffUntil)) {
                String why =
                        "fetching policy id "
                                + id
                                + " failed ("
                                + st.lastFailure
                                + "); no new attempt before "
                                + st.backoffUntil;
                return done(
                        cached != null
                                ? StsOutcome.cached(
                                        domain,
                                        cached,
                                        st.lastFailure,
                                        why + "; the cached policy applies")
                                : StsOutcome.none(
                                        domain, st.lastFailure, why + " and no policy is cached"));
            }
            if (st.inflight != null) {
                return st.inflight; // one fetch per domain at a time
            }
            fetch = new CompletableFuture<>();
            st.inflight = fetch;
        }
        policyFetch
                .fetch(domain, st, id)
                .whenComplete(
                        (outcome, error) -> {
                            synchronized (st) {
                                st.inflight = null;
                            }
                            if (error != null) {
                                log.warn("MTA-STS {}: unexpected failure", domain, error);
                                fetch.complete(
                                        StsOutcome.none(
                                                domain,
                                                new StsFailure(
                                                        TlsFailureType.STS_POLICY_FETCH_ERROR,
                                                        "unexpected: " + error),
                                                "the policy fetch failed unexpectedly: " + error));
                            } else {
                                fetch.complete(outcome);
                            }
                        });
        return fetch;
    }

    /** After a refresh that found nothing to fetch, the next one is scheduled. */
    private void refreshed(DomainState st, Instant now, CachedPolicy cached, Mode mode) {
        if (mode == Mode.REFRESH) {
            synchronized (st) {
                st.nextRefresh = schedule.next(now, cached);
            }
        }
    }

    private DomainState state(String domain) {
        return states.computeIfAbsent(domain, d -> new DomainState());
    }

    private static <T> CompletableFuture<T> done(T value) {
        return CompletableFuture.completedFuture(value);
    }
}
