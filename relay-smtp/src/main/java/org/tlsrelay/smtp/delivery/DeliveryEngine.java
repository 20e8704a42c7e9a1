package org.tlsrelay.smtp.delivery;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.tlsrelay.core.dkim.OwnMailSigner;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.enforce.PolicyContext;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientResult;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.outbound.MessageContent;
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
 */
public final class DeliveryEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeliveryEngine.class);
    private static final int BATCH = 64;
    private static final Duration MIN_TIMER = Duration.ofMillis(10);
    private static final Duration SPOOL_ERROR_PAUSE = Duration.ofSeconds(1);

    private final EngineSettings settings;
    private final Spool spool;
    private final DnsResolver dns;
    private final DnsResolver mxDns;
    private final PolicyLookup policies;
    private final PolicyOverride override;
    private final OwnMailSigner dsnSigner;
    private final RelayMetrics metrics;
    private final OutboundClient client;
    private final DomainAttempt.Context context;
    private final Clock clock;
    private final Random random;
    private final ScheduledThreadPoolExecutor scheduler;
    private final ExecutorService workers;
    private final AtomicBoolean pumpQueued = new AtomicBoolean();
    private volatile ScheduledFuture<?> timer;
    private volatile Instant timerAt;

    /** Why the last attempt to take messages from the spool failed; null once it works again (health check). */
    private volatile String spoolProblem;

    private final Object lock = new Object();
    // guarded by lock:
    private final Map<String, ArrayDeque<Task>> waiting = new HashMap<>();
    private final ArrayDeque<String> ready = new ArrayDeque<>();
    private final Set<String> inReady = new HashSet<>();
    private final Map<String, Integer> activeByDomain = new HashMap<>();
    private int active;
    private int inHand;
    private boolean closing;

    private final AtomicLong attempts = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong deferred = new AtomicLong();
    private final AtomicLong bounces = new AtomicLong();

    /** A claimed message and what its attempts produced so far. */
    private static final class Run {
        final QueuedMessage message;

        /** The message is at its {@code max-age}: this is its last attempt (RFC 8461 §5.1: re-check the policy). */
        final boolean lastChance;

        final AtomicInteger outstanding;
        final List<DomainResult> results = Collections.synchronizedList(new ArrayList<>());

        /** Domains whose deliveries were recorded as soon as their attempt ended. */
        final Set<String> recordedEarly = Collections.synchronizedSet(new HashSet<>());

        final boolean multiDomain;
        volatile boolean interrupted;

        Run(QueuedMessage message, boolean lastChance, int domains) {
            this.message = message;
            this.lastChance = lastChance;
            this.outstanding = new AtomicInteger(domains);
            this.multiDomain = domains > 1;
        }

        String id() {
            return message.id();
        }
    }

    /** One (message, domain) attempt waiting for, or holding, a connection slot. */
    private record Task(Run run, String domain, List<RecipientStatus> recipients) {}

    private DeliveryEngine(Builder b) {
        this.settings = b.settings;
        this.spool = b.spool;
        this.dns = new CoalescingDns(b.dns);
        // RFC 7672 §2.2.1: with DNSSEC on, the MX look-up is validated too, as DANE needs its
        // security
        this.mxDns = b.validating == null ? dns : new CoalescingDns(b.validating);
        this.policies = b.policies;
        this.override = b.override;
        this.dsnSigner = b.dsnSigner;
        this.metrics = b.metrics;
        this.clock = spool.clock();
        this.random = b.random;
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
        this.context =
                new DomainAttempt.Context(
                        client,
                        dns,
                        mxDns,
                        b.validating == null ? DaneCheck.off() : DaneCheck.over(mxDns),
                        b.outcomes,
                        clock,
                        settings.port());
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
                    settings.retry().waits(),
                    settings.retry().maxAge());
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
                        giveBack(m.id());
                    }
                    return;
                }
                dispatch();
            }
            armTimer(Optional.empty());
        } catch (IOException | RuntimeException e) {
            spoolProblem = e.toString();
            LOG.error("cannot take due messages from the spool {}: {}", spool.root(), e.toString());
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
        Run run = new Run(m, settings.retry().expired(env.arrival(), now), byDomain.size());
        inHand++;
        if (byDomain.isEmpty()) {
            workers.execute(
                    () -> finish(run)); // nothing pending (a crash after the last delivery):
            // complete it
            return;
        }
        for (Map.Entry<String, List<RecipientStatus>> e : byDomain.entrySet()) {
            Task t = new Task(run, e.getKey(), List.copyOf(e.getValue()));
            waiting.computeIfAbsent(t.domain(), d -> new ArrayDeque<>()).addLast(t);
            markReady(t.domain());
        }
    }

    // ------------------------------------------------------------------ connection slots

    private void markReady(String domain) {
        ArrayDeque<Task> q = waiting.get(domain);
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
        List<Task> start = new ArrayList<>();
        synchronized (lock) {
            while (!closing && active < settings.maxConnections() && !ready.isEmpty()) {
                String domain = ready.pollFirst();
                inReady.remove(domain);
                ArrayDeque<Task> q = waiting.get(domain);
                Task t = q.pollFirst();
                if (q.isEmpty()) {
                    waiting.remove(domain);
                }
                active++;
                activeByDomain.merge(domain, 1, Integer::sum);
                markReady(domain);
                start.add(t);
            }
        }
        for (Task t : start) {
            launch(t);
        }
    }

    private void releaseSlot(Task t) {
        synchronized (lock) {
            active--;
            activeByDomain.computeIfPresent(t.domain(), (d, n) -> n <= 1 ? null : n - 1);
            markReady(t.domain());
        }
        dispatch();
    }

    // ------------------------------------------------------------------ one attempt

    private void launch(Task t) {
        attempts.incrementAndGet();
        CompletableFuture<DomainResult> f;
        try {
            f = attempt(t);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        // the slot is free as soon as the attempt ends (on the thread that ended it; dispatching
        // never blocks);
        // what the result means for the spool is written on a worker
        f.handle((r, e) -> r != null ? r : internalError(t, e))
                .thenApply(
                        r -> {
                            releaseSlot(t);
                            return r;
                        })
                .thenAcceptAsync(r -> finished(t, r), workers)
                .exceptionally(
                        e -> {
                            LOG.error(
                                    "queue {}: cannot finish the attempt for {}: {}",
                                    t.run().id(),
                                    t.domain(),
                                    e.toString());
                            return null;
                        });
    }

    private DomainResult internalError(Task t, Throwable e) {
        LOG.error(
                "queue {}: delivery attempt for {} failed unexpectedly",
                t.run().id(),
                t.domain(),
                e);
        return DomainResult.all(
                t.domain(),
                t.recipients(),
                RecipientStatus.State.PENDING,
                "451 4.3.0 internal error in the relay; will try again");
    }

    /** Policy and MX plan (looked up at once), then the attempt; at the last chance, a policy refusal re-checks. */
    private CompletableFuture<DomainResult> attempt(Task t) {
        Envelope env = t.run().message.envelope();
        String domain = t.domain();
        Optional<PolicyContext> forced = override.policyFor(env, domain);
        CompletableFuture<PolicyContext> policy;
        try {
            policy =
                    forced.isPresent()
                            ? CompletableFuture.completedFuture(forced.get())
                            : policies.resolve(domain);
        } catch (IllegalArgumentException e) {
            // not a domain name DNS could ask about (the inbound server refuses such addresses; an
            // old queue file?)
            return CompletableFuture.completedFuture(
                    DomainResult.all(
                            domain,
                            t.recipients(),
                            RecipientStatus.State.FAILED,
                            "553 5.1.2 \"" + domain + "\" is not a valid domain name"));
        }
        CompletableFuture<MxPlan> plan = MxPlan.lookUp(mxDns, domain, random);
        MessageContent content = MessageContent.ofFile(t.run().message.body());
        return policy.thenCombine(plan, (p, mx) -> new Object[] {p, mx})
                .thenCompose(
                        pair -> {
                            PolicyContext p = (PolicyContext) pair[0];
                            MxPlan mx = (MxPlan) pair[1];
                            CompletableFuture<DomainResult> first =
                                    new DomainAttempt(
                                                    context,
                                                    env,
                                                    domain,
                                                    t.recipients(),
                                                    p,
                                                    content)
                                            .run(mx);
                            if (!t.run().lastChance || forced.isPresent()) {
                                return first;
                            }
                            return first.thenCompose(
                                    r ->
                                            r.policyRefused()
                                                    ? recheck(t, env, p, mx, content, r)
                                                    : CompletableFuture.completedFuture(r));
                        });
    }

    /**
     * RFC 8461 §5.1: "a compliant MTA MUST NOT permanently fail to deliver messages before checking, via DNS, for
     * the presence of an updated policy". When the policy changed, one more attempt under the new one.
     */
    private CompletableFuture<DomainResult> recheck(
            Task t,
            Envelope env,
            PolicyContext old,
            MxPlan mx,
            MessageContent content,
            DomainResult refused) {
        return policies.revalidate(t.domain())
                .thenCompose(
                        fresh -> {
                            try (MDC.MDCCloseable q = MDC.putCloseable("queueId", env.id());
                                    MDC.MDCCloseable d = MDC.putCloseable("domain", t.domain())) {
                                if (fresh.policy().equals(old.policy())) {
                                    LOG.info(
                                            "queue {}: last attempt for {} refused by the policy; re-checked it: unchanged ({})",
                                            env.id(),
                                            t.domain(),
                                            fresh.mode().label());
                                    return CompletableFuture.completedFuture(refused);
                                }
                                LOG.info(
                                        "queue {}: last attempt for {} refused by the policy; re-checked it: now {} {}, trying again",
                                        env.id(),
                                        t.domain(),
                                        fresh.mode().label(),
                                        fresh.policy().mxs());
                            }
                            return new DomainAttempt(
                                            context,
                                            env,
                                            t.domain(),
                                            t.recipients(),
                                            fresh,
                                            content)
                                    .run(mx);
                        });
    }

    // ------------------------------------------------------------------ results (worker threads)

    private void finished(Task t, DomainResult r) {
        Run run = t.run();
        run.results.add(r);
        if (run.outstanding.decrementAndGet() > 0) {
            recordDeliveredEarly(run, r);
            return;
        }
        finish(run);
    }

    /** Another domain of the message is still running: persist what this one delivered, so it is never sent twice. */
    private void recordDeliveredEarly(Run run, DomainResult r) {
        List<RecipientResult> delivered =
                r.outcomes().stream()
                        .filter(o -> o.state() == RecipientStatus.State.DELIVERED)
                        .map(DomainResult.Outcome::toResult)
                        .toList();
        if (delivered.isEmpty()) {
            return;
        }
        try {
            spool.record(run.id(), delivered, List.of());
            run.recordedEarly.add(r.domain());
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "queue {}: cannot record deliveries to {}: {}",
                    run.id(),
                    r.domain(),
                    e.toString());
        }
    }

    /** A task dropped at shutdown before it started. */
    private void dropped(Task t) {
        Run run = t.run();
        run.interrupted = true;
        if (run.outstanding.decrementAndGet() == 0) {
            finish(run);
        }
    }

    /**
     * All attempts of the message are done: expire what ran out of time, queue the DSN, record, then complete or
     * defer (or give back, at shutdown).
     */
    private void finish(Run run) {
        String id = run.id();
        try (MDC.MDCCloseable q = MDC.putCloseable("queueId", id)) {
            settle(run);
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "queue {}: cannot settle the message after its attempt: {}; it is retried",
                    id,
                    e.toString());
            giveBack(id);
        } finally {
            synchronized (lock) {
                inHand--;
                lock.notifyAll();
            }
            wake();
        }
    }

    private void settle(Run run) throws IOException {
        Envelope env = run.message.envelope();
        Instant now = clock.instant();
        List<DomainResult.Outcome> outcomes = new ArrayList<>();
        synchronized (run.results) {
            for (DomainResult r : run.results) {
                for (DomainResult.Outcome o : r.outcomes()) {
                    outcomes.add(o);
                }
            }
        }
        boolean anyPending =
                outcomes.stream().anyMatch(o -> o.state() == RecipientStatus.State.PENDING);
        Optional<Instant> next = Optional.empty();
        boolean expired = false;
        if (anyPending && !run.interrupted) {
            next = settings.retry().next(env.arrival(), env.attempts() + 1, now);
            expired = next.isEmpty();
        }
        // the DSN first, then the record: a crash in between repeats the attempt (and the DSN),
        // never loses it
        List<Dsn.Entry> entries = new ArrayList<>();
        for (DomainResult.Outcome o : outcomes) {
            Set<RecipientStatus.Notify> notify = o.recipient().dsnNotify();
            boolean failed =
                    o.state() == RecipientStatus.State.FAILED
                            || expired && o.state() == RecipientStatus.State.PENDING;
            if (failed && wantsFailure(notify)) {
                entries.add(
                        new Dsn.Entry(
                                o.recipient(),
                                Dsn.Action.FAILED,
                                o.reply(),
                                o.remoteMta(),
                                o.state() == RecipientStatus.State.PENDING));
            } else if (o.state() == RecipientStatus.State.DELIVERED
                    && !o.mxOfferedDsn()
                    && notify.contains(RecipientStatus.Notify.SUCCESS)) {
                // RFC 3461 §5.2.2.1: the next hop cannot report success, so this relay says it
                // relayed
                entries.add(
                        new Dsn.Entry(
                                o.recipient(),
                                Dsn.Action.RELAYED,
                                o.reply(),
                                o.remoteMta(),
                                false));
            }
        }
        boolean dsnQueued = true;
        if (!entries.isEmpty() && !env.nullSender()) {
            dsnQueued = queueDsn(run, entries, now);
        }
        List<RecipientResult> toRecord = new ArrayList<>();
        Set<String> done = new HashSet<>();
        int failedCount = 0;
        for (DomainResult.Outcome o : outcomes) {
            RecipientStatus.State state = o.state();
            if (expired && state == RecipientStatus.State.PENDING) {
                state = RecipientStatus.State.FAILED;
            }
            if (state == RecipientStatus.State.FAILED && !dsnQueued) {
                state = RecipientStatus.State.PENDING; // tried again later, and the DSN with it
            }
            if (state == RecipientStatus.State.FAILED) {
                failedCount++;
            }
            if (state != RecipientStatus.State.PENDING) {
                done.add(o.recipient().address());
            }
            if (state == RecipientStatus.State.DELIVERED
                    && run.recordedEarly.contains(o.recipient().domain())) {
                continue;
            }
            toRecord.add(o.withState(state).toResult());
        }
        boolean remaining = env.pending().stream().anyMatch(r -> !done.contains(r.address()));
        if (failedCount > 0) {
            metrics.bounced();
        }
        if (!remaining) {
            spool.complete(run.id());
            completed.incrementAndGet();
            boolean anyDelivered =
                    outcomes.stream().anyMatch(o -> o.state() == RecipientStatus.State.DELIVERED)
                            || env.recipients().stream()
                                    .anyMatch(r -> r.state() == RecipientStatus.State.DELIVERED);
            if (anyDelivered) {
                metrics.delivered(env.arrival());
            }
            if (failedCount > 0) {
                LOG.info(
                        "queue {}: done; {} recipient(s) failed{}",
                        run.id(),
                        failedCount,
                        env.nullSender() ? " (null sender: no DSN)" : "");
            }
            return;
        }
        spool.record(run.id(), toRecord, List.of());
        if (run.interrupted) {
            spool.requeue(run.id());
            return;
        }
        Instant when =
                next.orElseGet(() -> now.plus(settings.retry().waitAfter(env.attempts() + 1)));
        spool.defer(run.id(), when);
        deferred.incrementAndGet();
        metrics.deferred();
        String why =
                outcomes.stream()
                        .filter(o -> o.state() == RecipientStatus.State.PENDING)
                        .findFirst()
                        .map(DomainResult.Outcome::reply)
                        .orElse("not attempted");
        LOG.info("queue {}: deferred until {}: {}", run.id(), when, why);
    }

    /** RFC 3461 §4.1: without NOTIFY, failures are reported; NOTIFY=NEVER asks for nothing. */
    private static boolean wantsFailure(Set<RecipientStatus.Notify> notify) {
        return notify.isEmpty() || notify.contains(RecipientStatus.Notify.FAILURE);
    }

    private boolean queueDsn(Run run, List<Dsn.Entry> entries, Instant now) {
        Envelope env = run.message.envelope();
        try {
            byte[] dsn =
                    dsnSigner.sign(
                            Dsn.build(
                                    settings.reportingMta(),
                                    env,
                                    run.message.body(),
                                    entries,
                                    now));
            QueuedMessage queued =
                    spool.enqueue("", List.of(env.sender()), new ByteArrayInputStream(dsn));
            bounces.incrementAndGet();
            LOG.info(
                    "queue {}: DSN ({}) for {} recipient(s) queued as {} to <{}>",
                    run.id(),
                    entries.get(0).action().label(),
                    entries.size(),
                    queued.id(),
                    env.sender());
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "queue {}: cannot queue the DSN to <{}>: {}; the recipients stay pending",
                    run.id(),
                    env.sender(),
                    e.toString());
            return false;
        }
    }

    private void giveBack(String id) {
        try {
            spool.requeue(id);
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "queue {}: cannot give the message back to the queue: {}; it is retried at the next start",
                    id,
                    e.toString());
        }
    }

    // ------------------------------------------------------------------ state and shutdown

    /** Counters since start, for tests and metrics. */
    public record Stats(
            long attempts, long completed, long deferred, long dsns, int running, int inHand) {}

    public Stats stats() {
        synchronized (lock) {
            return new Stats(
                    attempts.get(), completed.get(), deferred.get(), bounces.get(), active, inHand);
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
        List<Task> dropped = new ArrayList<>();
        synchronized (lock) {
            if (closing) {
                return;
            }
            closing = true;
            for (ArrayDeque<Task> q : waiting.values()) {
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
        for (Task task : dropped) {
            workers.execute(() -> dropped(task));
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
                        settings.shutdownGrace());
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
