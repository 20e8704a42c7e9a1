package org.tlsrelay.core.queue;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The operator's view of a spool, for the {@code tlsrelay queue} commands: in this or another process, while the
 * relay may be running. It lists, shows, holds, releases, deletes and flushes messages; it neither receives nor
 * delivers, keeps no schedule and recovers nothing (that is the running relay's {@link Spool}). Changes that make
 * messages due ({@link #release}, {@link #flush}) wake the relay through {@code SPOOL/wakeup}. A spool directory
 * that does not exist yet is an empty queue.
 */
public final class SpoolAdmin extends QueueView {
    private SpoolAdmin(SpoolFiles files) {
        super(files, new Administration(files, Scheduling.throughWakeupFile(files)));
    }

    public static SpoolAdmin open(Path root) throws IOException {
        return open(root, Spool.Options.defaults());
    }

    /** {@link #open(Path)} with explicit options (tests use their clock). */
    public static SpoolAdmin open(Path root, Spool.Options options) throws IOException {
        return new SpoolAdmin(new SpoolFiles(root, options));
    }

    /** Whether a relay currently holds this spool (its lock file is locked by some process). */
    public boolean relayRunning() {
        return RelayLock.heldElsewhere(files.root());
    }

    @Override
    public void close() throws IOException {
        files.close();
    }
}
