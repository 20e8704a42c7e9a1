package org.tlsrelay.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.tlsrelay.core.config.ConfigException;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.policy.list.InstalledPolicyLists;
import org.tlsrelay.core.policy.list.ListSource;
import org.tlsrelay.core.policy.mtasts.FetchResult;
import org.tlsrelay.core.policy.mtasts.HttpsPolicyFetcher;
import org.tlsrelay.core.policy.mtasts.MtaStsRefresher;
import org.tlsrelay.core.policy.mtasts.MtaStsResolver;
import org.tlsrelay.core.policy.mtasts.PolicyCache;
import org.tlsrelay.core.policy.mtasts.PolicyFetcher;
import org.tlsrelay.core.policy.resolve.PolicyResolver;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.dns.RelayResolvers;

/**
 * Builds the policy machinery from the configuration: the dnsjava resolver ({@code dns.*}), the MTA-STS fetcher
 * ({@code policy.mta-sts.https-port}, {@code delivery.trust}; its deadline is {@code delivery.connect-timeout}), the
 * MTA-STS resolver on its on-disk cache ({@code SPOOL/../mta-sts/}), the installed policy lists, and the
 * {@link PolicyResolver} over all of them. The commands use it for one look-up; {@code tlsrelay run} also starts the
 * refreshers ({@link #startRefreshers()}). Close it to stop its threads.
 */
final class PolicyWiring implements AutoCloseable {
    /** How often the MTA-STS refresher asks which cached policies are due (each about once a day, RFC 8461 §3.3). */
    private static final Duration MTA_STS_TICK = Duration.ofMinutes(5);

    private final DnsResolver dns;
    private final RelayResolvers resolvers;
    private final TrustMaterial trust;
    private final MtaStsResolver mtaSts;
    private final InstalledPolicyLists lists;
    private final PolicyResolver resolver;
    private final ExecutorService executor;
    private final Duration timeout;
    private ScheduledExecutorService refresh; // guarded by this
    private MtaStsRefresher refresher; // guarded by this

    private PolicyWiring(
            RelayResolvers resolvers,
            TrustMaterial trust,
            MtaStsResolver mtaSts,
            InstalledPolicyLists lists,
            PolicyResolver resolver,
            ExecutorService executor,
            Duration timeout) {
        this.resolvers = resolvers;
        this.dns = resolvers.general();
        this.trust = trust;
        this.mtaSts = mtaSts;
        this.lists = lists;
        this.resolver = resolver;
        this.executor = executor;
        this.timeout = timeout;
    }

    /**
     * For a command's look-ups: no metrics, and a look-up DNSSEC cannot validate is at most one WARN line for the
     * whole command ({@link RelayResolvers#forCommand}).
     */
    static PolicyWiring open(RelayConfig config) throws ConfigException {
        return open(
                config, RelayMetrics.noop(), UnaryOperator.identity(), RelayResolvers::forCommand);
    }

    /**
     * As {@link #open(RelayConfig)}, reporting to {@code metrics}: MTA-STS fetch failures by RFC 8460 type, the
     * number of cached MTA-STS policies, and each configured list's age and time to expiry.
     */
    static PolicyWiring open(RelayConfig config, RelayMetrics metrics) throws ConfigException {
        return open(config, metrics, UnaryOperator.identity());
    }

    /**
     * As {@link #open(RelayConfig, RelayMetrics)}, with every MTA-STS policy fetch passed through {@code fetches}
     * (the running relay counts failed fetches into its TLS-RPT reports there).
     */
    static PolicyWiring open(
            RelayConfig config, RelayMetrics metrics, UnaryOperator<PolicyFetcher> fetches)
            throws ConfigException {
        return open(config, metrics, fetches, RelayResolvers::create);
    }

    /** How the resolvers are made: watched by the relay's monitor, or a command's. */
    private interface ResolverFactory {
        RelayResolvers create(RelayConfig.Dns config) throws IOException;
    }

    private static PolicyWiring open(
            RelayConfig config,
            RelayMetrics metrics,
            UnaryOperator<PolicyFetcher> fetches,
            ResolverFactory resolverFactory)
            throws ConfigException {
        TrustMaterial trust;
        try {
            trust =
                    TrustMaterial.from(
                            config.delivery().trust().system(),
                            config.delivery().trust().extraCa());
        } catch (IOException e) {
            throw new ConfigException(List.of("delivery.trust.extra-ca: " + Problems.describe(e)));
        }
        ExecutorService executor = Executors.newFixedThreadPool(2, DaemonThreads.named("mta-sts"));
        try {
            RelayResolvers resolvers;
            try {
                resolvers = resolverFactory.create(config.dns());
            } catch (IOException | IllegalArgumentException e) {
                throw new ConfigException(List.of("dns.trust-anchors: " + Problems.describe(e)));
            }
            DnsResolver dns = resolvers.general();
            Duration fetchTimeout = config.delivery().connectTimeout();
            HttpsPolicyFetcher https =
                    new HttpsPolicyFetcher(
                            dns,
                            trust,
                            config.policy().mtaSts().httpsPort(),
                            fetchTimeout,
                            executor);
            PolicyFetcher fetcher =
                    fetches.apply(
                            domain ->
                                    https.fetch(domain)
                                            .whenComplete(
                                                    (r, e) -> {
                                                        if (r instanceof FetchResult.Failed f) {
                                                            metrics.mtaStsFetchFailed(f.type());
                                                        }
                                                    }));
            PolicyCache cache = new PolicyCache(config.spool().mtaStsDir());
            metrics.bindMtaStsCache(cache.directory(), PolicyWiring::cachedPolicies);
            MtaStsResolver mtaSts;
            try {
                mtaSts =
                        MtaStsResolver.open(
                                dns,
                                fetcher,
                                cache,
                                Clock.systemUTC(),
                                executor,
                                MtaStsResolver.Settings.defaults());
            } catch (IOException e) {
                throw new ConfigException(
                        List.of(
                                cache.directory()
                                        + ": cannot read the MTA-STS cache: "
                                        + Problems.describe(e)));
            }
            InstalledPolicyLists lists = lists(config);
            for (ListSource l : config.policy().lists()) {
                metrics.bindPolicyList(
                        l.name(),
                        () ->
                                lists.current(l.name())
                                        .map(
                                                signed ->
                                                        new RelayMetrics.ListTimes(
                                                                signed.document().timestamp(),
                                                                signed.document().expires())));
            }
            PolicyResolver resolver =
                    new PolicyResolver(
                            config.policy().resolverSettings(), mtaSts, lists, Clock.systemUTC());
            // TXT, then A and AAAA of the policy host, each a query per server; then the fetch
            // itself.
            Duration dnsBudget =
                    config.dns()
                            .timeout()
                            .multipliedBy(3L * Math.max(1, config.dns().servers().size()));
            return new PolicyWiring(
                    resolvers,
                    trust,
                    mtaSts,
                    lists,
                    resolver,
                    executor,
                    dnsBudget.plus(fetchTimeout).plusSeconds(5));
        } catch (ConfigException | RuntimeException e) {
            executor.shutdownNow();
            throw e;
        }
    }

    /** The installed policy lists ({@code SPOOL/../lists/NAME/}), each verified again against its key. */
    static InstalledPolicyLists lists(RelayConfig config) throws ConfigException {
        try {
            return InstalledPolicyLists.load(config.listSettings(), Clock.systemUTC());
        } catch (IOException e) {
            throw new ConfigException(
                    List.of(
                            config.spool().listsDir()
                                    + ": cannot read the installed policy lists: "
                                    + Problems.describe(e)));
        }
    }

    /** The MTA-STS cache files ({@code DOMAIN.json}); what the cache gauge shows. */
    private static int cachedPolicies(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return (int) files.filter(f -> f.getFileName().toString().endsWith(".json")).count();
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
    }

    DnsResolver dns() {
        return dns;
    }

    /** The general and, unless {@code dns.dnssec: off}, the validating resolver (DANE). */
    RelayResolvers resolvers() {
        return resolvers;
    }

    /** The CAs of {@code delivery.trust}, for MX certificates as for MTA-STS. */
    TrustMaterial trust() {
        return trust;
    }

    MtaStsResolver mtaSts() {
        return mtaSts;
    }

    PolicyResolver resolver() {
        return resolver;
    }

    /** How long a command waits for one resolution or probe. */
    Duration timeout() {
        return timeout;
    }

    /** What a command says when {@code domain}'s resolution took longer than {@link #timeout()}. */
    UsageException noAnswer(String domain) {
        return new UsageException("no answer within " + timeout.toSeconds() + "s for " + domain);
    }

    /**
     * Starts refreshing, in the background, the installed policy lists (each every {@code refresh}) and the cached
     * MTA-STS policies (before they expire, RFC 8461 §3.3), as the running relay does. Once only.
     */
    synchronized void startRefreshers() {
        if (refresh != null) {
            return;
        }
        refresh = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("policy-refresh"));
        lists.start(refresh);
        refresher = new MtaStsRefresher(mtaSts, refresh, MTA_STS_TICK);
        refresher.start();
    }

    @Override
    public synchronized void close() {
        if (refresh != null) {
            refresher.stop();
            lists.stop();
            refresh.shutdownNow();
        }
        executor.shutdownNow();
    }
}
