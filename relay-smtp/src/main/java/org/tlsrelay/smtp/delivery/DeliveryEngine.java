package org.tlsrelay.smtp.delivery;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.log.RateLimitedLog;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.smtp.outbound.ConcurrencyLimiter;
import org.tlsrelay.smtp.outbound.ConnectionLimits;
import org.tlsrelay.smtp.outbound.OutboundClient;
import org.tlsrelay.smtp.outbound.OutboundSettings;

/**
 * The delivery engine: takes due messages from the {@link Spool}, splits each into one attempt per recipient domain,
 * and runs the attempts through the {@link OutboundClient} within the concurrency limits; then records each
 * recipient's result, completes or defers the message, and queues delivery status notifications.
 *
 * <p>Threads: one scheduler thread claims due messages (it wakes when the spool says messages may be due and at the
 * next due time); attempts run as future chains on the client's event loops and never block; a small worker pool does
 * the spool writes and builds DSNs. {@link #beginStop()} (SIGTERM) stops taking messages and gives back those whose
 * attempts had not started; {@link #close()} lets running attempts have the rest of {@link
 * EngineSettings#shutdownGrace()}, then cuts them: due again at once after the restart, and a possible duplicate
 * where the cut came after the end of data (RFC 1047).
 *
 * <p>Crash safety follows the spool: a message is in {@code active/} while it is being delivered; recipients an MX
 * accepted are recorded before the message is deferred (and, for a message with several domains, as soon as that
 * domain's attempt ends), so a restart sends again at most what was in flight. A DSN is queued before the failed
 * recipients are recorded, so a crash can duplicate a bounce but never lose one. Results the spool cannot take (a full
 * disk) are held in memory ({@link HeldMessages}) and the message waits for its next attempt as usual: a full disk
 * never makes the engine send again what an MX accepted.
 *
 * <p>Its rooms: this class takes messages and starts attempts in turn ({@link DomainTurns}); {@link AttemptRunner}
 * runs one (message, domain) attempt over the {@link MxWalk}; {@link MessageSettler} writes what {@link Settlement}
 * (a pure function) says the results mean; the {@link OutboundClient} keeps to the connection limits.
 */
public final class DeliveryEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeliveryEngine.class);
    private static final int BATCH = 64;
    private static final Duration MIN_TIMER = Duration.ofMillis(10);
    private static final Duration SPOOL_ERROR_PAUSE = Duration.ofSeconds(1);
    private static final Duration ERROR_LOG_PERIOD = Duration.ofMinutes(1);

    /** After a cut, how long the cut attempts may take to record their results. */
    private static final Duration CUT_SETTLE = Duration.ofSeconds(5);

    private final EngineSettings settings;
    private final Spool spool;
    private final OutboundClient client;
    private final ConcurrencyLimiter limiter;
    private final AttemptRunner runner;
    private final MessageSettler settler;
    private final Clock clock;
    private final ScheduledThreadPoolExecutor scheduler;
    private final ExecutorService workers;
    private final RateLimitedLog errors;
    private final HeldMessages held;
    private final AtomicBoolean pumpQueued = new AtomicBoolean();
    private volatile ScheduledFuture<?> timer;
    private volatile Instant timerAt;

    /** Why the last attempt to take messages from the spool failed; null once it works again (health check). */
    private volatile String spoolProblem;

    private final Object lock = new Object();
    // guarded by lock:
    private final DomainTurns turns;
    private int inHand;
    private boolean closing;
    private boolean stopped;
    private long graceEnds;
    private volatile boolean cutAtStop;

    private final AtomicLong attempts = new AtomicLong();

    private DeliveryEngine(EngineBuilder b) {
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
        this.limiter =
                b.limiter != null
                        ? b.limiter
                        : ConcurrencyLimiter.local(
                                settings.maxConnectionsPerDomain(),
                                settings.maxConnectionsPerHost());
        this.client =
                new OutboundClient(
                        outbound,
                        b.trust,
                        b.outcomes,
                        clock,
                        ConnectionLimits.of(settings.maxConnections())
                                .withHostBackoff(
                                        settings.hostBackoff(),
                                        settings.hostBackoff().multipliedBy(16)),
                        limiter);
        this.turns = new DomainTurns(limiter);
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
        this.errors = new RateLimitedLog(LOG, ERROR_LOG_PERIOD, clock);
        this.settler =
                new MessageSettler(
                        spool, settings, b.dsnSigner, b.metrics, clock, errors, this::settled);
        this.scheduler = new ScheduledThreadPoolExecutor(1, daemon("delivery-scheduler"));
        scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        scheduler.setRemoveOnCancelPolicy(true);
        this.workers =
                Executors.newFixedThreadPool(settings.workerThreads(), daemon("delivery-worker"));
        this.held =
                new HeldMessages(
                        spool,
                        settings.spoolRetry(),
                        clock,
                        scheduler,
                        workers,
                        errors,
                        this::attemptAgain,
                        this::settled);
        settler.holdUnwrittenIn(held);
    }

    /**
     * @param spool the relay's spool (opened with {@link Spool#open})
     * @param dns the resolver for MX and address look-ups
     * @param policies where each domain's policy comes from
     */
    public static EngineBuilder builder(Spool spool, DnsResolver dns, PolicyLookup policies) {
        return new EngineBuilder(spool, dns, policies);
    }

    /** Starts an engine {@link EngineBuilder} configured: it listens to the spool and takes what is due now. */
    static DeliveryEngine start(EngineBuilder b) {
        DeliveryEngine engine = new DeliveryEngine(b);
        engine.limiter.onRoom(engine::roomElsewhere);
        b.spool.addListener(engine::wake);
        engine.wake();
        EngineSettings settings = b.settings;
        LOG.info(
                "delivery engine started: port {}, {} connections ({} per domain, {} per MX host), retry {} for "
                        + "up to {}; {}{}",
                settings.port(),
                settings.maxConnections(),
                settings.maxConnectionsPerDomain(),
                settings.maxConnectionsPerHost(),
                settings.retry().waits().stream()
                        .map(Durations::format)
                        .collect(Collectors.joining(", ", "[", "]")),
                Durations.format(settings.retry().maxAge()),
                b.outbound.engines().describe(),
                b.outbound.engines().fallback().map(why -> " (" + why + ")").orElse(""));
        return engine;
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
                            inHand++;
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
            errors.error(
                    RateLimitedLog.cause(e),
                    "cannot take due messages from the spool {}: {}",
                    spool.root(),
                    spoolProblem);
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

    /**
     * A message held in memory (its results could not be written) is due again: attempted from memory, its place in
     * hand kept.
     */
    private void attemptAgain(QueuedMessage m) {
        boolean admitted;
        synchronized (lock) {
            admitted = !closing;
            if (admitted) {
                admit(m, clock.instant());
            }
        }
        if (admitted) {
            dispatch();
            return;
        }
        try {
            spool.defer(m.envelope());
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "queue {}: the results of its last attempt could not be written ({}); recipients delivered "
                            + "since may get a second copy after the restart",
                    m.id(),
                    Problems.describe(e));
        }
        settled();
    }

    /**
     * Splits a claimed message into one task per recipient domain (RFC 5321 §5.1: MXs are per domain); the caller
     * has counted it in hand.
     */
    private void admit(QueuedMessage m, Instant now) {
        Envelope env = m.envelope();
        Map<String, List<RecipientStatus>> byDomain = new LinkedHashMap<>();
        for (RecipientStatus rs : env.pending()) {
            byDomain.computeIfAbsent(rs.domain(), d -> new ArrayList<>()).add(rs);
        }
        MessageRun run =
                new MessageRun(m, settings.retry().expired(env.arrival(), now), byDomain.size());
        if (byDomain.isEmpty()) {
            workers.execute(
                    () ->
                            settler.settle(
                                    run)); // nothing pending (a crash after the last delivery):
            // complete it
            return;
        }
        for (Map.Entry<String, List<RecipientStatus>> e : byDomain.entrySet()) {
            turns.add(new DomainTask(run, e.getKey(), List.copyOf(e.getValue())));
        }
    }

    // ------------------------------------------------------------------ turns

    /** A shared limiter has room that no attempt here freed: blocked domains try again, off the caller's thread. */
    private void roomElsewhere() {
        try {
            scheduler.execute(
                    () -> {
                        synchronized (lock) {
                            turns.retryBlocked();
                        }
                        dispatch();
                    });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed
        }
    }

    /** Starts the attempts whose turn it is ({@link DomainTurns}). */
    private void dispatch() {
        List<DomainTask> start;
        synchronized (lock) {
            start = closing ? List.of() : turns.startable();
        }
        for (DomainTask t : start) {
            launch(t);
        }
    }

    private void releaseSlot(DomainTask t) {
        synchronized (lock) {
            turns.ended(t);
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
                    turns.running(),
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

    /** Messages whose last results could not be written to the spool, held in memory now. */
    public int heldInMemory() {
        return held.size();
    }

    /** Idle outbound connections kept for reuse now. */
    public int idleConnections() {
        return client.idleConnections();
    }

    /** Open outbound connections now, idle ones included. */
    public int openConnections() {
        return client.openConnections();
    }

    /** Attempts waiting for an outbound connection (their MX host or the total at its limit). */
    public int waitingForConnection() {
        return client.waitingForConnection();
    }

    /**
     * The first half of a stop (SIGTERM): takes no more messages and gives back those whose attempts had not started;
     * running attempts go on. The shutdown grace counts from here, so that {@link #close()}, which follows once the
     * inbound listener is down, lets them run for the whole of it.
     */
    public void beginStop() {
        List<DomainTask> dropped;
        synchronized (lock) {
            if (closing) {
                return;
            }
            closing = true;
            graceEnds = System.nanoTime() + settings.shutdownGrace().toNanos();
            dropped = turns.drain();
        }
        scheduler.shutdown();
        ScheduledFuture<?> t = timer;
        if (t != null) {
            t.cancel(false);
        }
        for (DomainTask task : dropped) {
            workers.execute(() -> settler.dropped(task));
        }
        held.close();
    }

    /**
     * Stops (after {@link #beginStop()}, or doing it now): running attempts have until the shutdown grace is over
     * ({@code server.shutdown-grace}) to finish and record their results as usual; then the relay cuts them. A
     * message cut after its end of data is logged as a possible duplicate; every cut message is due again at once
     * after the restart. Then the outbound client closes.
     */
    @Override
    public void close() {
        beginStop();
        synchronized (lock) {
            if (stopped) {
                return;
            }
            stopped = true;
        }
        awaitInHand(graceEnds);
        int running;
        synchronized (lock) {
            running = inHand;
        }
        if (running > 0) {
            cutAtStop = true;
            LOG.warn(
                    "{} message(s) still in delivery when server.shutdown-grace ({}) was over: the relay cuts their "
                            + "connections; they are due again at once after the restart",
                    running,
                    Durations.format(settings.shutdownGrace()));
            client.cut(
                    "cut by the relay: it is stopping and server.shutdown-grace ("
                            + Durations.format(settings.shutdownGrace())
                            + ") is over");
            awaitInHand(System.nanoTime() + CUT_SETTLE.toNanos());
            synchronized (lock) {
                if (inHand > 0) {
                    LOG.warn(
                            "{} message(s) could not record their cut attempt; they are delivered after the next "
                                    + "start",
                            inHand);
                }
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

    /** Whether the stop had to cut deliveries that were still running when the grace was over. */
    public boolean cutAtStop() {
        return cutAtStop;
    }

    private void awaitInHand(long deadline) {
        synchronized (lock) {
            while (inHand > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
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
