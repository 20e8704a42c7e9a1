package org.tlsrelay.core.queue;

import static org.tlsrelay.core.queue.SpoolFiles.BODY;
import static org.tlsrelay.core.queue.SpoolFiles.ENVELOPE;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The operator's commands over the spool's files ({@code tlsrelay queue}: list, show, hold, release, delete, flush),
 * the same in the relay's process and in an operator's: every change takes the message's stripe lock, and a change
 * that makes messages due reaches the schedule through {@link Scheduling}.
 */
final class Administration {
    private final SpoolFiles files;
    private final Scheduling scheduling;

    Administration(SpoolFiles files, Scheduling scheduling) {
        this.files = files;
        this.scheduling = scheduling;
    }

    /** Puts a message on hold; returns the state it was in, empty when there is no such message. */
    Optional<QueueState> hold(String id) throws IOException {
        if (!QueueIds.valid(id) || !files.exists()) {
            return Optional.empty();
        }
        try (StripeLocks.Held h = files.lock(id)) {
            Optional<QueueState> where = files.locate(id);
            if (where.isPresent()
                    && where.get() != QueueState.HOLD
                    && where.get() != QueueState.CORRUPT) {
                files.moveMessage(id, where.get(), QueueState.HOLD);
                files.syncDir(QueueState.HOLD);
                scheduling.unschedule(id);
                told(OperatorAction.Action.HOLD, id, where.get().label());
            }
            return where;
        }
    }

    /** Releases a held message, due now; returns the state it was in, empty when there is no such message. */
    Optional<QueueState> release(String id) throws IOException {
        if (!QueueIds.valid(id) || !files.exists()) {
            return Optional.empty();
        }
        Optional<QueueState> where;
        try (StripeLocks.Held h = files.lock(id)) {
            where = files.locate(id);
            if (where.isPresent() && where.get() == QueueState.HOLD) {
                Instant now = files.options().clock().instant();
                Envelope env = files.read(QueueState.HOLD, id).withNextAttempt(now);
                files.rewrite(QueueState.HOLD, env);
                files.moveMessage(id, QueueState.HOLD, QueueState.DEFERRED);
                files.syncDir(QueueState.DEFERRED);
                scheduling.schedule(id, now);
            }
        }
        if (where.isPresent() && where.get() == QueueState.HOLD) {
            told(OperatorAction.Action.RELEASE, id, "");
            scheduling.wake();
        }
        return where;
    }

    /**
     * Deletes a message in any state for an operator ({@code queue delete}), who is named in the log; returns the
     * state it was in, empty when there is no such message.
     */
    Optional<QueueState> delete(String id) throws IOException {
        Optional<QueueState> where = remove(id);
        where.ifPresent(s -> told(OperatorAction.Action.DELETE, id, s.label()));
        return where;
    }

    /**
     * Removes a message in any state, as delivery does once every recipient is done (no operator action: the
     * delivery log says {@code removed}); returns the state it was in, empty when there is no such message.
     */
    Optional<QueueState> remove(String id) throws IOException {
        if (!QueueIds.valid(id) || !files.exists()) {
            return Optional.empty();
        }
        try (StripeLocks.Held h = files.lock(id)) {
            Optional<QueueState> where = files.locate(id);
            if (where.isPresent()) {
                Path dir = files.dir(where.get());
                Files.deleteIfExists(dir.resolve(id + ENVELOPE));
                // The body is beside its envelope, except after an interrupted move (recovery puts
                // it back); look elsewhere only then: each extra unlink of a missing name costs a
                // directory look-up per message.
                if (!Files.deleteIfExists(dir.resolve(id + BODY))) {
                    for (Path d : files.dirs()) {
                        Files.deleteIfExists(d.resolve(id + BODY));
                    }
                }
                files.syncDir(where.get());
                scheduling.unschedule(id);
            }
            return where;
        }
    }

    /**
     * Makes every queued message (new and deferred, not held) due now, telling {@code progress} each id. In batches
     * (seen before: one message at a time, an fsync each, 47 s without a delivery): the envelopes of a batch are
     * rewritten by several writers at once, whose file fsyncs the file system commits together, each directory is
     * fsynced once per batch, and the relay is woken after the first batch and then every second, so that delivery
     * starts at once.
     */
    int flush(Consumer<String> progress) throws IOException {
        if (!files.exists()) {
            return 0;
        }
        Instant now = files.options().clock().instant();
        List<Due> todo = new ArrayList<>();
        for (QueueState s : List.of(QueueState.INCOMING, QueueState.DEFERRED)) {
            for (String id : files.ids(s)) {
                todo.add(new Due(s, id));
            }
        }
        int n = 0;
        if (!todo.isEmpty()) {
            ExecutorService writers =
                    Executors.newFixedThreadPool(
                            Math.min(FLUSH_WRITERS, todo.size()),
                            r -> {
                                Thread t = new Thread(r, "queue-flush");
                                t.setDaemon(true);
                                return t;
                            });
            try {
                long lastWake = 0;
                for (int from = 0; from < todo.size(); from += FLUSH_BATCH) {
                    List<Due> batch = todo.subList(from, Math.min(todo.size(), from + FLUSH_BATCH));
                    List<Future<Optional<Due>>> made = new ArrayList<>(batch.size());
                    for (Due d : batch) {
                        made.add(writers.submit(() -> makeDue(d, now)));
                    }
                    List<String> due = new ArrayList<>();
                    Set<QueueState> rewritten = EnumSet.noneOf(QueueState.class);
                    for (Future<Optional<Due>> f : made) {
                        Optional<Due> d = result(f);
                        if (d.isPresent()) {
                            due.add(d.get().id());
                            if (d.get().rewritten()) {
                                rewritten.add(d.get().state());
                            }
                        }
                    }
                    for (QueueState s : rewritten) {
                        files.syncDir(s);
                    }
                    for (String id : due) {
                        scheduling.schedule(id, now);
                        progress.accept(id);
                        n++;
                    }
                    if (lastWake == 0 || System.nanoTime() - lastWake > WAKE_EVERY_NANOS) {
                        scheduling.wake();
                        lastWake = System.nanoTime();
                    }
                }
            } finally {
                writers.shutdownNow();
            }
        }
        told(OperatorAction.Action.FLUSH, "", Integer.toString(n));
        scheduling.wake();
        return n;
    }

    /** The relay logs who changed the queue: at once in its process, through a notice from another. */
    private void told(OperatorAction.Action action, String id, String detail) {
        scheduling.operatorAction(
                OperatorAction.now(files.options().clock().instant(), action, id, detail));
    }

    /** Envelope rewrites running at once in a flush: concurrent fsyncs share the file system's journal commits. */
    private static final int FLUSH_WRITERS = 8;

    /** Messages per flush batch: one directory fsync each. */
    static final int FLUSH_BATCH = 256;

    private static final long WAKE_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** A message a flush makes due, and whether its envelope had to be rewritten for it. */
    private record Due(QueueState state, String id, boolean rewritten) {
        Due(QueueState state, String id) {
            this(state, id, false);
        }
    }

    /** One message of a flush: due now, its envelope rewritten without the directory fsync (the batch does that). */
    private Optional<Due> makeDue(Due d, Instant now) throws IOException {
        try (StripeLocks.Held h = files.lock(d.id())) {
            Optional<QueueState> where = files.locate(d.id());
            if (where.isEmpty() || where.get() != d.state()) {
                return Optional.empty(); // moved meanwhile (taken, held, deleted)
            }
            Envelope env;
            try {
                env = files.read(d.state(), d.id());
            } catch (IOException e) {
                return Optional.empty(); // damaged: queue list names it
            }
            if (!env.nextAttempt().isAfter(now)) {
                return Optional.of(d);
            }
            files.rewriteUnsynced(d.state(), env.withNextAttempt(now));
            return Optional.of(new Due(d.state(), d.id(), true));
        }
    }

    private static <T> T result(Future<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while flushing the queue");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e.getCause());
        }
    }

    /** Every readable message in every state, oldest first. */
    List<QueuedMessage> list() throws IOException {
        List<QueuedMessage> out = new ArrayList<>();
        for (QueueEntry e : entries()) {
            if (e instanceof QueueEntry.Message m) {
                out.add(m.message());
            }
        }
        return out;
    }

    /**
     * Every message, oldest first, then everything damaged, each under its own file's id with what is wrong: an
     * envelope that cannot be read or names another message, a message without its content, content without an
     * envelope, a second envelope of one message, a message set aside in {@code corrupt/}.
     */
    List<QueueEntry> entries() throws IOException {
        List<QueuedMessage> messages = new ArrayList<>();
        List<QueueEntry> damaged = new ArrayList<>();
        if (!Files.isDirectory(files.root())) {
            return List.of();
        }
        Map<String, QueueState> seen = new HashMap<>();
        for (QueueState s : QueueState.values()) {
            for (Path p : files.files(s, ENVELOPE)) {
                String id = SpoolFiles.stem(p, ENVELOPE);
                Optional<String> problem = problem(s, id, seen);
                if (problem.isPresent()) {
                    damaged.add(new QueueEntry.Damaged(id, s, problem.get()));
                    continue;
                }
                try {
                    QueuedMessage m = files.load(s, id);
                    if (!Files.exists(m.body())) {
                        m = files.load(s, id); // the relay may have been moving it: look again
                    }
                    Optional<String> wrong = problem(m);
                    if (wrong.isPresent()) {
                        damaged.add(new QueueEntry.Damaged(id, s, wrong.get()));
                    } else {
                        messages.add(m);
                    }
                } catch (NoSuchFileException e) {
                    // moved or deleted while listing
                } catch (IOException e) {
                    damaged.add(new QueueEntry.Damaged(id, s, unreadable(e)));
                }
            }
        }
        for (QueueState s : QueueState.values()) {
            for (Path p : files.files(s, BODY)) {
                String id = SpoolFiles.stem(p, BODY);
                if (!seen.containsKey(id)) {
                    damaged.add(
                            new QueueEntry.Damaged(
                                    id,
                                    s,
                                    "message content without an envelope: it was never acknowledged, and the "
                                            + "relay removes it at its next start"));
                }
            }
        }
        messages.sort(
                Comparator.comparing((QueuedMessage m) -> m.envelope().arrival())
                        .thenComparing(QueuedMessage::id));
        damaged.sort(Comparator.comparing(QueueEntry::id));
        List<QueueEntry> out = new ArrayList<>(messages.size() + damaged.size());
        messages.forEach(m -> out.add(new QueueEntry.Message(m)));
        out.addAll(damaged);
        return out;
    }

    /** What is wrong with an envelope file from its name alone: not a queue id, or a second one of a message. */
    private static Optional<String> problem(QueueState s, String id, Map<String, QueueState> seen) {
        if (!QueueIds.valid(id)) {
            String first = id.endsWith(".dup") ? id.substring(0, id.length() - 4) : "";
            return Optional.of(
                    QueueIds.valid(first)
                            ? "a second envelope of message "
                                    + first
                                    + ", set aside by the relay at its start; delete it once "
                                    + first
                                    + " is in order"
                            : "not a queue file name: a file put into the spool by hand?");
        }
        QueueState earlier = seen.putIfAbsent(id, s);
        if (earlier != null) {
            return Optional.of(
                    "a second envelope of this message (the one in "
                            + earlier.dirName()
                            + "/ counts); the relay sets it aside at its next start");
        }
        return Optional.empty();
    }

    /** What is wrong with a message whose envelope reads: its content is missing, or it was set aside. */
    private static Optional<String> problem(QueuedMessage m) {
        if (!Files.exists(m.body())) {
            return Optional.of("its message content (" + m.id() + BODY + ") is missing");
        }
        if (m.state() == QueueState.CORRUPT) {
            return Optional.of(
                    "set aside in corrupt/ by the relay after an error reading it; it reads correctly now but is "
                            + "not delivered: check it with queue show, then delete it");
        }
        return Optional.empty();
    }

    /** An envelope that cannot be read, said in a line: the parser's first line, without where it read from. */
    private static String unreadable(IOException e) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        int nl = m.indexOf('\n');
        if (nl >= 0) {
            m = m.substring(0, nl);
        }
        return m.isBlank() ? "unreadable envelope" : "unreadable envelope: " + m.trim();
    }

    /** Messages per state and the oldest waiting arrival, from directory listings only (no envelope is read). */
    QueueStats stats() throws IOException {
        Map<QueueState, Integer> counts = new EnumMap<>(QueueState.class);
        String oldest = null;
        if (Files.isDirectory(files.root())) {
            for (QueueState s : QueueState.values()) {
                List<String> ids = files.ids(s);
                counts.put(s, ids.size());
                if (s == QueueState.INCOMING
                        || s == QueueState.ACTIVE
                        || s == QueueState.DEFERRED) {
                    for (String id : ids) {
                        // ids sort by arrival: the smallest is the oldest
                        if (oldest == null || id.compareTo(oldest) < 0) {
                            oldest = id;
                        }
                    }
                }
            }
        }
        return new QueueStats(counts, oldest == null ? null : QueueIds.arrival(oldest));
    }

    /** Ids whose envelope cannot be read (those in {@code corrupt/} and any the relay has not moved there yet). */
    List<String> unreadable() throws IOException {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(files.root())) {
            return out;
        }
        for (QueueState s : QueueState.values()) {
            for (String id : files.ids(s)) {
                try {
                    files.read(s, id);
                } catch (NoSuchFileException e) {
                    // gone meanwhile
                } catch (IOException e) {
                    out.add(id);
                }
            }
        }
        return out;
    }

    /** One message by id, wherever it is. */
    Optional<QueuedMessage> find(String id) throws IOException {
        if (!QueueIds.valid(id) || !Files.isDirectory(files.root())) {
            return Optional.empty();
        }
        for (int tries = 0; tries < 3; tries++) {
            Optional<QueueState> where = files.locate(id);
            if (where.isEmpty()) {
                return Optional.empty();
            }
            try {
                return Optional.of(files.load(where.get(), id));
            } catch (NoSuchFileException e) {
                // moved between locate and read: look again
            }
        }
        return Optional.empty();
    }
}
