package org.tlsrelay.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Files that only the relay's user may read: every file the relay writes is created 0600 and every directory 0700,
 * in the call that creates it, so that no umask (022 makes 0644 files) and no moment after creation leaves queued
 * mail, keys or reports readable by other local users. A umask only removes bits, so the mode given at creation is
 * the mode the file gets. On a file system without POSIX permissions the files are created as the platform does.
 */
public final class PrivateFiles {
    /** {@code rw-------}. */
    public static final Set<PosixFilePermission> FILE =
            PosixFilePermissions.fromString("rw-------");

    /** {@code rwx------}. */
    public static final Set<PosixFilePermission> DIRECTORY =
            PosixFilePermissions.fromString("rwx------");

    private static final Set<PosixFilePermission> OTHERS =
            EnumSet.of(
                    PosixFilePermission.GROUP_READ,
                    PosixFilePermission.GROUP_WRITE,
                    PosixFilePermission.GROUP_EXECUTE,
                    PosixFilePermission.OTHERS_READ,
                    PosixFilePermission.OTHERS_WRITE,
                    PosixFilePermission.OTHERS_EXECUTE);

    private PrivateFiles() {}

    /** Creates {@code dir} and its missing parents, each new one 0700; an existing directory is left as it is. */
    public static Path createDirectories(Path dir) throws IOException {
        return posix(dir)
                ? Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIRECTORY))
                : Files.createDirectories(dir);
    }

    /** Opens {@code file} with {@code options}; a file it creates is 0600 (an existing one keeps its mode). */
    public static FileChannel open(Path file, OpenOption... options) throws IOException {
        Set<OpenOption> set = Set.of(options);
        return posix(file)
                ? FileChannel.open(file, set, PosixFilePermissions.asFileAttribute(FILE))
                : FileChannel.open(file, set);
    }

    /** A new, empty file 0600 with a unique name in {@code dir}, e.g. for a write that is renamed into place. */
    public static Path createTempFile(Path dir, String prefix, String suffix) throws IOException {
        return posix(dir)
                ? Files.createTempFile(
                        dir, prefix, suffix, PosixFilePermissions.asFileAttribute(FILE))
                : Files.createTempFile(dir, prefix, suffix);
    }

    /** Creates {@code file} 0600 with {@code content}; an existing file is never overwritten. */
    public static void createFile(Path file, byte[] content) throws IOException {
        try (FileChannel ch = open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            writeFully(ch, content);
        }
    }

    /** Writes {@code content} to {@code file} (created 0600, or truncated), without forcing it to the disk. */
    public static void write(Path file, byte[] content) throws IOException {
        write(file, content, false);
    }

    /** Writes {@code content} to {@code file} (created 0600, or truncated) and forces it to the disk. */
    public static void writeDurably(Path file, byte[] content) throws IOException {
        write(file, content, true);
    }

    private static void write(Path file, byte[] content, boolean force) throws IOException {
        try (FileChannel ch =
                open(
                        file,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
            writeFully(ch, content);
            if (force) {
                ch.force(true);
            }
        }
    }

    /**
     * Replaces {@code target} with {@code content} atomically and durably: a unique temp file beside it (0600),
     * written and forced, renamed over the target, then the directory forced, so that a reader or a crash sees the
     * old content or the new, never a part. Concurrent writers of one target each use their own temp file.
     */
    public static void replace(Path target, byte[] content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        try {
            writeDurably(tmp, content);
            try {
                Files.move(
                        tmp,
                        target,
                        StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            try {
                syncDirectory(dir);
            } catch (IOException | UnsupportedOperationException e) {
                // some platforms cannot force a directory: the rename is as durable as they make it
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Forces {@code dir}'s entries (a rename into it, a new file) to the disk. */
    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** What {@link #makePrivate} changed, and what it could not. */
    public record Repair(int files, int directories, List<Path> refused) {
        public Repair {
            refused = List.copyOf(refused);
        }

        /** Whether everything was private already. */
        public boolean nothing() {
            return files == 0 && directories == 0 && refused.isEmpty();
        }
    }

    /**
     * Takes every permission of the group and of others from {@code roots} and everything below them (symbolic
     * links are not followed), as a spool written by an earlier version or copied with {@code cp -r} may need. A
     * root that does not exist is skipped; an entry this user cannot change (another owner) is listed in
     * {@link Repair#refused()}.
     */
    public static Repair makePrivate(List<Path> roots) throws IOException {
        int[] changed = new int[2];
        List<Path> refused = new ArrayList<>();
        for (Path root : roots) {
            if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS) || !posix(root)) {
                continue;
            }
            Files.walkFileTree(
                    root,
                    new SimpleFileVisitor<>() {
                        @Override
                        public FileVisitResult preVisitDirectory(
                                Path dir, BasicFileAttributes attrs) {
                            if (restrict(dir, refused)) {
                                changed[1]++;
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                            if (attrs.isRegularFile() && restrict(file, refused)) {
                                changed[0]++;
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFileFailed(Path file, IOException e) {
                            if (!(e instanceof NoSuchFileException)) {
                                refused.add(file); // e.g. a directory this user may not read
                            }
                            return FileVisitResult.CONTINUE;
                        }
                    });
        }
        return new Repair(changed[0], changed[1], refused);
    }

    /** Clears the group's and others' bits of {@code p}; whether it had any. */
    private static boolean restrict(Path p, List<Path> refused) {
        try {
            Set<PosixFilePermission> mode =
                    Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
            if (mode.stream().noneMatch(OTHERS::contains)) {
                return false;
            }
            Set<PosixFilePermission> owner = EnumSet.copyOf(mode);
            owner.removeAll(OTHERS);
            Files.setPosixFilePermissions(p, owner);
            return true;
        } catch (NoSuchFileException e) {
            return false; // removed meanwhile
        } catch (IOException e) {
            refused.add(p);
            return false;
        }
    }

    /** Whether {@code p}'s file system has POSIX permissions (not, e.g., on Windows). */
    public static boolean posix(Path p) {
        return p.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    private static void writeFully(FileChannel ch, byte[] content) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(content);
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
