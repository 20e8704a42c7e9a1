package org.tlsrelay.core.report;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.tls.TlsFailureType;

/**
 * The durable TLS-RPT recorder: the {@link TlsOutcomeListener} the delivery engine calls for every outcome.
 *
 * <p>{@link #record} only puts the event in a bounded in-memory queue, so it never blocks a network thread and never
 * waits for a disk. One writer thread appends the events to the day's file of the {@link OutcomeLog} as they come
 * (a crash of the process loses nothing that was written) and fsyncs in batches: after {@link Settings#batchEvents}
 * events or {@link Settings#syncInterval}, whichever comes first (a power loss loses at most that much). A restart
 * appends to the same day's file, so the day's counts survive it.
 *
 * <p>Sessions that carried a TLS-RPT report under {@link TlsExemption} are not recorded (RFC 8460 §3: such a
 * session "SHOULD NOT" be included in the next report). When the queue is full (the disk cannot keep up) events are
 * dropped and counted ({@link #dropped()}) rather than slowing delivery down.
 */
public final class OutcomeRecorder implements TlsOutcomeListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutcomeRecorder.class);

    /** Put in the queue to wake the writer for {@link #flush}; compared by identity, never written. */
    private static final OutcomeEvent WAKE =
            OutcomeEvent.stsFailure(Instant.EPOCH, "wake.invalid", "wake", "");

    /**
     * @param batchEvents fsync after this many events at most
     * @param syncInterval fsync at least this often while events come in
     * @param capacity events that may wait in memory before new ones are dropped
     */
    public record Settings(int batchEvents, Duration syncInterval, int capacity) {
        public Settings {
            if (batchEvents < 1
                    || capacity < 1
                    || syncInterval.isNegative()
                    || syncInterval.isZero()) {
                throw new IllegalArgumentException("invalid recorder settings " + this);
            }
        }

        /** 256 events or one second; 100,000 events in memory. */
        public static Settings defaults() {
            return new Settings(256, Duration.ofSeconds(1), 100_000);
        }
    }

    private final OutcomeLog log;
    private final Settings settings;
    private final BlockingQueue<OutcomeEvent> queue;
    private final Thread writer;
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final Object progress = new Object();

    /** Events taken from the queue and written (or given up on), and of those the ones fsynced; guarded by progress. */
    private long processed;

    private long durable;
    private volatile boolean flushRequested;
    private volatile boolean closing;

    private OutcomeRecorder(OutcomeLog log, Settings settings) {
        this.log = log;
        this.settings = settings;
        this.queue = new ArrayBlockingQueue<>(settings.capacity());
        this.writer = new Thread(this::writeLoop, "tlsrpt-recorder");
        writer.setDaemon(true);
    }

    /** Starts the writer thread. */
    public static OutcomeRecorder start(OutcomeLog log, Settings settings) {
        OutcomeRecorder r = new OutcomeRecorder(log, settings);
        r.writer.start();
        return r;
    }

    public OutcomeLog log() {
        return log;
    }

    @Override
    public void record(TlsOutcome outcome) {
        if (TlsExemption.isExempt(outcome.policy())) {
            return;
        }
        enqueue(OutcomeEvent.of(outcome));
    }

    /**
     * Records a failed MTA-STS policy fetch (RFC 8460 §4.3.2.2: {@code sts-policy-fetch-error},
     * {@code sts-policy-invalid}, {@code sts-webpki-invalid}); see {@link ReportingPolicyFetcher}.
     */
    public void recordStsFailure(Instant time, String domain, TlsFailureType type, String detail) {
        enqueue(OutcomeEvent.stsFailure(time, domain, type.resultType(), detail));
    }

    private void enqueue(OutcomeEvent e) {
        if (closing) {
            dropped.incrementAndGet();
            return;
        }
        if (queue.offer(e)) {
            accepted.incrementAndGet();
        } else if (dropped.getAndIncrement() % 10_000 == 0) {
            LOG.warn(
                    "TLS-RPT recorder: queue full ({} events), outcome for {} dropped; {} dropped so far",
                    settings.capacity(),
                    e.domain(),
                    dropped.get());
        }
    }

    /** Outcomes dropped because the queue was full or the recorder closed. */
    public long dropped() {
        return dropped.get();
    }

    /**
     * Waits until every outcome recorded before this call is written and fsynced (the daily job, tests, shutdown).
     *
     * @return false when {@code timeout} passed first
     */
    public boolean flush(Duration timeout) throws InterruptedException {
        long target = accepted.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        flushRequested = true;
        queue.offer(WAKE);
        synchronized (progress) {
            while (durable < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !writer.isAlive()) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(progress, left);
            }
        }
        return true;
    }

    /** Writes and fsyncs what is queued, then stops the writer. */
    @Override
    public void close() {
        closing = true;
        queue.offer(WAKE);
        try {
            writer.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) {
            LOG.warn("TLS-RPT recorder: the writer did not stop within 10 s");
            writer.interrupt();
        }
    }

    // ---- the writer thread ----

    private void writeLoop() {
        TreeMap<LocalDate, FileChannel> open = new TreeMap<>();
        List<FileChannel> dirty = new ArrayList<>();
        List<OutcomeEvent> batch = new ArrayList<>();
        long unsynced = 0;
        long lastSync = System.nanoTime();
        long intervalNanos = settings.syncInterval().toNanos();
        try {
            while (true) {
                long wait =
                        unsynced > 0
                                ? Math.max(0, lastSync + intervalNanos - System.nanoTime())
                                : intervalNanos;
                OutcomeEvent first = queue.poll(wait, TimeUnit.NANOSECONDS);
                batch.clear();
                if (first != null) {
                    batch.add(first);
                    queue.drainTo(batch, 4096);
                }
                int written = write(batch, open, dirty);
                unsynced += written;
                boolean due =
                        unsynced >= settings.batchEvents()
                                || System.nanoTime() - lastSync >= intervalNanos
                                || flushRequested
                                || closing;
                if (due) {
                    flushRequested = false;
                    sync(dirty);
                    unsynced = 0;
                    lastSync = System.nanoTime();
                    synchronized (progress) {
                        durable = processed;
                        progress.notifyAll();
                    }
                    closeOldDays(open);
                }
                if (closing && queue.isEmpty()) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            sync(dirty);
            synchronized (progress) {
                durable = processed;
                progress.notifyAll();
            }
            for (FileChannel ch : open.values()) {
                closeQuietly(ch);
            }
        }
    }

    /** Appends the events to their days' files, one write per file and batch; returns how many were real events. */
    private int write(
            List<OutcomeEvent> batch,
            TreeMap<LocalDate, FileChannel> open,
            List<FileChannel> dirty) {
        Map<LocalDate, java.io.ByteArrayOutputStream> byDay = new TreeMap<>();
        Map<LocalDate, Integer> counts = new TreeMap<>();
        int n = 0;
        for (OutcomeEvent e : batch) {
            if (e == WAKE) {
                continue;
            }
            n++;
            LocalDate day = e.day();
            byDay.computeIfAbsent(day, d -> new java.io.ByteArrayOutputStream(batch.size() * 400))
                    .writeBytes(OutcomeLog.line(e));
            counts.merge(day, 1, Integer::sum);
        }
        byDay.forEach(
                (day, bytes) -> {
                    try {
                        FileChannel ch = open.get(day);
                        if (ch == null) {
                            ch = log.openForAppend(day);
                            open.put(day, ch);
                        }
                        ByteBuffer buf = ByteBuffer.wrap(bytes.toByteArray());
                        while (buf.hasRemaining()) {
                            ch.write(buf);
                        }
                        if (!dirty.contains(ch)) {
                            dirty.add(ch);
                        }
                    } catch (IOException | RuntimeException ex) {
                        LOG.error(
                                "TLS-RPT recorder: cannot write {} outcome(s) to {}: {}",
                                counts.get(day),
                                log.file(day),
                                Problems.describe(ex));
                    }
                });
        synchronized (progress) {
            processed += n;
        }
        return n;
    }

    private static void sync(List<FileChannel> dirty) {
        for (FileChannel ch : dirty) {
            try {
                ch.force(false);
            } catch (IOException e) {
                LOG.error("TLS-RPT recorder: fsync failed: {}", Problems.describe(e));
            }
        }
        dirty.clear();
    }

    /** Keeps today's and yesterday's file open (events around midnight), closes older ones. */
    private static void closeOldDays(TreeMap<LocalDate, FileChannel> open) {
        if (open.size() <= 2) {
            return;
        }
        LocalDate newest = open.lastKey();
        for (Iterator<Map.Entry<LocalDate, FileChannel>> it = open.entrySet().iterator();
                it.hasNext(); ) {
            Map.Entry<LocalDate, FileChannel> e = it.next();
            if (e.getKey().isBefore(newest.minusDays(1))) {
                closeQuietly(e.getValue());
                it.remove();
            }
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // already synced or lost; nothing more to do
        }
    }
}
