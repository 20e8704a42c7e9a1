package org.tlsrelay.core.queue;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The spool as {@code tlsrelay queue drain} sees it while it hands every queued message over to another relay. It
 * holds the relay lock ({@code SPOOL/relay.lock}) for as long as it is open, as a running relay does: a drain never
 * runs beside a relay on the same spool (so no message is delivered here while it is handed over there), a relay
 * cannot start while a drain runs, and two drains cannot run at once.
 *
 * <p>Each hand-over is recorded in the {@link HandOverJournal} (fsynced) before the message is removed here; opening
 * applies what an interrupted drain recorded but did not apply, as a relay's start does.
 */
public final class SpoolDrain implements Closeable {
    private final SpoolFiles files;
    private final Administration admin;
    private final RelayLock lock;
    private final int replayed;
    private boolean unapplied;

    /** The spool is in use by a running relay (or another drain). */
    public static final class InUse extends IOException {
        private static final long serialVersionUID = 1L;

        InUse(Path root) {
            super("a relay (or another drain) is running on the spool " + root);
        }
    }

    private SpoolDrain(SpoolFiles files, RelayLock lock, int replayed) {
        this.files = files;
        this.admin = new Administration(files, Scheduling.throughWakeupFile(files));
        this.lock = lock;
        this.replayed = replayed;
    }

    /**
     * Opens an existing spool directory for draining: takes the relay lock and applies an interrupted drain's journal.
     *
     * @throws InUse when a relay or another drain holds the spool
     * @throws java.nio.file.NoSuchFileException when the directory does not exist
     */
    public static SpoolDrain open(Path root, Spool.Options options) throws IOException {
        Path dir = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new java.nio.file.NoSuchFileException(dir.toString());
        }
        RelayLock lock = RelayLock.tryTake(dir).orElseThrow(() -> new InUse(dir));
        SpoolFiles files = null;
        try {
            files = new SpoolFiles(dir, options);
            int replayed = HandOverJournal.replay(files);
            return new SpoolDrain(files, lock, replayed);
        } catch (IOException | RuntimeException e) {
            if (files != null) {
                SpoolFiles.closeQuietly(files);
            }
            lock.close();
            throw e;
        }
    }

    public Path root() {
        return files.root();
    }

    /** How many messages an interrupted drain's journal changed when this one opened the spool. */
    public int replayed() {
        return replayed;
    }

    /**
     * The messages to hand over, oldest first: those waiting ({@code incoming/}, {@code deferred/}) and those a
     * stopped relay was delivering ({@code active/}). Held and damaged ones are {@link #leftAlone()}.
     */
    public List<QueuedMessage> waiting() throws IOException {
        List<QueuedMessage> out = new ArrayList<>();
        for (QueueEntry e : admin.entries()) {
            if (e instanceof QueueEntry.Message m
                    && m.message().state() != QueueState.HOLD
                    && m.message().state() != QueueState.CORRUPT) {
                out.add(m.message());
            }
        }
        return out;
    }

    /** What a drain does not hand over: held messages (the operator's decision) and everything damaged. */
    public List<QueueEntry> leftAlone() throws IOException {
        List<QueueEntry> out = new ArrayList<>();
        for (QueueEntry e : admin.entries()) {
            if (e instanceof QueueEntry.Damaged || e.state() == QueueState.HOLD) {
                out.add(e);
            }
        }
        return out;
    }

    /** The message as it is now (another process may have held or deleted it since the listing). */
    public Optional<QueuedMessage> reread(String id) throws IOException {
        return admin.find(id);
    }

    /** The OS user running the drain, for the log; under sudo, also who ran sudo. */
    public static String operator() {
        return OperatorAction.currentUser();
    }

    /** What recording a hand-over did here. */
    public enum Result {
        /** Every recipient is done: the message is removed. */
        REMOVED,
        /** Recipients the other relay did not take are still pending here. */
        KEPT
    }

    /**
     * Records that the other relay took {@code recipients} of {@code id} with {@code reply} (its 250 to the end of
     * data): first durably in the journal, then in the spool (the message removed, or those recipients delivered).
     * Call it at once after the reply: until it returns, a crash means a second hand-over (RFC 1047).
     */
    public Result handedOver(
            String id, List<String> recipients, String target, String reply, Instant when)
            throws IOException {
        HandOverJournal.Entry e = new HandOverJournal.Entry(id, recipients, target, reply, when);
        HandOverJournal.append(files.root(), e, files.options().fsync());
        try {
            return HandOverJournal.apply(files, e) == HandOverJournal.Applied.KEPT
                    ? Result.KEPT
                    : Result.REMOVED;
        } catch (IOException | RuntimeException x) {
            unapplied = true; // the journal must survive this drain: the next one applies it
            throw x;
        }
    }

    /**
     * Removes the journal when every record in it is applied (else the next drain or relay start applies it) and
     * releases the spool.
     */
    @Override
    public void close() throws IOException {
        try {
            if (!unapplied) {
                HandOverJournal.forget(files);
            }
        } finally {
            try {
                files.close();
            } finally {
                lock.close();
            }
        }
    }
}
