package org.tlsrelay.core.queue;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.PrivateFiles;
import org.tlsrelay.core.io.Problems;

/**
 * The spool's files, shared by the relay's {@link Spool} and the operator's {@link SpoolAdmin}: one directory per
 * {@link QueueState}, a per-message stripe lock, durable writes (temp file, fsync, atomic rename, group-committed
 * directory fsync) and moves between states. A spool directory that does not exist yet has no locks: it is an empty
 * queue that nothing may change.
 */
final class SpoolFiles implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Spool.class);
    static final String ENVELOPE = ".json";
    static final String BODY = ".eml";
    static final String TMP = ".tmp";

    /** The file a running relay keeps locked: one relay per spool. */
    static final String RELAY_LOCK = "relay.lock";

    /** The file operator commands write to make the running relay re-read its schedule. */
    static final String WAKEUP = "wakeup";

    /** States whose messages the scheduler takes, in the order they are looked for. */
    private static final List<QueueState> LIVE =
            List.of(QueueState.ACTIVE, QueueState.INCOMING, QueueState.DEFERRED, QueueState.HOLD);

    private final Path root;
    private final Spool.Options options;
    private final Map<QueueState, Path> dirs = new EnumMap<>(QueueState.class);
    private final Map<QueueState, GroupSync> syncs = new EnumMap<>(QueueState.class);
    private final StripeLocks locks;

    /** Opens the files of an existing spool directory (creating missing state directories), or of none. */
    SpoolFiles(Path root, Spool.Options options) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        this.options = options;
        for (QueueState s : QueueState.values()) {
            dirs.put(s, this.root.resolve(s.dirName()));
        }
        if (Files.isDirectory(this.root)) {
            createDirectories(this.root);
            if (options.fsync()) {
                for (QueueState s : QueueState.values()) {
                    syncs.put(s, new GroupSync(dirs.get(s)));
                }
            }
        }
        this.locks =
                Files.isDirectory(this.root)
                        ? StripeLocks.acquire(this.root.resolve("lock"))
                        : null;
    }

    /** Creates the spool directory and one directory per state. */
    static void createDirectories(Path root) throws IOException {
        for (QueueState s : QueueState.values()) {
            PrivateFiles.createDirectories(root.resolve(s.dirName()));
        }
    }

    Path root() {
        return root;
    }

    Spool.Options options() {
        return options;
    }

    Path dir(QueueState s) {
        return dirs.get(s);
    }

    Collection<Path> dirs() {
        return dirs.values();
    }

    /** Whether the spool directory existed when opened (else it is an empty queue that cannot change). */
    boolean exists() {
        return locks != null;
    }

    /** Takes the stripe lock of message {@code id}, in this process and against other processes. */
    StripeLocks.Held lock(String id) throws IOException {
        if (locks == null) {
            throw new NoSuchFileException(root.toString());
        }
        return locks.lock(id);
    }

    Optional<QueueState> locate(String id) {
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

    /** The envelope of message {@code id} in state {@code s}; an envelope that names another message is unreadable. */
    Envelope read(QueueState s, String id) throws IOException {
        Envelope env = EnvelopeCodec.decode(Files.readAllBytes(dirs.get(s).resolve(id + ENVELOPE)));
        if (!env.id().equals(id)) {
            throw new IOException("the envelope names another message, " + env.id());
        }
        return env;
    }

    QueuedMessage load(QueueState s, String id) throws IOException {
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
    void rewrite(QueueState s, Envelope env) throws IOException {
        rewriteUnsynced(s, env);
        syncDir(s);
    }

    /**
     * As {@link #rewrite} without the directory fsync, for a batch that fsyncs the directory once after all its
     * renames: until then a crash may bring the old envelope back, never a half-written one.
     */
    void rewriteUnsynced(QueueState s, Envelope env) throws IOException {
        Path dir = dirs.get(s);
        Path tmp = dir.resolve(env.id() + ENVELOPE + TMP);
        try {
            writeDurably(tmp, EnvelopeCodec.encode(env));
            options.faults().before(Spool.Step.RENAME, dir.resolve(env.id() + ENVELOPE));
            move(tmp, dir.resolve(env.id() + ENVELOPE));
        } catch (IOException | RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    void writeDurably(Path file, byte[] content) throws IOException {
        options.faults().before(Spool.Step.WRITE_ENVELOPE, file);
        try (FileChannel ch =
                PrivateFiles.open(
                        file,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            if (options.fsync()) {
                options.faults().before(Spool.Step.SYNC_ENVELOPE, file);
                ch.force(true);
            }
        }
    }

    /** Moves envelope then body; the envelope's directory is the state, so an interrupted move is repaired on start. */
    void moveMessage(String id, QueueState from, QueueState to) throws IOException {
        Path src = dirs.get(from);
        Path dst = dirs.get(to);
        move(src.resolve(id + ENVELOPE), dst.resolve(id + ENVELOPE));
        Path body = src.resolve(id + BODY);
        if (Files.exists(body)) {
            move(body, dst.resolve(id + BODY));
        }
    }

    static void move(Path from, Path to) throws IOException {
        try {
            Files.move(
                    from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException(
                    "the spool needs atomic renames (one file system): " + e.getMessage(), e);
        }
    }

    void syncDir(QueueState s) throws IOException {
        GroupSync g = syncs.get(s);
        if (g != null) {
            options.faults().before(Spool.Step.SYNC_DIRECTORY, dirs.get(s));
            g.sync();
        }
    }

    /** The ids of the envelopes in state {@code s}. */
    List<String> ids(QueueState s) throws IOException {
        List<String> out = new ArrayList<>();
        for (Path p : files(s, ENVELOPE)) {
            String id = stem(p, ENVELOPE);
            if (QueueIds.valid(id)) {
                out.add(id);
            }
        }
        return out;
    }

    List<Path> files(QueueState s, String suffix) throws IOException {
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

    static String stem(Path p, String suffix) {
        String n = p.getFileName().toString();
        return n.substring(0, n.length() - suffix.length());
    }

    static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", p, Problems.describe(e));
        }
    }

    static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // already failing
        }
    }

    @Override
    public void close() throws IOException {
        for (GroupSync g : syncs.values()) {
            g.close();
        }
        if (locks != null) {
            locks.release();
        }
    }
}
