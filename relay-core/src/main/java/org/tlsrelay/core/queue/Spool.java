package org.tlsrelay.core.queue;

import static org.tlsrelay.core.queue.SpoolFiles.BODY;
import static org.tlsrelay.core.queue.SpoolFiles.ENVELOPE;
import static org.tlsrelay.core.queue.SpoolFiles.TMP;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.PrivateFiles;
import org.tlsrelay.core.io.Problems;

/**
 * The running relay's spool: exclusive (one relay per spool directory), recovered at {@link #open} and scheduled in
 * memory. The inbound server receives into it ({@link #receive}), the delivery engine takes due messages and reports
 * back ({@link #takeDue}, {@link #record}, {@link #defer}, {@link #complete}, {@link #requeue}), and the operator's
 * commands work on it as on the {@link SpoolAdmin} view that {@code tlsrelay queue} uses from another process. See the
 * package documentation for the layout and the write protocol.
 */
public final class Spool extends QueueView {
    private static final Logger LOG = LoggerFactory.getLogger(Spool.class);

    /**
     * How the spool behaves.
     *
     * @param fsync whether to fsync files and directories (only a benchmark baseline turns this off)
     * @param clock the time source for arrival and schedule
     * @param faults a hook called before each step of the write protocol; tests use it to simulate a full disk
     */
    public record Options(boolean fsync, Clock clock, FaultHook faults) {
        public Options {
            Objects.requireNonNull(clock, "clock");
            Objects.requireNonNull(faults, "faults");
        }

        public static Options defaults() {
            return new Options(true, Clock.systemUTC(), FaultHook.NONE);
        }

        public Options withFsync(boolean on) {
            return new Options(on, clock, faults);
        }

        public Options withClock(Clock c) {
            return new Options(fsync, c, faults);
        }

        public Options withFaults(FaultHook f) {
            return new Options(fsync, clock, f);
        }
    }

    /** A step of the write protocol, for {@link FaultHook}. */
    public enum Step {
        WRITE_BODY,
        SYNC_BODY,
        WRITE_ENVELOPE,
        SYNC_ENVELOPE,
        RENAME,
        SYNC_DIRECTORY
    }

    /** Called before each step of the write protocol; throwing simulates an I/O error (disk full, EIO). */
    @FunctionalInterface
    public interface FaultHook {
        FaultHook NONE = (step, file) -> {};

        void before(Step step, Path file) throws IOException;
    }

    private final SpoolSchedule schedule;
    private final RelayLock relayLock;
    private final AtomicLong enqueued = new AtomicLong();

    private Spool(SpoolFiles files, RelayLock relayLock) {
        this(files, new SpoolSchedule(files), relayLock);
    }

    private Spool(SpoolFiles files, SpoolSchedule schedule, RelayLock relayLock) {
        super(files, new Administration(files, schedule));
        this.schedule = schedule;
        this.relayLock = relayLock;
    }

    /**
     * Opens the spool for the relay: creates the directories, takes the relay lock (one relay per spool), recovers
     * (removes temp files, moves unreadable envelopes to {@code corrupt/}, makes {@code active/} messages due again,
     * removes bodies that were never acknowledged), builds the schedule and watches {@code SPOOL/wakeup}.
     */
    public static Spool open(Path root, Options options) throws IOException {
        Path dir = root.toAbsolutePath().normalize();
        SpoolFiles.createDirectories(dir);
        RelayLock lock =
                RelayLock.tryTake(dir)
                        .orElseThrow(
                                () ->
                                        new IOException(
                                                "spool "
                                                        + dir
                                                        + " is in use by another running relay"));
        Spool s;
        try {
            s = new Spool(new SpoolFiles(dir, options), lock);
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
        try {
            Recovery.recover(s.files, s.schedule);
            s.schedule.startWatching();
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    public Clock clock() {
        return files.options().clock();
    }

    // ------------------------------------------------------------------ reception and commit

    /**
     * Starts receiving a new message: allocates its id and opens {@code incoming/ID.eml.tmp}. Write the content to
     * {@link Reception#body()}, then {@link Reception#commit} it; closing without a commit removes every trace.
     */
    public Reception receive() throws IOException {
        for (int tries = 0; ; tries++) {
            String id = QueueIds.next(files.options().clock().instant());
            Path tmp = files.dir(QueueState.INCOMING).resolve(id + BODY + TMP);
            try {
                FileChannel ch =
                        PrivateFiles.open(
                                tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                return new Reception(id, tmp, ch);
            } catch (FileAlreadyExistsException e) {
                if (tries > 100) {
                    throw e;
                }
            }
        }
    }

    /**
     * Queues a message the relay made itself (a bounce, a report), durably, and returns it; it is due at once.
     *
     * @param sender the reverse-path, empty for the null sender that bounces use (RFC 5321 §4.5.5)
     * @param recipients the forward-paths
     * @param content the complete message, CRLF line endings
     */
    public QueuedMessage enqueue(String sender, List<String> recipients, InputStream content)
            throws IOException {
        try (Reception r = receive()) {
            content.transferTo(r.body());
            Instant now = files.options().clock().instant();
            List<RecipientStatus> rcpts =
                    recipients.stream()
                            .map(a -> RecipientStatus.pending(a, Set.of(), "", now))
                            .toList();
            QueuedMessage queued =
                    r.commit(
                            Envelope.accepted(
                                    r.id(),
                                    now,
                                    sender,
                                    rcpts,
                                    Envelope.BodyType.UNSPECIFIED,
                                    false,
                                    Envelope.Ret.UNSPECIFIED,
                                    "",
                                    Envelope.Source.local()));
            enqueued.incrementAndGet();
            return queued;
        }
    }

    /** How many messages {@link #enqueue} queued since the spool was opened: the relay's own (DSNs, reports). */
    public long enqueued() {
        return enqueued.get();
    }

    /** A message being received; see {@link #receive()}. Not thread-safe: one session writes it. */
    public final class Reception implements Closeable {
        private final String id;
        private final Path bodyTmp;
        private final FileChannel channel;
        private final CountingStream counting;
        private final BufferedOutputStream buffered;
        private final OutputStream body;
        private long written;
        private boolean done;

        private Reception(String id, Path bodyTmp, FileChannel channel) {
            this.id = id;
            this.bodyTmp = bodyTmp;
            this.channel = channel;
            this.counting = new CountingStream(Channels.newOutputStream(channel), bodyTmp);
            this.buffered = new BufferedOutputStream(counting, 64 * 1024);
            this.body =
                    new FilterOutputStream(buffered) {
                        @Override
                        public void write(int b) throws IOException {
                            buffered.write(b);
                            written++;
                        }

                        @Override
                        public void write(byte[] b, int off, int len) throws IOException {
                            buffered.write(b, off, len);
                            written += len;
                        }
                    };
        }

        public String id() {
            return id;
        }

        /** Where the content goes: the raw message, CRLF line endings, dot-unstuffed. */
        public OutputStream body() {
            return body;
        }

        /** How many octets were written to {@link #body()} so far. */
        public long written() {
            return written;
        }

        /**
         * Replaces {@code bytes.length} octets already written, from {@code position} on, with {@code bytes}: a
         * signer reserves room for a header field before the body and fills it in once the body is complete. The
         * message's length does not change.
         */
        public void overwrite(long position, byte[] bytes) throws IOException {
            if (done) {
                throw new IllegalStateException("message " + id + " already committed or aborted");
            }
            if (position < 0 || position + bytes.length > written) {
                throw new IllegalArgumentException(
                        "cannot overwrite octets "
                                + position
                                + ".."
                                + (position + bytes.length)
                                + " of "
                                + written
                                + " written");
            }
            body.flush();
            files.options().faults().before(Step.WRITE_BODY, bodyTmp);
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                channel.write(buf, position + buf.position());
            }
        }

        /**
         * Makes the message durable and queues it: flush and fsync the body, write and fsync the envelope, rename
         * both into {@code incoming/}, fsync the directory. Only when this returns may the server answer 250. On
         * failure nothing of the message is left and the caller answers 451.
         */
        public QueuedMessage commit(Envelope envelope) throws IOException {
            if (done) {
                throw new IllegalStateException("message " + id + " already committed or aborted");
            }
            if (!envelope.id().equals(id)) {
                throw new IllegalArgumentException(
                        "envelope id " + envelope.id() + " is not " + id);
            }
            Path dir = files.dir(QueueState.INCOMING);
            Path bodyFile = dir.resolve(id + BODY);
            Path envFile = dir.resolve(id + ENVELOPE);
            Path envTmp = dir.resolve(id + ENVELOPE + TMP);
            boolean renamed = false;
            try {
                body.flush();
                long size = channel.size();
                if (files.options().fsync()) {
                    files.options().faults().before(Step.SYNC_BODY, bodyTmp);
                    channel.force(true);
                }
                channel.close();
                files.writeDurably(envTmp, EnvelopeCodec.encode(envelope));
                files.options().faults().before(Step.RENAME, bodyFile);
                SpoolFiles.move(bodyTmp, bodyFile);
                renamed = true;
                SpoolFiles.move(envTmp, envFile);
                files.syncDir(QueueState.INCOMING);
                done = true;
                schedule.schedule(id, envelope.nextAttempt());
                schedule.notifyListeners();
                return new QueuedMessage(envelope, QueueState.INCOMING, bodyFile, size);
            } catch (IOException | RuntimeException e) {
                done = true;
                SpoolFiles.closeQuietly(channel);
                SpoolFiles.deleteQuietly(envTmp);
                SpoolFiles.deleteQuietly(bodyTmp);
                if (renamed) {
                    // The envelope may already be visible: take it back first, so nothing half-made
                    // stays behind.
                    SpoolFiles.deleteQuietly(envFile);
                    SpoolFiles.deleteQuietly(bodyFile);
                }
                throw e;
            }
        }

        /** Removes the partial message unless it was committed. */
        @Override
        public void close() {
            if (!done) {
                done = true;
                SpoolFiles.closeQuietly(channel);
                SpoolFiles.deleteQuietly(bodyTmp);
            }
        }

        private final class CountingStream extends FilterOutputStream {
            private final Path file;
            private long count;

            CountingStream(OutputStream out, Path file) {
                super(out);
                this.file = file;
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                files.options().faults().before(Step.WRITE_BODY, file);
                out.write(b, off, len);
                count += len;
            }

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }
        }
    }

    // ------------------------------------------------------------------ delivery engine

    /**
     * Registers a listener that runs whenever messages may have become due: a message was accepted, released or
     * flushed, or an operator command changed the spool. It runs on the thread that made the change and must not
     * block (wake the scheduler and return).
     */
    public void addListener(Runnable listener) {
        schedule.addListener(Objects.requireNonNull(listener));
    }

    /** When the next scheduled message is due; empty when nothing is scheduled. */
    public Optional<Instant> nextDue() {
        return schedule.nextDue();
    }

    /**
     * Claims up to {@code max} due messages for delivery: each moves to {@code active/} and is returned to exactly
     * one caller, however many workers call this at once. Report back with {@link #record}, then {@link #defer},
     * {@link #complete} or {@link #requeue}.
     */
    public List<QueuedMessage> takeDue(int max) throws IOException {
        Instant now = files.options().clock().instant();
        List<QueuedMessage> out = new ArrayList<>();
        while (out.size() < max) {
            Optional<SpoolSchedule.Due> due = schedule.pollDue(now);
            if (due.isEmpty()) {
                break;
            }
            SpoolSchedule.Due first = due.get();
            try {
                claim(first.id(), now).ifPresent(out::add);
            } catch (IOException | RuntimeException e) {
                schedule.schedule(
                        first.id(), first.at()); // keep it scheduled; the caller retries later
                if (!out.isEmpty()) {
                    LOG.warn("queue {}: cannot claim: {}", first.id(), Problems.describe(e));
                    break; // hand over what was claimed; they are already in active/
                }
                throw e;
            }
        }
        return out;
    }

    private Optional<QueuedMessage> claim(String id, Instant now) throws IOException {
        try (StripeLocks.Held h = files.lock(id)) {
            Optional<QueueState> where = files.locate(id);
            if (where.isEmpty()
                    || !(where.get() == QueueState.INCOMING
                            || where.get() == QueueState.DEFERRED)) {
                return Optional.empty(); // deleted, held or already claimed meanwhile
            }
            QueueState from = where.get();
            Envelope env;
            try {
                env = files.read(from, id);
            } catch (IOException e) {
                Recovery.quarantine(files, schedule, from, id, e);
                return Optional.empty();
            }
            if (env.nextAttempt().isAfter(now)) {
                schedule.schedule(
                        id, env.nextAttempt()); // an operator changed it since it was scheduled
                return Optional.empty();
            }
            files.moveMessage(id, from, QueueState.ACTIVE);
            Path body = files.dir(QueueState.ACTIVE).resolve(id + BODY);
            return Optional.of(new QueuedMessage(env, QueueState.ACTIVE, body, Files.size(body)));
        }
    }

    /**
     * Records the outcome of an attempt for some recipients and persists it at once (atomic rewrite of the envelope),
     * so a crash never forgets a pending recipient and re-sends at most once to one an MX just accepted. Recipients
     * not named keep their state. Empty when the message is gone (an operator deleted it).
     */
    public Optional<Envelope> record(String id, List<RecipientResult> results, List<String> notes)
            throws IOException {
        try (StripeLocks.Held h = files.lock(id)) {
            Optional<QueueState> where = files.locate(id);
            if (where.isEmpty() || where.get() == QueueState.CORRUPT) {
                return Optional.empty();
            }
            Envelope env = files.read(where.get(), id);
            Envelope next =
                    env.withResults(results, files.options().clock().instant()).withNotes(notes);
            files.rewrite(where.get(), next);
            return Optional.of(next);
        }
    }

    /**
     * Ends an attempt that left recipients pending: counts the attempt, sets the next attempt time and moves the
     * message to {@code deferred/} (a message an operator put on hold meanwhile stays on hold). False when the message
     * is gone.
     */
    public boolean defer(String id, Instant nextAttempt) throws IOException {
        try (StripeLocks.Held h = files.lock(id)) {
            Optional<QueueState> where = files.locate(id);
            if (where.isEmpty() || where.get() == QueueState.CORRUPT) {
                return false;
            }
            Envelope env = files.read(where.get(), id);
            Envelope next = env.withAttempts(env.attempts() + 1).withNextAttempt(nextAttempt);
            files.rewrite(where.get(), next);
            if (where.get() != QueueState.HOLD) {
                if (where.get() != QueueState.DEFERRED) {
                    files.moveMessage(id, where.get(), QueueState.DEFERRED);
                    files.syncDir(QueueState.DEFERRED);
                }
                schedule.schedule(id, nextAttempt);
            }
            return true;
        }
    }

    /**
     * Ends an attempt as the delivery engine holds it in memory: {@code after} carries the recipients' results, the
     * notes, the attempt count and the next attempt time ({@link Envelope#withResults}, {@link
     * Envelope#deferredUntil}). One atomic rewrite of the envelope, then the message moves to {@code deferred/} (a
     * message an operator put on hold meanwhile stays on hold) and is scheduled. False when the message is gone. On
     * an I/O error (a full disk) the file still holds what it held before, or already {@code after}: the caller keeps
     * {@code after} and calls this again later; the call is idempotent.
     */
    public boolean defer(Envelope after) throws IOException {
        String id = after.id();
        try (StripeLocks.Held h = files.lock(id)) {
            Optional<QueueState> where = files.locate(id);
            if (where.isEmpty() || where.get() == QueueState.CORRUPT) {
                return false;
            }
            files.rewrite(where.get(), after);
            if (where.get() != QueueState.HOLD) {
                if (where.get() != QueueState.DEFERRED) {
                    files.moveMessage(id, where.get(), QueueState.DEFERRED);
                    files.syncDir(QueueState.DEFERRED);
                }
                schedule.schedule(id, after.nextAttempt());
            }
            return true;
        }
    }

    /** Removes a message whose recipients are all done (delivered or bounced). False when it was already gone. */
    public boolean complete(String id) throws IOException {
        return admin.remove(id).isPresent();
    }

    /** Gives a claimed message back without an attempt (e.g. at shutdown): due again as it was. */
    public boolean requeue(String id) throws IOException {
        try (StripeLocks.Held h = files.lock(id)) {
            Optional<QueueState> where = files.locate(id);
            if (where.isEmpty() || where.get() != QueueState.ACTIVE) {
                return false;
            }
            Envelope env = files.read(QueueState.ACTIVE, id);
            files.moveMessage(id, QueueState.ACTIVE, QueueState.INCOMING);
            files.syncDir(QueueState.INCOMING);
            schedule.schedule(id, env.nextAttempt());
            return true;
        }
    }

    /** Ids of messages currently scheduled (tests). */
    Set<String> scheduledIds() {
        return schedule.ids();
    }

    @Override
    public void close() throws IOException {
        schedule.close();
        files.close();
        relayLock.close();
    }
}
