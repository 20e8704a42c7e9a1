package org.tlsrelay.core.queue;

import static org.tlsrelay.core.queue.SpoolFiles.BODY;
import static org.tlsrelay.core.queue.SpoolFiles.ENVELOPE;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

    /** Deletes a message in any state; returns the state it was in, empty when there is no such message. */
    Optional<QueueState> delete(String id) throws IOException {
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
                told(OperatorAction.Action.DELETE, id, where.get().label());
            }
            return where;
        }
    }

    /** Makes every queued message (new and deferred, not held) due now, telling {@code progress} each id. */
    int flush(Consumer<String> progress) throws IOException {
        if (!files.exists()) {
            return 0;
        }
        Instant now = files.options().clock().instant();
        int n = 0;
        for (QueueState s : List.of(QueueState.INCOMING, QueueState.DEFERRED)) {
            for (String id : files.ids(s)) {
                try (StripeLocks.Held h = files.lock(id)) {
                    Optional<QueueState> where = files.locate(id);
                    if (where.isEmpty() || where.get() != s) {
                        continue;
                    }
                    Envelope env;
                    try {
                        env = files.read(s, id);
                    } catch (IOException e) {
                        continue;
                    }
                    if (env.nextAttempt().isAfter(now)) {
                        files.rewrite(s, env.withNextAttempt(now));
                    }
                    scheduling.schedule(id, now);
                    n++;
                    progress.accept(id);
                }
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

    /** Every readable message in every state, oldest first. */
    List<QueuedMessage> list() throws IOException {
        List<QueuedMessage> out = new ArrayList<>();
        if (!Files.isDirectory(files.root())) {
            return out;
        }
        for (QueueState s : QueueState.values()) {
            for (String id : files.ids(s)) {
                try {
                    out.add(files.load(s, id));
                } catch (NoSuchFileException e) {
                    // moved or deleted while listing
                } catch (IOException e) {
                    // unreadable: reported by unreadable()
                }
            }
        }
        out.sort(
                Comparator.comparing((QueuedMessage m) -> m.envelope().arrival())
                        .thenComparing(QueuedMessage::id));
        return out;
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
