package org.tlsrelay.core.queue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.tlsrelay.core.io.PrivateFiles;

/**
 * The lock on {@code SPOOL/relay.lock} that one process at a time holds while it delivers from a spool or hands it
 * over: a running relay or a drain. The operating system releases it when the process dies, so a crash leaves no
 * stale lock behind.
 */
final class RelayLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private RelayLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock of the spool at {@code dir}; empty when another process (or this one) holds it. */
    static Optional<RelayLock> tryTake(Path dir) throws IOException {
        FileChannel ch =
                PrivateFiles.open(
                        dir.resolve(SpoolFiles.RELAY_LOCK),
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = tryLock(ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (l == null) {
            ch.close();
            return Optional.empty();
        }
        return Optional.of(new RelayLock(ch, l));
    }

    /**
     * Whether some process holds the lock of the spool at {@code dir} (a running relay or a drain), for the operator's
     * commands; the file is not created, and a lock that cannot be tried counts as not held.
     */
    static boolean heldElsewhere(Path dir) {
        Path f = dir.resolve(SpoolFiles.RELAY_LOCK);
        if (!Files.exists(f)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            FileLock l = tryLock(ch);
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /** The lock, or null when another process, or this JVM, holds it. */
    private static FileLock tryLock(FileChannel ch) throws IOException {
        try {
            return ch.tryLock();
        } catch (OverlappingFileLockException e) {
            return null;
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
