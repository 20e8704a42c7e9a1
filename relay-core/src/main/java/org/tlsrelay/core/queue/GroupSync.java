package org.tlsrelay.core.queue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Group commit of directory fsyncs. A caller that has renamed a file into the directory calls {@link #sync()}; it
 * returns once an fsync of the directory that started after the call has completed. While one fsync runs, later
 * callers wait and are all covered by the next one, so N concurrent sessions cost about two fsyncs, not N, and no
 * session waits for another session's file fsyncs (those run in each session's own thread).
 */
final class GroupSync implements AutoCloseable {
    /** A failed round: tickets {@code low..high} were covered by an fsync that failed. */
    private record Failure(long low, long high, IOException cause) {}

    private final Path dir;
    private final FileChannel channel;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition roundDone = lock.newCondition();
    private final Deque<Failure> failures = new ArrayDeque<>();
    private long requested;
    private long completed;
    private boolean syncing;

    GroupSync(Path dir) throws IOException {
        this.dir = dir;
        // Linux lets a directory be opened read-only and fsynced; that is what makes a rename in it
        // durable.
        this.channel = FileChannel.open(dir, StandardOpenOption.READ);
    }

    /** Makes every rename done in the directory before this call durable, or throws. */
    void sync() throws IOException {
        lock.lock();
        try {
            long ticket = ++requested;
            while (completed < ticket) {
                if (syncing) {
                    roundDone.awaitUninterruptibly();
                    continue;
                }
                syncing = true;
                long low = completed + 1;
                long high = requested;
                IOException failure = null;
                lock.unlock();
                try {
                    channel.force(true);
                } catch (IOException e) {
                    failure = e;
                } finally {
                    lock.lock();
                }
                syncing = false;
                completed = high;
                if (failure != null) {
                    failures.addLast(new Failure(low, high, failure));
                    while (failures.size() > 64) {
                        failures.removeFirst();
                    }
                }
                roundDone.signalAll();
            }
            for (Failure f : failures) {
                if (ticket >= f.low() && ticket <= f.high()) {
                    throw new IOException(
                            "fsync of directory " + dir + " failed: " + f.cause().getMessage(),
                            f.cause());
                }
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
