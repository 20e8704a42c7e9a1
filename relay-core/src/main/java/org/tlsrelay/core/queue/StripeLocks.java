package org.tlsrelay.core.queue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.tlsrelay.core.io.PrivateFiles;

/**
 * Per-message mutual exclusion that holds across threads and across processes (the relay and {@code tlsrelay queue}
 * commands): the message id hashes to one of {@value #STRIPES} stripes; a stripe is an in-JVM lock plus an OS lock on
 * one byte of {@code SPOOL/lock}. The JVM tracks file locks per process, so one instance per spool directory is shared
 * by every {@link Spool} of the process.
 */
final class StripeLocks {
    static final int STRIPES = 256;
    private static final Map<Path, StripeLocks> BY_FILE = new HashMap<>();

    private final FileChannel channel;
    private final ReentrantLock[] locks = new ReentrantLock[STRIPES];
    private int users;
    private final Path file;

    private StripeLocks(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    static StripeLocks acquire(Path file) throws IOException {
        Path key = file.toAbsolutePath().normalize();
        synchronized (BY_FILE) {
            StripeLocks l = BY_FILE.get(key);
            if (l == null) {
                FileChannel ch =
                        PrivateFiles.open(
                                key,
                                StandardOpenOption.CREATE,
                                StandardOpenOption.READ,
                                StandardOpenOption.WRITE);
                l = new StripeLocks(key, ch);
                BY_FILE.put(key, l);
            }
            l.users++;
            return l;
        }
    }

    void release() throws IOException {
        synchronized (BY_FILE) {
            if (--users == 0) {
                BY_FILE.remove(file);
                channel.close();
            }
        }
    }

    /** A held stripe; closing it releases the OS lock, then the in-JVM lock. */
    interface Held extends AutoCloseable {
        @Override
        void close() throws IOException;
    }

    Held lock(String id) throws IOException {
        int stripe = Math.floorMod(id.hashCode(), STRIPES);
        ReentrantLock l = locks[stripe];
        l.lock();
        if (l.getHoldCount() > 1) {
            l.unlock();
            throw new IllegalStateException("stripe lock for " + id + " is not re-entrant");
        }
        FileLock fileLock;
        try {
            fileLock = channel.lock(stripe, 1, false);
        } catch (IOException | RuntimeException e) {
            l.unlock();
            throw e;
        }
        return () -> {
            try {
                fileLock.release();
            } finally {
                l.unlock();
            }
        };
    }
}
