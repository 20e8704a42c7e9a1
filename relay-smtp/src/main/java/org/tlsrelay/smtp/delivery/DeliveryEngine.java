package org.tlsrelay.smtp.delivery;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.Durations;
import org.tlsrelay.core.dane.InsecureMxPolicy;
import org.tlsrelay.core.dkim.OwnMailSigner;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.outbound.OutboundClient;
import org.tlsrelay.smtp.outbound.OutboundSettings;

/**
 * The delivery engine: takes due messages from the {@link Spool}, splits each into one attempt per recipient domain,
 * and runs the attempts through the {@link OutboundClient} within the concurrency limits; then records each
 * recipient's result, completes or defers the message, and queues delivery status notifications.
 *
 * <p>Threads: one scheduler thread claims due messages (it wakes when the spool says messages may be due and at the
 * next due time); attempts run as future chains on the client's event loops and never block; a small worker pool does
 * the spool writes and builds DSNs. {@link #close()} stops taking messages, gives running attempts
 * {@link EngineSettings#shutdownGrace()} to finish, and gives back messages that had not started.
 *
 * <p>Crash safety follows the spool: a message is in {@code active/} while it is being delivered; recipients an MX
 * accepted are recorded before the message is deferred (and, for a message with several domains, as soon as that
 * domain's attempt ends), so a restart sends again at most what was in flight. A DSN is queued before the failed
 * recipients are recorded, so a crash can duplicate a bounce but never lose one.
 *
 * <p>Its rooms: this class takes messages and hands out connection slots (scheduling); {@link AttemptRunner} runs one
 * (message, domain) attempt over the {@link MxWalk}; {@link MessageSettler} writes what {@link Settlement} (a pure
 * function) says the results mean.
 */
public final class DeliveryEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeliveryEngine.class);
    private static final int BATCH = 64;
    private static final Duration MIN_TIMER = Duration.ofMillis(10);
    private static final Duration SPOOL_ERROR_PAUSE = Duration.ofSeconds(1);

    private final EngineSettings settings;
    private final Spool spool;
    private final OutboundClient client;
    private final AttemptRunner runner;
    private final MessageSettler settler;
    private final Clock clock;
    private final ScheduledThreadPoolExecutor scheduler;
    private final ExecutorService workers;
    private final AtomicBoolean pumpQueued = new AtomicBoolean();
    private volatile ScheduledFuture<?> timer;
    private volatile Instant timerAt;

    /** Why the last attempt to take messages from the spool failed; null once it works again (health check). */
    private volatile String spoolProblem;

    private final Object lock = new Object();
    // guarded by lock:
    private final Map<String, ArrayDeque<DomainTask>> waiting = new HashMap<>();
    private final ArrayDeque<String> ready = new ArrayDeque<>();
    private final Set<String> inReady = new HashSet<>();
    private final Map<String, Integer> activeByDomain = new HashMap<>();
    private int active;
    private int inHand;
    private boolean closing;

    private final AtomicLong attempts = new AtomicLong();

    private DeliveryEngine(Builder b) {
        this.settings = b.settings;
        this.spool = b.spool;
        this.clock = spool.clock();
        // keep as many idle connections per MX as the domain may have running, or a burst churns
        // TLS handshakes
        OutboundSettings outbound =
                b.outbound.maxIdlePerTarget() >= settings.maxConnectionsPerDomain()
                        ? b.outbound
                        : b.outbound.withReuse(
                                b.outbound.maxMessagesPerConnection(),
                                b.outbound.idleTimeout(),
                                settings.maxConnectionsPerDomain());
        this.client = new OutboundClient(outbound, b.trust, b.outcomes, clock);
        // RFC 7672 §2.2.1: with DNSSEC on, the MX look-up is validated too, as DANE needs its
        // security
        MxResolvers dns =
                (b.validating == null
                                ? MxResolvers.withoutDnssec(b.dns)
                                : MxResolvers.withDnssec(b.dns, b.validating, b.insecureMx))
                        .coalescing();
        this.runner =
                new AttemptRunner(
                        b.policies,
                        b.override,
                        new DomainAttempt.Context(
                                client, new MxWalk(dns, settings.port()), b.outcomes, clock),
                        b.random);
        this.settler =
                new MessageSettler(spool, settings, b.dsnSigner, b.metrics, clock, this::settled);
        this.scheduler = new ScheduledThreadPoolExecutor(1, daemon("delivery-scheduler"));
        scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        scheduler.setRemoveOnCancelPolicy(true);
        this.workers =
                Executors.newFixedThreadPool(settings.workerThreads(), daemon("delivery-worker"));
    }

    /**
     * @param spool the relay's spool (opened with {@link Spool#open})
     * @param dns the resolver for MX and address look-ups
     * @param policies where each domain's policy comes from
     */
    public static Builder builder(Spool spool, DnsResolver dns, PolicyLookup policies) {
        return new Builder(spool, dns, policies);
    }

    /** Configures and starts an engine. */
    public static final class Builder {
        private final Spool spool;
        private final DnsResolver dns;
        private final PolicyLookup policies;
        private EngineSettings settings;
        private OutboundSettings outbound;
        private TrustMaterial trust;
        private PolicyOverride override = PolicyOverride.none();
        private OwnMailSigner dsnSigner = OwnMailSigner.none();
        private TlsOutcomeListener outcomes = TlsOutcomeListener.none();
        private RelayMetrics metrics = RelayMetrics.noop();
        private Random random = new Random();
        private DnsResolver validating;
        private InsecureMxPolicy insecureMx = InsecureMxPolicy.OPPORTUNISTIC;

        private Builder(Spool spool, DnsResolver dns, PolicyLookup policies) {
            this.spool = Objects.requireNonNull(spool, "spool");
            this.dns = Objects.requireNonNull(dns, "dns");
            this.policies = Objects.requireNonNull(policies, "policies");
        }

        public Builder settings(EngineSettings s) {
            this.settings = Objects.requireNonNull(s);
            return this;
        }

        /** The outbound client's settings and the CAs it trusts ({@code delivery.trust}). */
        public Builder outbound(OutboundSettings s, TrustMaterial t) {
            this.outbound = Objects.requireNonNull(s);
            this.trust = Objects.requireNonNull(t);
            return this;
        }

        /** A policy that replaces the domain's for some messages (TLS-RPT reports, RFC 8460 §3). */
        public Builder policyOverride(PolicyOverride o) {
            this.override = Objects.requireNonNull(o);
            return this;
        }

        /** Signs the DSNs the engine queues (DKIM, {@code dkim.sign.reports}); by default they go unsigned. */
        public Builder dsnSigner(OwnMailSigner s) {
            this.dsnSigner = Objects.requireNonNull(s);
            return this;
        }

        /** Hears every TLS outcome: of each connection, and of each MX the policy ruled out before connecting. */
        public Builder outcomes(TlsOutcomeListener l) {
            this.outcomes = Objects.requireNonNull(l);
            return this;
        }

        /** Where delivered, deferred and bounced messages are counted (TLS outcomes go to {@link #outcomes}). */
        public Builder metrics(RelayMetrics m) {
            this.metrics = Objects.requireNonNull(m);
            return this;
        }

        /**
         * Turns DANE on (RFC 7672): the MX look-ups, the addresses of MX hosts with TLSA records and the TLSA look-ups
         * go through this validating resolver ({@code dns.dnssec: validate}). Without it DANE never applies.
         */
        public Builder dane(DnsResolver validatingResolver) {
            this.validating = Objects.requireNonNull(validatingResolver);
            return this;
        }

        /** As {@link #dane(DnsResolver)}, with {@code dane.insecure-mx} for hosts an insecure MX RRset names. */
        public Builder dane(DnsResolver validatingResolver, InsecureMxPolicy insecureMx) {
            this.insecureMx = Objects.requireNonNull(insecureMx);
            return dane(validatingResolver);
        }

        /** The source of the order of equal-preference MXs (tests make it predictable). */
        public Builder random(Random r) {
            this.random = Objects.requireNonNull(r);
            return this;
        }

        /** Starts the engine: it listens to the spool and takes what is due now. */
        public DeliveryEngine start() {
            Objects.requireNonNull(settings, "settings");
            Objects.requireNonNull(outbound, "outbound settings");
            DeliveryEngine engine = new DeliveryEngine(this);
            spool.addListener(engine::wake);
            engine.wake();
            LOG.info(
                    "delivery engine started: port {}, {} connections ({} per domain), retry {} for up to {}",
                    settings.port(),
                    settings.maxConnections(),
                    settings.maxConnectionsPerDomain(),
                    settings.retry().waits().stream()
                            .map(Durations::format)
                            .collect(Collectors.joining(", ", "[", "]")),
                    Durations.format(settings.retry().maxAge()));
            return engine;
        }
    }

    // ------------------------------------------------------------------ taking messages

    /** Asks the scheduler to look for due messages; cheap and non-blocking (the spool listener). */
    public void wake() {
        if (pumpQueued.compareAndSet(false, true)) {
            try {
                scheduler.execute(this::pump);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                pumpQueued.set(false); // closed
            }
        }
    }

    private void pump() {
        pumpQueued.set(false);
        try {
            while (true) {
                int room;
                synchronized (lock) {
                    if (closing) {
                        return;
                    }
                    room = settings.maxInHand() - inHand;
                }
                if (room <= 0) {
                    return; // a message that finishes wakes us
                }
                List<QueuedMessage> batch = spool.takeDue(Math.min(room, BATCH));
                spoolProblem = null;
                if (batch.isEmpty()) {
                    break;
                }
                Instant now = clock.instant();
                boolean admitted;
                synchronized (lock) {
                    admitted = !closing;
                    if (admitted) {
                        for (QueuedMessage m : batch) {
                            admit(m, now);
                        }
                    }
                }
                if (!admitted) {
                    for (QueuedMessage m : batch) {
                        settler.giveBack(m.id());
                    }
                    return;
                }
                dispatch();
            }
            armTimer(Optional.empty());
        } catch (IOException | RuntimeException e) {
            spoolProblem = Problems.describe(e);
            LOG.error(
                    "cannot take due messages from the spool {}: {}",
                    spool.root(),
                    Problems.describe(e));
            armTimer(Optional.of(clock.instant().plus(SPOOL_ERROR_PAUSE)));
        }
    }

    /** Wakes up at the next due time (or {@code at}); runs on the scheduler thread only. */
    private void armTimer(Optional<Instant> at) {
        Optional<Instant> due = at.isPresent() ? at : spool.nextDue();
        if (due.isEmpty()) {
            return;
        }
        Instant when = due.get();
        Instant current = timerAt;
        ScheduledFuture<?> t = timer;
        if (t != null && !t.isDone() && current != null && !current.isAfter(when)) {
            return; // an earlier or equal wake-up is already set
        }
        if (t != null) {
            t.cancel(false);
        }
        long delay =
                Math.max(Duration.between(clock.instant(), when).toMillis(), MIN_TIMER.toMillis());
        timerAt = when;
        try {
            timer = scheduler.schedule(this::wake, delay, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    /** Splits a claimed message into one task per recipient domain (RFC 5321 §5.1: MXs are per domain). */
    private void admit(QueuedMessage m, Instant now) {
        Envelope env = m.envelope();
        Map<String, List<RecipientStatus>> byDomain = new LinkedHashMap<>();
        for (RecipientStatus rs : env.pending()) {
            byDomain.computeIfAbsent(rs.domain(), d -> new ArrayList<>()).add(rs);
        }
        MessageRun run =
                new MessageRun(m, settings.retry().expired(env.arrival(), now), byDomain.size());
        inHand++;
        if (byDomain.isEmpty()) {
            workers.execute(
                    () ->
                            settler.settle(
                                    run)); // nothing pending (a crash after the last delivery):
            // complete it
            return;
        }
        for (Map.Entry<String, List<RecipientStatus>> e : byDomain.entrySet()) {
            DomainTask t = new DomainTask(run, e.getKey(), List.copyOf(e.getValue()));
            waiting.computeIfAbsent(t.domain(), d -> new ArrayDeque<>()).addLast(t);
            markReady(t.domain());
        }
    }

    // ------------------------------------------------------------------ connection slots

    private void markReady(String domain) {
        ArrayDeque<DomainTask> q = waiting.get(domain);
        if (q != null
                && !q.isEmpty()
                && !inReady.contains(domain)
                && activeByDomain.getOrDefault(domain, 0) < settings.maxConnectionsPerDomain()) {
            ready.addLast(domain);
            inReady.add(domain);
        }
    }

    /** Starts waiting tasks while slots are free, domains in turn (round robin): one busy domain starves no other. */
    private void dispatch() {
        List<DomainTask> start = new ArrayList<>();
        synchronized (lock) {
            while (!closing && active < settings.maxConnections() && !ready.isEmpty()) {
                String domain = ready.pollFirst();
                inReady.remove(domain);
                ArrayDeque<DomainTask> q = waiting.get(domain);
                DomainTask t = q.pollFirst();
                if (q.isEmpty()) {
                    waiting.remove(domain);
                }
                active++;
                activeByDomain.merge(domain, 1, Integer::sum);
                markReady(domain);
                start.add(t);
            }
        }
        for (DomainTask t : start) {
            launch(t);
        }
    }

    private void releaseSlot(DomainTask t) {
        synchronized (lock) {
            active--;
            activeByDomain.computeIfPresent(t.domain(), (d, n) -> n <= 1 ? null : n - 1);
            markReady(t.domain());
        }
        dispatch();
    }

    // ------------------------------------------------------------------ one attempt

    private void launch(DomainTask t) {
        attempts.incrementAndGet();
        CompletableFuture<DomainResult> f;
        try {
            f = runner.run(t);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        // the slot is free as soon as the attempt ends (on the thread that ended it; dispatching
        // never blocks);
        // what the result means for the spool is written on a worker
        f.handle((r, e) -> r != null ? r : runner.internalError(t, e))
                .thenApply(
                        r -> {
                            releaseSlot(t);
                            return r;
                        })
                .thenAcceptAsync(r -> settler.finished(t, r), workers)
                .exceptionally(
                        e -> {
                            LOG.error(
                                    "queue {}: cannot finish the attempt for {}: {}",
                                    t.run().id(),
                                    t.domain(),
                                    Problems.describe(e));
                            return null;
                        });
    }

    /** A message is settled: its place in hand is free, and more may be due. */
    private void settled() {
        synchronized (lock) {
            inHand--;
            lock.notifyAll();
        }
        wake();
    }

    // ------------------------------------------------------------------ state and shutdown

    /** Counters since start, for tests and metrics. */
    public record Stats(
            long attempts, long completed, long deferred, long dsns, int running, int inHand) {}

    public Stats stats() {
        synchronized (lock) {
            return new Stats(
                    attempts.get(),
                    settler.completed(),
                    settler.deferred(),
                    settler.dsns(),
                    active,
                    inHand);
        }
    }

    /** What keeps the engine from delivering, for {@code /health}: stopped, or the spool failing; empty when fine. */
    public Optional<String> problem() {
        synchronized (lock) {
            if (closing) {
                return Optional.of("the delivery engine is stopped");
            }
        }
        String p = spoolProblem;
        return p == null
                ? Optional.empty()
                : Optional.of("cannot take messages from the spool: " + p);
    }

    /** Idle outbound connections kept for reuse now. */
    public int idleConnections() {
        return client.idleConnections();
    }

    /**
     * Stops taking messages, gives back those whose attempts had not started, waits up to the shutdown grace for
     * running attempts (which then record their results as usual), and closes the outbound client. Messages still
     * running after that stay in {@code active/} and are delivered after the next start.
     */
    @Override
    public void close() {
        List<DomainTask> dropped = new ArrayList<>();
        synchronized (lock) {
            if (closing) {
                return;
            }
            closing = true;
            for (ArrayDeque<DomainTask> q : waiting.values()) {
                dropped.addAll(q);
            }
            waiting.clear();
            ready.clear();
            inReady.clear();
        }
        scheduler.shutdown();
        ScheduledFuture<?> t = timer;
        if (t != null) {
            t.cancel(false);
        }
        for (DomainTask task : dropped) {
            workers.execute(() -> settler.dropped(task));
        }
        long deadline = System.nanoTime() + settings.shutdownGrace().toNanos();
        synchronized (lock) {
            while (inHand > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            if (inHand > 0) {
                LOG.warn(
                        "{} message(s) still in delivery after {}; they are delivered after the next start",
                        inHand,
                        Durations.format(settings.shutdownGrace()));
            }
        }
        client.close();
        workers.shutdown();
        try {
            if (!workers.awaitTermination(5, TimeUnit.SECONDS)
                    || !scheduler.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("delivery threads did not stop in time");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("delivery engine stopped: {}", stats());
    }

    private static ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
