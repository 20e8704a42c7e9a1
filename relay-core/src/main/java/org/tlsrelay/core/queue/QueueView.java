package org.tlsrelay.core.queue;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * What an operator does to a queue, on the running relay's {@link Spool} and on the {@link SpoolAdmin} view that
 * {@code tlsrelay queue} uses from another process alike: list, show, hold, release, delete, flush. The two differ in
 * how a change reaches the schedule (at once in the relay, through {@code SPOOL/wakeup} from another process), which
 * their {@link Administration} knows.
 */
public abstract sealed class QueueView implements Closeable permits Spool, SpoolAdmin {
    final SpoolFiles files;
    final Administration admin;

    QueueView(SpoolFiles files, Administration admin) {
        this.files = files;
        this.admin = admin;
    }

    public Path root() {
        return files.root();
    }

    /** Puts a message on hold; returns the state it was in, empty when there is no such message. */
    public Optional<QueueState> hold(String id) throws IOException {
        return admin.hold(id);
    }

    /** Releases a held message, due now; returns the state it was in, empty when there is no such message. */
    public Optional<QueueState> release(String id) throws IOException {
        return admin.release(id);
    }

    /**
     * Deletes a message in any state for an operator, who is named in the log; returns the state it was in, empty
     * when there is no such message.
     */
    public Optional<QueueState> delete(String id) throws IOException {
        return admin.delete(id);
    }

    /** Makes every queued message (new and deferred, not held) due now; returns how many. */
    public int flush() throws IOException {
        return admin.flush(id -> {});
    }

    /** As {@link #flush()}, telling {@code progress} each message id as it is made due. */
    public int flush(Consumer<String> progress) throws IOException {
        return admin.flush(progress);
    }

    /** Every readable message in every state, oldest first. */
    public List<QueuedMessage> list() throws IOException {
        return admin.list();
    }

    /**
     * Every message, oldest first, then everything damaged, each under its own file's id with what is wrong ({@code
     * queue list}).
     */
    public List<QueueEntry> entries() throws IOException {
        return admin.entries();
    }

    /**
     * Messages per state and the oldest waiting arrival, from directory listings only: what {@code queue list} counts
     * and the metrics gauges show ({@code tlsrelay_queue_messages}, {@code tlsrelay_queue_oldest_age_seconds}).
     */
    public QueueStats stats() throws IOException {
        return admin.stats();
    }

    /** Ids whose envelope cannot be read (those in {@code corrupt/} and any the relay has not moved there yet). */
    public List<String> unreadable() throws IOException {
        return admin.unreadable();
    }

    /** One message by id, wherever it is. */
    public Optional<QueuedMessage> find(String id) throws IOException {
        return admin.find(id);
    }
}
