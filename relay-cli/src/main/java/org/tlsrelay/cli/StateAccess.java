package org.tlsrelay.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.io.PrivateFiles;

/**
 * Whether this process may write the relay's state: the spool directory, what is already in it, and the state
 * directory beside it (installed lists, MTA-STS cache, reports). {@code run} asks before it opens anything, so that
 * a root-owned bind mount or a container started under another user ID ({@code --user 4242:0}, OpenShift's
 * arbitrary UIDs) ends with one line that names the path and what to do, not with a bare path.
 */
final class StateAccess {
    private static final Logger LOG = LoggerFactory.getLogger(StateAccess.class);

    private StateAccess() {}

    /**
     * Makes the relay's own directories (the spool, lists, MTA-STS cache, reports) private to this user again:
     * every file 0600, every directory 0700. A spool written by an earlier version, restored from a backup or
     * copied with {@code cp -r} under umask 022 is readable by every local user; what was changed is one WARN line.
     */
    static void makePrivate(RelayConfig.Spool spool) throws IOException {
        PrivateFiles.Repair r = PrivateFiles.makePrivate(spool.ownDirectories());
        if (r.nothing()) {
            return;
        }
        LOG.warn(
                "{} was readable by other users: made {} file(s) 0600 and {} directory(ies) 0700{}; queued mail "
                        + "and state are private to user {} from now on (check who could read them before)",
                spool.stateDir(),
                r.files(),
                r.directories(),
                r.refused().isEmpty()
                        ? ""
                        : "; could not change "
                                + r.refused().size()
                                + " (another owner?), e.g. "
                                + r.refused().get(0),
                ProcessHandle.current().info().user().orElse("of the relay"));
    }

    /**
     * @throws UsageException {@code permission denied: PATH (...)} for the first path this user cannot write
     */
    static void requireWritable(Path spoolDir) {
        firstUnwritable(spoolDir)
                .ifPresent(
                        p -> {
                            throw denied(p);
                        });
    }

    /** The message for a path the relay was refused, found before start-up or reported by the file system. */
    static UsageException denied(Path path) {
        String user = ProcessHandle.current().info().user().orElse("this user");
        return new UsageException(
                "permission denied: "
                        + path
                        + " (the relay runs as user "
                        + user
                        + " and must create and write files here: make it that user's, or writable by a "
                        + "group the user is in, or set spool.dir to a directory it owns)");
    }

    /**
     * The message for an operator command (queue, report, ...) refused the relay's state: {@code permission denied:
     * PATH (run as the relay's user)}.
     */
    static UsageException runAsRelayUser(Path path) {
        return new UsageException("permission denied: " + path + " (run as the relay's user)");
    }

    /** {@link #runAsRelayUser(Path)} for a refused file operation. */
    static UsageException runAsRelayUser(AccessDeniedException e) {
        return runAsRelayUser(Path.of(e.getFile() != null ? e.getFile() : e.getMessage()));
    }

    /** {@link #denied} for a refused file operation (the file it names, else its message). */
    static UsageException denied(AccessDeniedException e) {
        return denied(Path.of(e.getFile() != null ? e.getFile() : e.getMessage()));
    }

    static Optional<Path> firstUnwritable(Path spoolDir) {
        Path spool = spoolDir.toAbsolutePath().normalize();
        List<Path> needed = new ArrayList<>();
        needed.add(spool.getParent() != null ? spool.getParent() : spool);
        needed.add(spool);
        if (Files.isDirectory(spool)) {
            // queue directories and lock files left by an earlier run under another user ID
            try (Stream<Path> entries = Files.list(spool)) {
                entries.forEach(needed::add);
            } catch (AccessDeniedException e) {
                return Optional.of(spool);
            } catch (IOException e) {
                // not a permission problem: opening the spool reports it
            }
        }
        return needed.stream()
                .map(StateAccess::nearestExisting)
                .filter(p -> !writable(p))
                .findFirst();
    }

    /** A directory that does not exist yet is created in its nearest existing ancestor. */
    private static Path nearestExisting(Path p) {
        Path q = p;
        while (q.getParent() != null && !Files.exists(q)) {
            q = q.getParent();
        }
        return q;
    }

    private static boolean writable(Path p) {
        return Files.isWritable(p) && (!Files.isDirectory(p) || Files.isExecutable(p));
    }
}
