package org.tlsrelay.core.queue;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The operator's view of a spool, for the {@code tlsrelay queue} commands: in this or another process, while the
 * relay may be running. It lists, shows, holds, releases, deletes and flushes messages; it neither receives nor
 * delivers, keeps no schedule and recovers nothing (that is the running relay's {@link Spool}). Changes that make
 * messages due ({@link #release}, {@link #flush}) wake the relay through {@code SPOOL/wakeup}. A spool directory
 * that does not exist yet is an empty queue.
 */
public final class SpoolAdmin implements Closeable {
    private final SpoolFiles files;
    private final Administration admin;

    private SpoolAdmin(SpoolFiles files) {
        this.files = files;
        this.admin = new Administration(files, Scheduling.throughWakeupFile(files));
    }

    public static SpoolAdmin open(Path root) throws IOException {
        return open(root, Spool.Options.defaults());
    }

    /** {@link #open(Path)} with explicit options (tests use their clock). */
    public static SpoolAdmin open(Path root, Spool.Options options) throws IOException {
        return new SpoolAdmin(new SpoolFiles(root, options));
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

    /** Deletes a message in any state; returns the state it was in, empty when there is no such message. */
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

    /** Messages per state and the oldest waiting arrival, from directory listings only. */
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

    /** Whether a relay currently holds this spool (its lock file is locked by some process). */
    public boolean relayRunning() {
        Path f = files.root().resolve(SpoolFiles.RELAY_LOCK);
        if (!Files.exists(f)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() throws IOException {
        files.close();
    }
}
