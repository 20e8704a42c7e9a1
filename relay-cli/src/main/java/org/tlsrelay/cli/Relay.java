package org.tlsrelay.cli;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.ConfigException;
import org.tlsrelay.core.config.Durations;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.metrics.Health;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.policy.mtasts.PolicyFetcher;
import org.tlsrelay.core.queue.FreeSpace;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.report.OutcomeLog;
import org.tlsrelay.core.report.OutcomeRecorder;
import org.tlsrelay.core.report.ReportScheduler;
import org.tlsrelay.core.report.ReportService;
import org.tlsrelay.core.report.ReportingPolicyFetcher;
import org.tlsrelay.core.report.TlsExemption;
import org.tlsrelay.smtp.cluster.Cluster;
import org.tlsrelay.smtp.cluster.RedisLink;
import org.tlsrelay.smtp.delivery.DeliveryEngine;
import org.tlsrelay.smtp.delivery.EngineBuilder;
import org.tlsrelay.smtp.delivery.EngineSettings;
import org.tlsrelay.smtp.delivery.PolicyLookup;
import org.tlsrelay.smtp.delivery.PolicyOverride;
import org.tlsrelay.smtp.dns.DnssecMonitor;
import org.tlsrelay.smtp.inbound.InboundServer;
import org.tlsrelay.smtp.outbound.OutboundSettings;
import org.tlsrelay.smtp.report.SpoolMailTransport;

/**
 * The running relay: the composition of spool, metrics and admin server, policy machinery, delivery engine and inbound
 * server. {@link #start} brings the parts up in dependency order; {@link #stop} first tells the inbound sessions
 * {@code 421 4.3.2} (a DATA under way may finish), then {@link #close} takes the parts down in reverse order: the
 * engine lets running deliveries finish and gives back the rest, the listener closes, the policy refreshers stop, and
 * the spool closes last.
 */
public final class Relay implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Relay.class);

    /** Beyond the shutdown grace: for the delivery engine to cut what still runs and record it, and the rest to close. */
    private static final Duration CUT_MARGIN = Duration.ofSeconds(10);

    private final RelayConfig config;
    private final Spool spool;
    private final InboundServer inbound;
    private final Deque<AutoCloseable> running = new ArrayDeque<>();
    private final RelayMetrics metrics;
    private final Health health;
    private final DkimWiring dkim;
    private AdminServer admin;
    private DeliveryEngine engine;
    private Cluster cluster;

    /**
     * RFC 8460 §3: a TLS-RPT report the relay queued itself goes out "despite any TLS-related failures", under an
     * opportunistic policy, and its session is left out of the next report.
     */
    static final PolicyOverride TLS_RPT_EXEMPTION =
            (envelope, domain) ->
                    TlsExemption.isExempt(envelope)
                            ? Optional.of(TlsExemption.policyFor(domain))
                            : Optional.empty();

    /**
     * What the composition root adds to delivery: who else hears every TLS outcome (the TLS-RPT recorder; the
     * metrics always do) and which messages are delivered under another policy than their domain's (TLS-RPT
     * reports, RFC 8460 §3).
     */
    public record Hooks(TlsOutcomeListener outcomes, PolicyOverride policyOverride) {
        public Hooks {
            Objects.requireNonNull(outcomes, "outcomes");
            Objects.requireNonNull(policyOverride, "policyOverride");
        }

        /** Nothing else hears the outcomes; only TLS-RPT reports are delivered under another policy. */
        public static Hooks none() {
            return new Hooks(TlsOutcomeListener.none(), TLS_RPT_EXEMPTION);
        }
    }

    private Relay(
            RelayConfig config,
            Spool spool,
            InboundServer inbound,
            RelayMetrics metrics,
            Health health,
            DkimWiring dkim) {
        this.config = config;
        this.spool = spool;
        this.inbound = inbound;
        this.metrics = metrics;
        this.health = health;
        this.dkim = dkim;
    }

    /** {@link #start(RelayConfig, Hooks)} without hooks. */
    public static Relay start(RelayConfig config) throws IOException {
        return start(config, Hooks.none());
    }

    /**
     * Binds {@code server.listen} and {@code admin.listen} first (an address in use stops the start before anything
     * else happens), checks that this user may write the state and makes the relay's own directories private, then
     * opens and recovers the spool, starts the admin server, builds the policy machinery and starts its refreshers,
     * starts the delivery engine (which takes what is due at once), then the inbound listener.
     *
     * @throws IOException when a port cannot be bound, the spool cannot be opened (or is in use by another relay) or
     *     the TLS files are bad
     * @throws IllegalArgumentException when the configuration is unusable (e.g. a malformed password hash, an
     *     unreadable CA file)
     * @throws UsageException when this user may not write the state ({@code permission denied: PATH (...)})
     */
    public static Relay start(RelayConfig config, Hooks hooks) throws IOException {
        Listeners listeners = Listeners.bind(config);
        Spool spool;
        try {
            StateAccess.requireWritable(config.spool().dir());
            StateAccess.makePrivate(config.spool());
            spool = Spool.open(config.spool().dir(), Spool.Options.defaults());
        } catch (IOException | RuntimeException e) {
            listeners.close();
            throw e;
        }
        config.ehloNameWarning().ifPresent(LOG::warn);
        Relay relay = null;
        try {
            // ---- metrics and health (admin.listen): the meters every part reports to
            PrometheusMeterRegistry registry =
                    new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            RelayMetrics metrics = new RelayMetrics(registry, Clock.systemUTC());
            metrics.recovered(spool.stats().total()); // before the engine takes any
            Health health = new Health();
            // ----
            // ---- DKIM (dkim.*): accepted mail is signed before the 250, DSNs and reports when
            // queued
            DkimWiring dkim = DkimWiring.from(config, metrics, Clock.systemUTC());
            dkim.describe(config);
            // spool.min-free: below it new mail gets 452 4.3.1 at MAIL FROM, /health "degraded"
            FreeSpace space = FreeSpace.of(spool.root(), config.spool().minFree());
            InboundServer inbound =
                    InboundServer.create(
                            config.server(),
                            spool,
                            metrics,
                            dkim.relayed(),
                            space,
                            listeners.smtp());
            relay = new Relay(config, spool, inbound, metrics, health, dkim);
            relay.running.push(spool);
            relay.running.push(listeners); // until the servers own them: a failed start closes them
            relay.startAdmin(registry, listeners.admin(), space);

            // ---- TLS-RPT (RFC 8460): every outcome and failed MTA-STS fetch is recorded; closed
            // after the engine
            Optional<OutcomeRecorder> recorder = Optional.empty();
            if (config.reports().enabled()) {
                OutcomeRecorder r =
                        OutcomeRecorder.start(
                                new OutcomeLog(ReportWiring.reportsDir(config)),
                                OutcomeRecorder.Settings.defaults());
                relay.running.push(r);
                recorder = Optional.of(r);
            }
            UnaryOperator<PolicyFetcher> reportFetches =
                    recorder.<UnaryOperator<PolicyFetcher>>map(
                                    r -> f -> new ReportingPolicyFetcher(f, r, Clock.systemUTC()))
                            .orElse(UnaryOperator.identity());

            PolicyWiring policies;
            try {
                policies = PolicyWiring.open(config, metrics, reportFetches);
            } catch (ConfigException e) {
                throw new IllegalArgumentException(String.join("; ", e.problems()), e);
            }
            relay.running.push(policies);
            policies.startRefreshers();

            // Before the listener opens: what was queued before a restart goes out at once, and
            // every accepted, released or flushed message wakes the engine through the spool's
            // listener.
            TlsOutcomeListener extra = hooks.outcomes();
            TlsOutcomeListener reports =
                    recorder.<TlsOutcomeListener>map(r -> r).orElse(TlsOutcomeListener.none());
            EngineBuilder builder =
                    DeliveryEngine.builder(
                            spool, policies.dns(), PolicyLookup.of(policies.resolver()));
            // RFC 7672: DANE per MX host, unless dns.dnssec: off. With validate, the resolver is
            // checked now: a definite misconfiguration stops the start; nothing seen later turns
            // validation off.
            LOG.info("DNS: {}", policies.resolvers().describe());
            Optional<DnssecMonitor> dnssec = policies.resolvers().monitor();
            if (dnssec.isPresent()) {
                relay.running.push(dnssec.get());
                Optional<String> wrong = dnssec.get().start().misconfiguration();
                if (wrong.isPresent()) {
                    throw new IllegalArgumentException(wrong.get());
                }
                metrics.bindDnssec(
                        dnssec.get(), DnssecMonitor::validating, DnssecMonitor::failures);
            }
            policies.resolvers()
                    .validating()
                    .ifPresent(v -> builder.dane(v, config.dane().insecureMx()));
            // ---- cluster (cluster.redis): shared limits, MTA-STS cache, TLS-RPT counts and
            // membership; Redis is never waited on by delivery (see smtp.cluster)
            Optional<Cluster> cluster = relay.startCluster(policies);
            cluster.ifPresent(c -> builder.limiter(c.limiter()));
            DeliveryEngine engine =
                    builder.settings(EngineSettings.from(config))
                            .outbound(OutboundSettings.from(config), policies.trust())
                            .outcomes(
                                    outcome -> {
                                        metrics.record(outcome);
                                        reports.record(outcome);
                                        extra.record(outcome);
                                    })
                            .metrics(metrics)
                            .policyOverride(hooks.policyOverride())
                            .dsnSigner(dkim.dsns())
                            .start();
            relay.engine = engine;
            // Closed after the engine: a stop drains both side by side (see stop), and a DATA under
            // way still has the spool to commit to.
            relay.running.push(inbound);
            relay.running.push(engine);
            health.register("scheduler", engine::problem);
            if (recorder.isPresent()) {
                relay.startReports(policies, cluster);
            }

            inbound.start(); // on the socket bound first: nothing left to fail here
            relay.running.push(inbound);
            health.ready();
            return relay;
        } catch (IOException | RuntimeException e) {
            if (relay != null) {
                relay.close();
            } else {
                spool.close();
                listeners.close();
            }
            throw e;
        }
    }

    /**
     * Binds the JVM meters, the spool gauges and the health checks of the listener and the spool, then starts the
     * admin server on {@code admin.listen}. The delivery engine adds its own check ({@code scheduler}) through
     * {@link #health()}.
     */
    private void startAdmin(PrometheusMeterRegistry registry, HttpServer bound, FreeSpace space) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        metrics.bindSpool(spool);
        metrics.bindFreeSpace(space);
        health.registerDegradation("spool", space::shortage);
        health.register(
                "listener",
                () ->
                        inbound.running()
                                ? Optional.empty()
                                : Optional.of(
                                        "not accepting connections on "
                                                + config.server().listen()));
        health.register(
                "spool",
                () ->
                        Files.isDirectory(spool.root()) && Files.isWritable(spool.root())
                                ? Optional.empty()
                                : Optional.of(spool.root() + " is not a writable directory"));
        admin = AdminServer.start(bound, registry, health);
        running.push(admin);
    }

    /**
     * Joins the cluster when {@code cluster.redis} is set: waits briefly for Redis (a relay that starts beside a running
     * cluster takes its MTA-STS policies at once), and goes on without it if it does not answer. While Redis is away
     * {@code /health} says degraded (the relay works on local state) and {@code /ready} stays up.
     */
    private Optional<Cluster> startCluster(PolicyWiring policies) {
        RelayConfig.Cluster c = config.cluster();
        if (c.redisUrl().isEmpty()) {
            return Optional.empty();
        }
        Cluster cluster =
                Cluster.start(
                        c.redisUrl().get(),
                        c.nodeId(),
                        config.delivery().concurrency().perDomain(),
                        config.delivery().concurrency().perHost(),
                        policies.mtaSts(),
                        () -> {
                            try {
                                return Optional.of(spool.stats());
                            } catch (IOException e) {
                                return Optional.empty();
                            }
                        },
                        Clock.systemUTC());
        running.push(cluster);
        metrics.bindCluster(cluster.link(), RedisLink::up, RedisLink::outages);
        health.registerDegradation(
                "cluster",
                () ->
                        cluster.link().up()
                                ? Optional.empty()
                                : Optional.of(
                                        "Redis at "
                                                + c.redisUrl().get()
                                                + " is unreachable: this relay works on its local state"
                                                + " (limits, counts, policy cache) until it is back"));
        LOG.info(
                "cluster: node {} on Redis {} ({}); per-domain and per-host limits hold across the cluster",
                c.nodeId(),
                c.redisUrl().get(),
                cluster.link().up() ? "connected" : "not reachable yet");
        this.cluster = cluster;
        return Optional.of(cluster);
    }

    /** The cluster part, when {@code cluster.redis} is set (tests). */
    public Optional<Cluster> cluster() {
        return Optional.ofNullable(cluster);
    }

    /**
     * Starts the daily TLS-RPT job: yesterday's reports go out shortly after midnight UTC, mail through this relay's
     * own spool (exempt from TLS enforcement), HTTPS directly; failed ones are retried for a day. In a cluster the
     * counts are shared and each domain's report is sent by one relay.
     */
    private void startReports(PolicyWiring policies, Optional<Cluster> cluster) {
        Clock clock = Clock.systemUTC();
        ReportService service;
        try {
            service =
                    ReportWiring.service(
                            config,
                            policies.dns(),
                            List.of(
                                    new SpoolMailTransport(
                                            spool,
                                            SpoolMailTransport.senderFor(config.reports()),
                                            clock,
                                            dkim.reports()),
                                    ReportWiring.https(config, policies.dns())),
                            clock);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(String.join("; ", e.problems()), e);
        }
        cluster.ifPresent(c -> service.shareWith(c.reports()));
        ScheduledExecutorService executor =
                Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("tls-rpt"));
        ReportScheduler scheduler = ReportScheduler.withDefaults(service);
        scheduler.start(executor);
        running.push(
                () -> {
                    scheduler.stop();
                    executor.shutdownNow();
                });
    }

    /** The meters: the delivery engine reports delivered/deferred/bounced here and adds it as a TLS listener. */
    public RelayMetrics metrics() {
        return metrics;
    }

    /** The delivery engine (counters, tests). */
    public DeliveryEngine engine() {
        return engine;
    }

    /** The health checks behind {@code /health} and {@code /ready}. */
    public Health health() {
        return health;
    }

    /** Where the admin server listens (the real port when {@code admin.listen} says port 0). */
    public InetSocketAddress adminAddress() {
        return admin.address();
    }

    /** Where the inbound server listens (the real port when the configuration says port 0). */
    public InetSocketAddress address() {
        return inbound.address();
    }

    public Spool spool() {
        return spool;
    }

    public RelayConfig config() {
        return config;
    }

    /**
     * The graceful stop (SIGTERM): marks the relay not ready, stops the delivery engine from taking messages, then
     * {@link #close()}s it (the listener stops accepting and a message being queued finishes, in-flight deliveries get
     * the whole {@code grace} from now to finish, then are cut and due again at once after the restart, the spool is
     * closed). Returns whether everything stopped cleanly within the grace; false when deliveries had to be cut or
     * something did not stop, and what was left is retried at the next start.
     */
    public boolean stop(Duration grace) throws InterruptedException {
        health.notReady("stopping");
        if (engine != null) {
            // deliveries under way get the whole grace from now, while the listener winds down
            engine.beginStop();
        }
        // Inbound sessions are told 421 4.3.2 now, a DATA under way may finish within the grace
        // while deliveries finish beside it (the listener is closed after the engine).
        inbound.drain(grace);
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        Thread closer =
                new Thread(
                        () -> {
                            try {
                                close();
                            } catch (RuntimeException e) {
                                failure.set(e);
                            }
                        },
                        "tlsrelay-stop");
        closer.setDaemon(true);
        closer.start();
        // the grace, then the time the engine takes to cut what still runs and record it
        closer.join(Math.max(1, grace.plus(CUT_MARGIN).toMillis()));
        if (closer.isAlive()) {
            LOG.warn(
                    "still stopping after the grace period ({}); stopping anyway: unfinished work is retried at the "
                            + "next start",
                    Durations.format(grace));
            return false;
        }
        if (failure.get() != null) {
            LOG.error("stopping failed: {}", Problems.describe(failure.get()));
            return false;
        }
        return engine == null || !engine.cutAtStop();
    }

    /** Stops everything that was started, newest first; safe to call twice. */
    @Override
    public synchronized void close() {
        health.notReady("stopping");
        while (!running.isEmpty()) {
            AutoCloseable c = running.pop();
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("error while stopping: {}", Problems.describe(e));
                if (e instanceof IOException io && running.isEmpty()) {
                    throw new UncheckedIOException(io);
                }
            }
        }
    }
}
