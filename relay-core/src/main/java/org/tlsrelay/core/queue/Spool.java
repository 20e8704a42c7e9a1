package org.tlsrelay.core.queue;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The on-disk queue. Open it with {@link #open} in the relay (exclusive: recovers the directory and keeps the
 * schedule in memory) or with {@link #admin} in {@code tlsrelay queue} commands (no recovery, no schedule; safe to use
 * while the relay runs). See the package documentation for the layout and the write protocol.
 */
public final class Spool implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Spool.class);
    private static final String ENVELOPE = ".json";
    private static final String BODY = ".eml";
    private static final String TMP = ".tmp";
    private static final String WAKEUP = "wakeup";

    /** States whose messages the scheduler takes, in the order they are looked for. */
    private static final List<QueueState> LIVE =
            List.of(QueueState.ACTIVE, QueueState.INCOMING, QueueState.DEFERRED, QueueState.HOLD);

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

    private final Path root;
    private final Options options;
    private final boolean relayMode;
    private final Map<QueueState, Path> dirs = new EnumMap<>(QueueState.class);
    private final Map<QueueState, GroupSync> syncs = new EnumMap<>(QueueState.class);
    private final StripeLocks locks;
    private final FileChannel relayLockChannel;
    private final FileLock relayLock;
    private final ConcurrentSkipListSet<Due> schedule = new ConcurrentSkipListSet<>();
    private final ConcurrentHashMap<String, Due> scheduled = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile WatchService watcher;
    private volatile Thread watchThread;

    private record Due(Instant at, String id) implements Comparable<Due> {
        private static final Comparator<Due> ORDER =
                Comparator.comparing(Due::at).thenComparing(Due::id);

        @Override
        public int compareTo(Due o) {
            return ORDER.compare(this, o);
        }
    }

    private Spool(Path root, Options options, boolean relayMode) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        this.options = options;
        this.relayMode = relayMode;
        for (QueueState s : QueueState.values()) {
            dirs.put(s, this.root.resolve(s.dirName()));
        }
        if (relayMode) {
            for (Path d : dirs.values()) {
                Files.createDirectories(d);
            }
            FileChannel ch =
                    FileChannel.open(
                            this.root.resolve("relay.lock"),
                            StandardOpenOption.CREATE,
                            StandardOpenOption.WRITE);
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) {
                ch.close();
                throw new IOException("spool " + this.root + " is in use by another running relay");
            }
            this.relayLockChannel = ch;
            this.relayLock = l;
            if (options.fsync()) {
                for (QueueState s : QueueState.values()) {
                    syncs.put(s, new GroupSync(dirs.get(s)));
                }
            }
        } else {
            this.relayLockChannel = null;
            this.relayLock = null;
            if (Files.isDirectory(this.root)) {
                for (Path d : dirs.values()) {
                    Files.createDirectories(d);
                }
                if (options.fsync()) {
                    for (QueueState s : QueueState.values()) {
                        syncs.put(s, new GroupSync(dirs.get(s)));
                    }
                }
            }
        }
        this.locks =
                Files.isDirectory(this.root)
                        ? StripeLocks.acquire(this.root.resolve("lock"))
                        : null;
    }

    /**
     * Opens the spool for the relay: creates the directories, takes the relay lock (one relay per spool), recovers
     * (removes temp files, moves unreadable envelopes to {@code corrupt/}, makes {@code active/} messages due again,
     * removes bodies that were never acknowledged) and builds the schedule.
     */
    public static Spool open(Path root, Options options) throws IOException {
        Spool s = new Spool(root, options, true);
        try {
            s.recover();
            s.startWatching();
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * Opens the spool for an operator command, in this or another process, while the relay may be running. No
     * recovery and no schedule; changes that make messages due ({@link #release}, {@link #flush}) wake the relay.
     * A spool directory that does not exist yet is an empty queue.
     */
    public static Spool admin(Path root) throws IOException {
        return admin(root, Options.defaults());
    }

    /** {@link #admin(Path)} with explicit options (tests use their clock). */
    public static Spool admin(Path root, Options options) throws IOException {
        return new Spool(root, options, false);
    }

    public Path root() {
        return root;
    }

    public Clock clock() {
        return options.clock();
    }

    // ------------------------------------------------------------------ receiving

    /**
     * Starts receiving a new message: allocates its id and opens {@code incoming/ID.eml.tmp}. Write the content to
     * {@link Reception#body()}, then {@link Reception#commit} it; closing without a commit removes every trace.
     */
    public Reception receive() throws IOException {
        requireRelay();
        for (int tries = 0; ; tries++) {
            String id = QueueIds.next(options.clock().instant());
            Path tmp = dirs.get(QueueState.INCOMING).resolve(id + BODY + TMP);
            try {
                FileChannel ch =
                        FileChannel.open(
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
            Instant now = options.clock().instant();
            List<RecipientStatus> rcpts =
                    recipients.stream()
                            .map(a -> RecipientStatus.pending(a, Set.of(), "", now))
                            .toList();
            return r.commit(
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
        }
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
            options.faults().before(Step.WRITE_BODY, bodyTmp);
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
            Path dir = dirs.get(QueueState.INCOMING);
            Path bodyFile = dir.resolve(id + BODY);
            Path envFile = dir.resolve(id + ENVELOPE);
            Path envTmp = dir.resolve(id + ENVELOPE + TMP);
            boolean renamed = false;
            try {
                body.flush();
                long size = channel.size();
                if (options.fsync()) {
                    options.faults().before(Step.SYNC_BODY, bodyTmp);
                    channel.force(true);
                }
                channel.close();
                writeDurably(envTmp, EnvelopeCodec.encode(envelope));
                options.faults().before(Step.RENAME, bodyFile);
                move(bodyTmp, bodyFile);
                renamed = true;
                move(envTmp, envFile);
                syncDir(QueueState.INCOMING);
                done = true;
                schedule(id, envelope.nextAttempt());
                notifyListeners();
                return new QueuedMessage(envelope, QueueState.INCOMING, bodyFile, size);
            } catch (IOException | RuntimeException e) {
                done = true;
                closeQuietly(channel);
                deleteQuietly(envTmp);
                deleteQuietly(bodyTmp);
                if (renamed) {
                    // The envelope may already be visible: take it back first, so nothing half-made
                    // stays behind.
                    deleteQuietly(envFile);
                    deleteQuietly(bodyFile);
                }
                throw e;
            }
        }

        /** Removes the partial message unless it was committed. */
        @Override
        public void close() {
            if (!done) {
                done = true;
                closeQuietly(channel);
                deleteQuietly(bodyTmp);
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
                options.faults().before(Step.WRITE_BODY, file);
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
        listeners.add(Objects.requireNonNull(listener));
    }

    /** When the next scheduled message is due; empty when nothing is scheduled. */
    public Optional<Instant> nextDue() {
        try {
            return Optional.of(schedule.first().at());
        } catch (java.util.NoSuchElementException e) {
            return Optional.empty();
        }
    }

    /**
     * Claims up to {@code max} due messages for delivery: each moves to {@code active/} and is returned to exactly
     * one caller, however many workers call this at once. Report back with {@link #record}, then {@link #defer},
     * {@link #complete} or {@link #requeue}.
     */
    public List<QueuedMessage> takeDue(int max) throws IOException {
        requireRelay();
        Instant now = options.clock().instant();
        List<QueuedMessage> out = new ArrayList<>();
        while (out.size() < max) {
            Due first;
            try {
                first = schedule.first();
            } catch (java.util.NoSuchElementException e) {
                break;
            }
            if (first.at().isAfter(now)) {
                break;
            }
            if (!schedule.remove(first)) {
                continue; // another worker took it
            }
            scheduled.remove(first.id(), first);
            try {
                claim(first.id(), now).ifPresent(out::add);
            } catch (IOException | RuntimeException e) {
                schedule(first.id(), first.at()); // keep it scheduled; the caller retries later
                if (!out.isEmpty()) {
                    LOG.warn("queue {}: cannot claim: {}", first.id(), e.toString());
                    break; // hand over what was claimed; they are already in active/
                }
                throw e;
            }
        }
        return out;
    }

    private Optional<QueuedMessage> claim(String id, Instant now) throws IOException {
        try (StripeLocks.Held h = locks.lock(id)) {
            Optional<QueueState> where = locate(id);
            if (where.isEmpty()
                    || !(where.get() == QueueState.INCOMING
                            || where.get() == QueueState.DEFERRED)) {
                return Optional.empty(); // deleted, held or already claimed meanwhile
            }
            QueueState from = where.get();
            Envelope env;
            try {
                env = read(from, id);
            } catch (IOException e) {
                quarantine(from, id, e);
                return Optional.empty();
            }
            if (env.nextAttempt().isAfter(now)) {
                schedule(id, env.nextAttempt()); // an operator changed it since it was scheduled
                return Optional.empty();
            }
            moveMessage(id, from, QueueState.ACTIVE);
            Path body = dirs.get(QueueState.ACTIVE).resolve(id + BODY);
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
        requireLocks();
        try (StripeLocks.Held h = locks.lock(id)) {
            Optional<QueueState> where = locate(id);
            if (where.isEmpty() || where.get() == QueueState.CORRUPT) {
                return Optional.empty();
            }
            Envelope env = read(where.get(), id);
            Instant now = options.clock().instant();
            Map<String, RecipientResult> byAddress = new HashMap<>();
            for (RecipientResult r : results) {
                byAddress.put(r.address(), r);
            }
            List<RecipientStatus> updated = new ArrayList<>();
            for (RecipientStatus rs : env.recipients()) {
                RecipientResult r = byAddress.remove(rs.address());
                updated.add(r == null ? rs : rs.after(r.outcome(), r.reply(), now));
            }
            if (!byAddress.isEmpty()) {
                throw new IllegalArgumentException(
                        "message " + id + " has no recipient " + byAddress.keySet());
            }
            Envelope next = env.withRecipients(updated).withNotes(notes);
            rewrite(where.get(), next);
            return Optional.of(next);
        }
    }

    /**
     * Ends an attempt that left recipients pending: counts the attempt, sets the next attempt time and moves the
     * message to {@code deferred/} (a message an operator put on hold meanwhile stays on hold). False when the message
     * is gone.
     */
    public boolean defer(String id, Instant nextAttempt) throws IOException {
        requireLocks();
        try (StripeLocks.Held h = locks.lock(id)) {
            Optional<QueueState> where = locate(id);
            if (where.isEmpty() || where.get() == QueueState.CORRUPT) {
                return false;
            }
            Envelope env = read(where.get(), id);
            Envelope next = env.withAttempts(env.attempts() + 1).withNextAttempt(nextAttempt);
            rewrite(where.get(), next);
            if (where.get() != QueueState.HOLD) {
                if (where.get() != QueueState.DEFERRED) {
                    moveMessage(id, where.get(), QueueState.DEFERRED);
                    syncDir(QueueState.DEFERRED);
                }
                schedule(id, nextAttempt);
            }
            return true;
        }
    }

    /** Removes a message whose recipients are all done (delivered or bounced). False when it was already gone. */
    public boolean complete(String id) throws IOException {
        return delete(id).isPresent();
    }

    /** Gives a claimed message back without an attempt (e.g. at shutdown): due again as it was. */
    public boolean requeue(String id) throws IOException {
        requireLocks();
        try (StripeLocks.Held h = locks.lock(id)) {
            Optional<QueueState> where = locate(id);
            if (where.isEmpty() || where.get() != QueueState.ACTIVE) {
                return false;
            }
            Envelope env = read(QueueState.ACTIVE, id);
            moveMessage(id, QueueState.ACTIVE, QueueState.INCOMING);
            syncDir(QueueState.INCOMING);
            schedule(id, env.nextAttempt());
            return true;
        }
    }

    // ------------------------------------------------------------------ operator

    /** Puts a message on hold; returns the state it was in, empty when there is no such message. */
    public Optional<QueueState> hold(String id) throws IOException {
        if (!QueueIds.valid(id) || locks == null) {
            return Optional.empty();
        }
        try (StripeLocks.Held h = locks.lock(id)) {
            Optional<QueueState> where = locate(id);
            if (where.isPresent()
                    && where.get() != QueueState.HOLD
                    && where.get() != QueueState.CORRUPT) {
                moveMessage(id, where.get(), QueueState.HOLD);
                syncDir(QueueState.HOLD);
                unschedule(id);
            }
            return where;
        }
    }

    /** Releases a held message, due now; returns the state it was in, empty when there is no such message. */
    public Optional<QueueState> release(String id) throws IOException {
        if (!QueueIds.valid(id) || locks == null) {
            return Optional.empty();
        }
        Optional<QueueState> where;
        try (StripeLocks.Held h = locks.lock(id)) {
            where = locate(id);
            if (where.isPresent() && where.get() == QueueState.HOLD) {
                Instant now = options.clock().instant();
                Envelope env = read(QueueState.HOLD, id).withNextAttempt(now);
                rewrite(QueueState.HOLD, env);
                moveMessage(id, QueueState.HOLD, QueueState.DEFERRED);
                syncDir(QueueState.DEFERRED);
                schedule(id, now);
            }
        }
        if (where.isPresent() && where.get() == QueueState.HOLD) {
            wake();
        }
        return where;
    }

    /** Deletes a message in any state; returns the state it was in, empty when there is no such message. */
    public Optional<QueueState> delete(String id) throws IOException {
        if (!QueueIds.valid(id) || locks == null) {
            return Optional.empty();
        }
        try (StripeLocks.Held h = locks.lock(id)) {
            Optional<QueueState> where = locate(id);
            if (where.isPresent()) {
                Path dir = dirs.get(where.get());
                Files.deleteIfExists(dir.resolve(id + ENVELOPE));
                // the body is beside its envelope, except after an interrupted move (recovery puts
                // it back); look
                // elsewhere only then: each extra unlink of a missing name costs a directory
                // look-up per message
                if (!Files.deleteIfExists(dir.resolve(id + BODY))) {
                    for (Path d : dirs.values()) {
                        Files.deleteIfExists(d.resolve(id + BODY));
                    }
                }
                syncDir(where.get());
                unschedule(id);
            }
            return where;
        }
    }

    /** Makes every queued message (new and deferred, not held) due now; returns how many. */
    public int flush() throws IOException {
        return flush(id -> {});
    }

    /** As {@link #flush()}, telling {@code progress} each message id as it is made due. */
    public int flush(Consumer<String> progress) throws IOException {
        if (locks == null) {
            return 0;
        }
        Instant now = options.clock().instant();
        int n = 0;
        for (QueueState s : List.of(QueueState.INCOMING, QueueState.DEFERRED)) {
            for (String id : ids(s)) {
                try (StripeLocks.Held h = locks.lock(id)) {
                    Optional<QueueState> where = locate(id);
                    if (where.isEmpty() || where.get() != s) {
                        continue;
                    }
                    Envelope env;
                    try {
                        env = read(s, id);
                    } catch (IOException e) {
                        continue;
                    }
                    if (env.nextAttempt().isAfter(now)) {
                        rewrite(s, env.withNextAttempt(now));
                    }
                    schedule(id, now);
                    n++;
                    progress.accept(id);
                }
            }
        }
        wake();
        return n;
    }

    /** Every readable message in every state, oldest first. */
    public List<QueuedMessage> list() throws IOException {
        List<QueuedMessage> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        for (QueueState s : QueueState.values()) {
            for (String id : ids(s)) {
                try {
                    out.add(load(s, id));
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

    /**
     * Messages per state and the oldest waiting arrival, from directory listings only (no envelope is read): what the
     * metrics gauges show ({@code tlsrelay_queue_messages}, {@code tlsrelay_queue_oldest_age_seconds}).
     */
    public QueueStats stats() throws IOException {
        Map<QueueState, Integer> counts = new EnumMap<>(QueueState.class);
        String oldest = null;
        if (Files.isDirectory(root)) {
            for (QueueState s : QueueState.values()) {
                List<String> ids = ids(s);
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
    public List<String> unreadable() throws IOException {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        for (QueueState s : QueueState.values()) {
            for (String id : ids(s)) {
                try {
                    read(s, id);
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
    public Optional<QueuedMessage> find(String id) throws IOException {
        if (!QueueIds.valid(id) || !Files.isDirectory(root)) {
            return Optional.empty();
        }
        for (int tries = 0; tries < 3; tries++) {
            Optional<QueueState> where = locate(id);
            if (where.isEmpty()) {
                return Optional.empty();
            }
            try {
                return Optional.of(load(where.get(), id));
            } catch (NoSuchFileException e) {
                // moved between locate and read: look again
            }
        }
        return Optional.empty();
    }

    /** Whether a relay currently holds this spool (its lock file is locked by some process). */
    public boolean relayRunning() {
        Path f = root.resolve("relay.lock");
        if (relayMode) {
            return true;
        }
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

    // ------------------------------------------------------------------ recovery and watching

    private void recover() throws IOException {
        int temps = 0;
        int orphans = 0;
        int corrupt = 0;
        int reactivated = 0;
        for (QueueState s : QueueState.values()) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dirs.get(s), "*" + TMP)) {
                for (Path p : ds) {
                    Files.deleteIfExists(p);
                    temps++;
                }
            }
        }
        Map<String, QueueState> envelopes = new HashMap<>();
        for (QueueState s : QueueState.values()) {
            for (String id : ids(s)) {
                QueueState earlier = envelopes.putIfAbsent(id, s);
                if (earlier != null) {
                    // Cannot happen with rename-only moves; if a hand copy made it happen, keep the
                    // first for the
                    // operator to sort out.
                    LOG.warn(
                            "queue {}: envelope in both {}/ and {}/; keeping {}/, moving the other to corrupt/",
                            id,
                            earlier.dirName(),
                            s.dirName(),
                            earlier.dirName());
                    move(
                            dirs.get(s).resolve(id + ENVELOPE),
                            dirs.get(QueueState.CORRUPT).resolve(id + ".dup" + ENVELOPE));
                }
            }
        }
        for (QueueState s : QueueState.values()) {
            for (Path body : files(s, BODY)) {
                String id = stem(body, BODY);
                QueueState owner = envelopes.get(id);
                if (owner == null) {
                    LOG.warn(
                            "queue {}: removing message content without an envelope (never acknowledged)",
                            id);
                    Files.deleteIfExists(body);
                    orphans++;
                } else if (owner != s) {
                    move(
                            body,
                            dirs.get(owner)
                                    .resolve(id + BODY)); // an interrupted move: the envelope leads
                }
            }
        }
        Instant now = options.clock().instant();
        for (Map.Entry<String, QueueState> e : envelopes.entrySet()) {
            String id = e.getKey();
            QueueState s = e.getValue();
            if (s == QueueState.CORRUPT) {
                continue;
            }
            Envelope env;
            try {
                env = read(s, id);
                if (!env.id().equals(id)) {
                    throw new IOException("envelope names id " + env.id());
                }
                if (!Files.exists(dirs.get(s).resolve(id + BODY))) {
                    throw new IOException("its message content is missing");
                }
            } catch (IOException ex) {
                quarantine(s, id, ex);
                corrupt++;
                continue;
            }
            switch (s) {
                case ACTIVE -> {
                    moveMessage(id, QueueState.ACTIVE, QueueState.INCOMING);
                    schedule(id, now);
                    reactivated++;
                }
                case INCOMING, DEFERRED -> schedule(id, env.nextAttempt());
                default -> {}
            }
        }
        for (QueueState s : QueueState.values()) {
            syncDir(s);
        }
        LOG.info(
                "spool {}: {} message(s) scheduled, {} were in delivery at the last stop, {} temp file(s) and {} "
                        + "orphan(s) removed, {} moved to corrupt/",
                root,
                scheduled.size(),
                reactivated,
                temps,
                orphans,
                corrupt);
    }

    private void quarantine(QueueState from, String id, IOException why) throws IOException {
        MDC.put("queueId", id);
        try {
            LOG.error(
                    "queue {}: unreadable envelope in {}/ moved to corrupt/: {}",
                    id,
                    from.dirName(),
                    why.getMessage());
        } finally {
            MDC.remove("queueId");
        }
        moveMessage(id, from, QueueState.CORRUPT);
        unschedule(id);
    }

    /** Watches {@code SPOOL/wakeup}, which operator commands touch, and re-reads the schedule when it changes. */
    private void startWatching() throws IOException {
        WatchService ws = root.getFileSystem().newWatchService();
        root.register(
                ws, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
        this.watcher = ws;
        Thread t =
                new Thread(
                        () -> {
                            try {
                                while (true) {
                                    WatchKey key = ws.take();
                                    boolean wake = false;
                                    for (WatchEvent<?> ev : key.pollEvents()) {
                                        if (ev.context() instanceof Path p
                                                && p.toString().equals(WAKEUP)) {
                                            wake = true;
                                        }
                                    }
                                    key.reset();
                                    if (wake) {
                                        rescan();
                                    }
                                }
                            } catch (InterruptedException | ClosedWatchServiceException e) {
                                // closing
                            }
                        },
                        "spool-watch");
        t.setDaemon(true);
        t.start();
        this.watchThread = t;
    }

    /** Re-reads the schedule of {@code incoming/} and {@code deferred/} after an operator command changed them. */
    public void rescan() {
        try {
            for (QueueState s : List.of(QueueState.INCOMING, QueueState.DEFERRED)) {
                for (String id : ids(s)) {
                    try {
                        schedule(id, read(s, id).nextAttempt());
                    } catch (IOException e) {
                        // gone, or corrupt: the claim will sort it out
                    }
                }
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("spool {}: rescan failed: {}", root, e.getMessage());
        }
        notifyListeners();
    }

    private void wake() {
        if (relayMode) {
            notifyListeners();
            return;
        }
        try {
            Files.writeString(root.resolve(WAKEUP), options.clock().instant().toString() + "\n");
        } catch (IOException e) {
            LOG.warn("cannot wake the relay through {}: {}", root.resolve(WAKEUP), e.getMessage());
        }
    }

    // ------------------------------------------------------------------ files

    private void requireRelay() {
        if (!relayMode) {
            throw new IllegalStateException(
                    "this operation needs the spool opened by the relay (Spool.open)");
        }
    }

    private void requireLocks() throws IOException {
        if (locks == null) {
            throw new NoSuchFileException(root.toString());
        }
    }

    private void schedule(String id, Instant at) {
        if (!relayMode) {
            return;
        }
        Due d = new Due(at, id);
        scheduled.compute(
                id,
                (k, old) -> {
                    if (old != null) {
                        schedule.remove(old);
                    }
                    schedule.add(d);
                    return d;
                });
    }

    private void unschedule(String id) {
        if (!relayMode) {
            return;
        }
        scheduled.computeIfPresent(
                id,
                (k, old) -> {
                    schedule.remove(old);
                    return null;
                });
    }

    private void notifyListeners() {
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException e) {
                LOG.warn("spool listener failed", e);
            }
        }
    }

    private Optional<QueueState> locate(String id) {
        for (QueueState s : LIVE) {
            if (Files.exists(dirs.get(s).resolve(id + ENVELOPE))) {
                return Optional.of(s);
            }
        }
        if (Files.exists(dirs.get(QueueState.CORRUPT).resolve(id + ENVELOPE))) {
            return Optional.of(QueueState.CORRUPT);
        }
        return Optional.empty();
    }

    private Envelope read(QueueState s, String id) throws IOException {
        return EnvelopeCodec.decode(Files.readAllBytes(dirs.get(s).resolve(id + ENVELOPE)));
    }

    private QueuedMessage load(QueueState s, String id) throws IOException {
        Envelope env = read(s, id);
        Path body = dirs.get(s).resolve(id + BODY);
        if (!Files.exists(body)) {
            for (Path d : dirs.values()) {
                if (Files.exists(d.resolve(id + BODY))) {
                    body = d.resolve(id + BODY);
                }
            }
        }
        long size = Files.exists(body) ? Files.size(body) : 0;
        return new QueuedMessage(env, s, body, size);
    }

    /** Replaces an envelope atomically: temp file, fsync, rename over the old one, fsync the directory. */
    private void rewrite(QueueState s, Envelope env) throws IOException {
        Path dir = dirs.get(s);
        Path tmp = dir.resolve(env.id() + ENVELOPE + TMP);
        try {
            writeDurably(tmp, EnvelopeCodec.encode(env));
            move(tmp, dir.resolve(env.id() + ENVELOPE));
        } catch (IOException | RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
        syncDir(s);
    }

    private void writeDurably(Path file, byte[] content) throws IOException {
        options.faults().before(Step.WRITE_ENVELOPE, file);
        try (FileChannel ch =
                FileChannel.open(
                        file,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            if (options.fsync()) {
                options.faults().before(Step.SYNC_ENVELOPE, file);
                ch.force(true);
            }
        }
    }

    /** Moves envelope then body; the envelope's directory is the state, so an interrupted move is repaired on start. */
    private void moveMessage(String id, QueueState from, QueueState to) throws IOException {
        Path src = dirs.get(from);
        Path dst = dirs.get(to);
        move(src.resolve(id + ENVELOPE), dst.resolve(id + ENVELOPE));
        Path body = src.resolve(id + BODY);
        if (Files.exists(body)) {
            move(body, dst.resolve(id + BODY));
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(
                    from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException(
                    "the spool needs atomic renames (one file system): " + e.getMessage(), e);
        }
    }

    private void syncDir(QueueState s) throws IOException {
        GroupSync g = syncs.get(s);
        if (g != null) {
            options.faults().before(Step.SYNC_DIRECTORY, dirs.get(s));
            g.sync();
        }
    }

    private List<String> ids(QueueState s) throws IOException {
        List<String> out = new ArrayList<>();
        for (Path p : files(s, ENVELOPE)) {
            String id = stem(p, ENVELOPE);
            if (QueueIds.valid(id)) {
                out.add(id);
            }
        }
        return out;
    }

    private List<Path> files(QueueState s, String suffix) throws IOException {
        List<Path> out = new ArrayList<>();
        Path dir = dirs.get(s);
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + suffix)) {
            for (Path p : ds) {
                out.add(p);
            }
        }
        return out;
    }

    private static String stem(Path p, String suffix) {
        String n = p.getFileName().toString();
        return n.substring(0, n.length() - suffix.length());
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", p, e.getMessage());
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // already failing
        }
    }

    /** Ids of messages currently scheduled (tests and metrics). */
    Set<String> scheduledIds() {
        return new HashSet<>(scheduled.keySet());
    }

    @Override
    public void close() throws IOException {
        WatchService ws = watcher;
        if (ws != null) {
            ws.close();
        }
        Thread t = watchThread;
        if (t != null) {
            t.interrupt();
        }
        for (GroupSync g : syncs.values()) {
            g.close();
        }
        if (locks != null) {
            locks.release();
        }
        if (relayLock != null) {
            relayLock.release();
            relayLockChannel.close();
        }
    }
}
