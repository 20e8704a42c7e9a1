package org.tlsrelay.core.policy.list;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.tlsrelay.core.io.PrivateFiles;

/**
 * The installed copy of one list: {@code STATE/lists/NAME/policy.json} and {@code policy.json.asc}, where STATE is
 * the directory beside the spool. A restart uses this copy without the network.
 *
 * <p>Installing replaces two files, which no single rename can do; so it journals through the file names. The new
 * pair is written as {@code *.new}, fsynced and made durable (directory fsync) before the first rename; then
 * {@code policy.json.new} is renamed over {@code policy.json}, then {@code policy.json.asc.new} over the signature.
 * After a crash, {@link #read()} finishes or discards the install: {@code policy.json.new} still present means no
 * rename happened (discard both), only {@code policy.json.asc.new} present means the list was renamed and the
 * signature not yet (finish it). Whatever is read is then verified again before use.
 */
public final class ListStore {
    public static final String POLICY = "policy.json";
    public static final String SIGNATURE = "policy.json.asc";

    /** Caps for what is read from disk or network: EFF's 926-domain list is 121 KB. */
    public static final int MAX_POLICY_BYTES = 16 << 20;

    public static final int MAX_SIGNATURE_BYTES = 64 << 10;

    private static final String NEW = ".new";
    private static final ConcurrentMap<Path, Object> MONITORS = new ConcurrentHashMap<>();

    private final Path dir;

    public ListStore(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    public Path dir() {
        return dir;
    }

    public Path policyFile() {
        return dir.resolve(POLICY);
    }

    public Path signatureFile() {
        return dir.resolve(SIGNATURE);
    }

    /** Both files of an installed copy, as bytes. */
    public record Copy(byte[] policy, byte[] signature) {}

    /** The installed copy, if there is one; finishes or discards an install a crash interrupted. */
    public Optional<Copy> read() throws IOException {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try {
            return locked(Locked::read);
        } catch (AccessDeniedException e) {
            // A reader without write access (e.g. `policy-list export` as another user) cannot lock
            // or recover;
            // it reads as is, and the signature check catches a half-installed pair.
            return readPair();
        }
    }

    /** Installs a verified pair atomically (see the class comment), durable when this returns. */
    public void install(byte[] policy, byte[] signature) throws IOException {
        this.<Void>locked(
                l -> {
                    l.install(policy, signature);
                    return null;
                });
    }

    /** Work done while holding the list's lock: read, compare, install as one step. */
    public interface Transaction<T> {
        T run(Locked store) throws IOException;
    }

    /**
     * Runs {@code transaction} holding the list's lock, in this JVM (monitor) and across processes (file lock on
     * {@code .lock}), so that the rollback check and the install it allows cannot interleave with another update.
     */
    public <T> T locked(Transaction<T> transaction) throws IOException {
        PrivateFiles.createDirectories(dir);
        synchronized (MONITORS.computeIfAbsent(dir, d -> new Object())) {
            try (FileChannel ch =
                    PrivateFiles.open(
                            dir.resolve(".lock"),
                            StandardOpenOption.CREATE,
                            StandardOpenOption.WRITE)) {
                FileLock lock = ch.lock();
                try {
                    recover();
                    return transaction.run(new Locked());
                } finally {
                    lock.release();
                }
            }
        }
    }

    /** The store as seen while its lock is held. */
    public final class Locked {
        private Locked() {}

        public Optional<Copy> read() throws IOException {
            return readPair();
        }

        public void install(byte[] policy, byte[] signature) throws IOException {
            Path policyNew = dir.resolve(POLICY + NEW);
            Path signatureNew = dir.resolve(SIGNATURE + NEW);
            // Order matters for recover(): the list first, durable, then its signature.
            PrivateFiles.writeDurably(policyNew, policy);
            fsyncDirectory();
            PrivateFiles.writeDurably(signatureNew, signature);
            fsyncDirectory();
            Files.move(
                    policyNew,
                    policyFile(),
                    StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            Files.move(
                    signatureNew,
                    signatureFile(),
                    StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            fsyncDirectory();
        }
    }

    private Optional<Copy> readPair() throws IOException {
        byte[] policy;
        try {
            policy = readCapped(policyFile(), MAX_POLICY_BYTES);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Copy(policy, readCapped(signatureFile(), MAX_SIGNATURE_BYTES)));
        } catch (NoSuchFileException e) {
            throw new IOException(
                    signatureFile() + ": missing (the installed list cannot be verified)");
        }
    }

    private void recover() throws IOException {
        Path policyNew = dir.resolve(POLICY + NEW);
        Path signatureNew = dir.resolve(SIGNATURE + NEW);
        if (Files.exists(policyNew)) {
            Files.deleteIfExists(policyNew);
            Files.deleteIfExists(signatureNew);
            fsyncDirectory();
        } else if (Files.exists(signatureNew)) {
            Files.move(
                    signatureNew,
                    signatureFile(),
                    StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            fsyncDirectory();
        }
    }

    private void fsyncDirectory() throws IOException {
        PrivateFiles.syncDirectory(dir);
    }

    /** Reads at most {@code max} bytes; a larger file is an error, not silently truncated. */
    static byte[] readCapped(Path file, int max) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(max + 1);
            if (bytes.length > max) {
                throw new IOException(file + ": larger than " + max + " bytes");
            }
            return bytes;
        }
    }
}
