package org.tlsrelay.core.policy.list;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;

/**
 * The configured lists as the relay uses them: the installed copies, each verified again at load, looked up in
 * configured order, and kept fresh by a refresher.
 *
 * <p>Thread safety: the lists in use are one immutable map behind an {@link AtomicReference}; an update builds a new
 * map and swaps it in, so a reader sees either the old or the new list, never a mix.
 *
 * <p>Expiry (RULES.md "expires"): an expired list contributes nothing, its domains fall back to opportunistic TLS,
 * and a WARN is logged at load and after every refresh until a fresh list is installed.
 *
 * <p>Refresh (EFF USAGE.md: "fetch updates at least once every 48 hours"): every {@code refresh} (default 12 h), up
 * to 10 % earlier at random so that many relays do not call at once; the first run shortly after start; after a
 * failure, retries from 5 minutes on, doubling, never later than {@code refresh}.
 */
public final class InstalledPolicyLists implements PolicyLists {
    private static final Logger LOG = LoggerFactory.getLogger(InstalledPolicyLists.class);
    private static final Duration FIRST_RUN_WITHIN = Duration.ofMinutes(1);
    private static final Duration FIRST_RETRY = Duration.ofMinutes(5);

    private final List<ListSource> configs;
    private final PolicyListUpdater updater;
    private final Consumer<UpdateOutcome> listener;
    private final AtomicReference<Map<String, SignedList>> inUse = new AtomicReference<>(Map.of());
    private final Map<String, Integer> failures = new ConcurrentHashMap<>();

    private final Object scheduling = new Object();
    private ScheduledExecutorService executor; // guarded by scheduling; null when stopped
    private final Map<String, ScheduledFuture<?>> scheduled =
            new HashMap<>(); // guarded by scheduling

    /**
     * Lists {@code configs}, installed and updated by {@code updater}; {@code listener} hears every update outcome
     * (metrics, tests). Nothing is loaded until {@link #reload()}.
     */
    public InstalledPolicyLists(
            List<ListSource> configs, PolicyListUpdater updater, Consumer<UpdateOutcome> listener) {
        this.configs = List.copyOf(configs);
        this.updater = updater;
        this.listener = listener;
    }

    /** The lists of {@code settings}, loaded from their installed copies. */
    public static InstalledPolicyLists load(ListSettings settings, Clock clock) throws IOException {
        InstalledPolicyLists lists =
                new InstalledPolicyLists(
                        settings.lists(), PolicyListUpdater.from(settings, clock), o -> {});
        lists.reload();
        return lists;
    }

    /** (Re)loads every installed copy from disk, verifying each against its key; a copy that fails is not used. */
    public void reload() {
        Map<String, SignedList> loaded = new HashMap<>();
        Instant now = updater.clock().instant();
        for (ListSource c : configs) {
            try {
                Optional<SignedList> installed = updater.installed(c);
                if (installed.isPresent()) {
                    loaded.put(c.name(), installed.get());
                    LOG.info("policy list {}: loaded {}", c.name(), installed.get().summary());
                    warnIfExpired(installed.get(), now);
                } else {
                    LOG.warn(
                            "policy list {}: not installed yet under {}; it applies once an update installs it",
                            c.name(),
                            updater.store(c.name()).dir());
                }
            } catch (IOException | ListFormatException e) {
                LOG.error(
                        "policy list {}: the installed copy is NOT used: {}",
                        c.name(),
                        Problems.describe(e));
            } catch (ListSignatureException e) {
                LOG.error(
                        "policy list {}: the installed copy is NOT used: {}",
                        c.name(),
                        Problems.describe(e));
            }
        }
        inUse.set(Map.copyOf(loaded));
    }

    @Override
    public Optional<ListedPolicy> find(String domain, Instant now) {
        Map<String, SignedList> snapshot = inUse.get();
        for (ListSource c : configs) {
            SignedList list = snapshot.get(c.name());
            if (list == null || list.document().isExpiredAt(now)) {
                continue;
            }
            Optional<ListEntry> entry = list.document().entry(domain);
            if (entry.isPresent()) {
                return Optional.of(
                        new ListedPolicy(
                                c.name(),
                                entry.get().domain(),
                                entry.get().policy(),
                                list.document().expires()));
            }
        }
        return Optional.empty();
    }

    /** The list in use under {@code name}, if any (expired or not). */
    public Optional<SignedList> current(String name) {
        return Optional.ofNullable(inUse.get().get(name));
    }

    /** Updates list {@code name} now and, when a new copy was installed, swaps it in. */
    public UpdateOutcome refresh(String name) {
        ListSource config =
                configs.stream()
                        .filter(c -> c.name().equals(name))
                        .findFirst()
                        .orElseThrow(
                                () -> new IllegalArgumentException("no policy list named " + name));
        UpdateOutcome outcome = updater.update(config);
        if (outcome instanceof UpdateOutcome.Installed i) {
            swapIn(name, i.installed());
        } else if (outcome instanceof UpdateOutcome.Unchanged u) {
            swapIn(name, u.current());
        }
        current(name).ifPresent(l -> warnIfExpired(l, updater.clock().instant()));
        listener.accept(outcome);
        return outcome;
    }

    /** Updates every list now, in configured order. */
    public List<UpdateOutcome> refreshAll() {
        return configs.stream().map(c -> refresh(c.name())).toList();
    }

    private void swapIn(String name, SignedList list) {
        inUse.updateAndGet(
                m -> {
                    Map<String, SignedList> next = new HashMap<>(m);
                    next.put(name, list);
                    return Map.copyOf(next);
                });
    }

    private static void warnIfExpired(SignedList list, Instant now) {
        if (list.document().isExpiredAt(now)) {
            LOG.warn(
                    "POLICY LIST EXPIRED: {} expired at {} and is not applied; its {} domains get opportunistic "
                            + "TLS until a fresh list is installed (check that {} is still published and updated)",
                    list.name(),
                    list.document().expires(),
                    list.document().entries().size(),
                    list.name());
        }
    }

    // ---- the refresher ----

    /**
     * Starts refreshing every list on {@code executor} (owned by the caller, who shuts it down). Calling it again
     * while started does nothing.
     */
    public void start(ScheduledExecutorService executor) {
        synchronized (scheduling) {
            if (this.executor != null) {
                return;
            }
            this.executor = executor;
            for (ListSource c : configs) {
                long firstMillis = Math.min(c.refresh().toMillis(), FIRST_RUN_WITHIN.toMillis());
                schedule(
                        c,
                        Duration.ofMillis(ThreadLocalRandom.current().nextLong(firstMillis + 1)));
            }
        }
    }

    /** Stops the refresher: pending runs are cancelled; a run in progress completes. */
    public void stop() {
        synchronized (scheduling) {
            executor = null;
            scheduled.values().forEach(f -> f.cancel(false));
            scheduled.clear();
        }
    }

    private void schedule(ListSource config, Duration delay) {
        synchronized (scheduling) {
            if (executor == null) {
                return;
            }
            scheduled.put(
                    config.name(),
                    executor.schedule(() -> run(config), delay.toMillis(), TimeUnit.MILLISECONDS));
        }
    }

    private void run(ListSource config) {
        Duration next;
        try {
            UpdateOutcome outcome = refresh(config.name());
            next =
                    nextDelay(
                            config.refresh(),
                            outcome instanceof UpdateOutcome.Failed
                                    ? failures.merge(config.name(), 1, Integer::sum)
                                    : resetFailures(config.name()));
        } catch (RuntimeException e) {
            // Never let one bad run end the refresher.
            LOG.error("policy list {}: refresh failed unexpectedly", config.name(), e);
            next = nextDelay(config.refresh(), failures.merge(config.name(), 1, Integer::sum));
        }
        schedule(config, next);
    }

    private int resetFailures(String name) {
        failures.remove(name);
        return 0;
    }

    /** {@code refresh} minus up to 10 %; after failures, 5 min doubling, capped at that. */
    static Duration nextDelay(Duration refresh, int failures) {
        long max = refresh.toMillis();
        long jitter = ThreadLocalRandom.current().nextLong(max / 10 + 1);
        if (failures <= 0) {
            return Duration.ofMillis(max - jitter);
        }
        long retry = FIRST_RETRY.toMillis() << Math.min(failures - 1, 20);
        return Duration.ofMillis(Math.min(retry, max - jitter));
    }
}
