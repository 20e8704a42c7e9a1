package org.tlsrelay.core.queue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;

/**
 * The running relay's delivery schedule: when each queued message is next due, kept in memory (rebuilt from the
 * envelopes at start), the listeners woken when messages may have become due, and the watcher of
 * {@code SPOOL/wakeup}, through which operator commands in another process make the relay re-read the schedule.
 */
final class SpoolSchedule implements Scheduling, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Spool.class);

    /** One scheduled message. */
    record Due(Instant at, String id) implements Comparable<Due> {
        private static final Comparator<Due> ORDER =
                Comparator.comparing(Due::at).thenComparing(Due::id);

        @Override
        public int compareTo(Due o) {
            return ORDER.compare(this, o);
        }
    }

    private final SpoolFiles files;
    private final ConcurrentSkipListSet<Due> schedule = new ConcurrentSkipListSet<>();
    private final ConcurrentHashMap<String, Due> scheduled = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile WatchService watcher;
    private volatile Thread watchThread;

    SpoolSchedule(SpoolFiles files) {
        this.files = files;
    }

    @Override
    public void schedule(String id, Instant at) {
        Due d = new Due(at, id);
        scheduled.compute(
                id,
                (k, old) -> {
                    if (old != null) {
                        schedule.remove(old);
                    }
                    schedule.add(d);
                    return d;
                });
    }

    @Override
    public void unschedule(String id) {
        scheduled.computeIfPresent(
                id,
                (k, old) -> {
                    schedule.remove(old);
                    return null;
                });
    }

    /** In the relay's own process a wake-up is a direct call of the listeners. */
    @Override
    public void wake() {
        notifyListeners();
    }

    /** In the relay's own process an operator's change is logged at once. */
    @Override
    public void operatorAction(OperatorAction action) {
        action.log(files.options().clock().instant());
    }

    void addListener(Runnable listener) {
        listeners.add(Objects.requireNonNull(listener));
    }

    void notifyListeners() {
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException e) {
                LOG.warn("spool listener failed", e);
            }
        }
    }

    Optional<Instant> nextDue() {
        return earliest().map(Due::at);
    }

    /** The first entry, if any; the set's first() would throw on an empty set that another thread just emptied. */
    private Optional<Due> earliest() {
        Iterator<Due> it = schedule.iterator();
        return it.hasNext() ? Optional.of(it.next()) : Optional.empty();
    }

    /**
     * Removes and returns the earliest entry if it is due at {@code now}; each entry goes to exactly one caller,
     * however many workers ask at once.
     */
    Optional<Due> pollDue(Instant now) {
        while (true) {
            Optional<Due> earliest = earliest();
            if (earliest.isEmpty()) {
                return Optional.empty();
            }
            Due first = earliest.get();
            if (first.at().isAfter(now)) {
                return Optional.empty();
            }
            if (schedule.remove(first)) {
                scheduled.remove(first.id(), first);
                return Optional.of(first);
            }
            // another worker took it: look again
        }
    }

    int size() {
        return scheduled.size();
    }

    Set<String> ids() {
        return new HashSet<>(scheduled.keySet());
    }

    /**
     * Watches {@code SPOOL/wakeup}, which operator commands touch, and re-reads the schedule when it changes; logs the
     * operators' notices ({@link OperatorAction}), also those left while the relay was not running.
     */
    void startWatching() throws IOException {
        Path root = files.root();
        WatchService ws = root.getFileSystem().newWatchService();
        root.register(
                ws, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
        this.watcher = ws;
        OperatorAction.drainNotices(root, files.options().clock().instant());
        Thread t =
                new Thread(
                        () -> {
                            try {
                                while (true) {
                                    WatchKey key = ws.take();
                                    boolean wake = false;
                                    boolean notices = false;
                                    for (WatchEvent<?> ev : key.pollEvents()) {
                                        if (ev.context() instanceof Path p
                                                && p.toString().equals(SpoolFiles.WAKEUP)) {
                                            wake = true;
                                        }
                                        notices |=
                                                ev.kind() == StandardWatchEventKinds.OVERFLOW
                                                        || ev.context() instanceof Path p
                                                                && p.toString()
                                                                        .startsWith(
                                                                                OperatorAction
                                                                                        .PREFIX);
                                    }
                                    key.reset();
                                    if (notices) {
                                        OperatorAction.drainNotices(
                                                root, files.options().clock().instant());
                                    }
                                    if (wake) {
                                        rescan();
                                    }
                                }
                            } catch (InterruptedException | ClosedWatchServiceException e) {
                                // closing
                            }
                        },
                        "spool-watch");
        t.setDaemon(true);
        t.start();
        this.watchThread = t;
    }

    /** Re-reads the schedule of {@code incoming/} and {@code deferred/} after an operator command changed them. */
    void rescan() {
        try {
            for (QueueState s : List.of(QueueState.INCOMING, QueueState.DEFERRED)) {
                for (String id : files.ids(s)) {
                    try {
                        schedule(id, files.read(s, id).nextAttempt());
                    } catch (IOException e) {
                        // gone, or corrupt: the claim will sort it out
                    }
                }
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("spool {}: rescan failed: {}", files.root(), Problems.describe(e));
        }
        notifyListeners();
    }

    @Override
    public void close() throws IOException {
        WatchService ws = watcher;
        if (ws != null) {
            ws.close();
        }
        Thread t = watchThread;
        if (t != null) {
            t.interrupt();
        }
    }
}
