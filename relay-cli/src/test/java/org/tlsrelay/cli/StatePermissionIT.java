package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tlsrelay run} as another user than the owner of its state directory (a root-owned bind mount, a container
 * started with {@code --user 4242:0}): one line that names the path and what to do, exit 2, nothing started. The jar
 * runs as a child process; as root (CI) it runs as {@code nobody}, since root may write anywhere.
 */
class StatePermissionIT {
    private static final Path JAR = Path.of("target", "tlsrelay.jar");
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    @TempDir Path dir;

    @BeforeEach
    void openToOthers() throws Exception {
        // the child user must reach the jar and the configuration, but must not write the state
        // directory
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.copy(JAR, dir.resolve("tlsrelay.jar"));
    }

    private Path config(Path spool) throws Exception {
        return Files.writeString(
                dir.resolve("tlsrelay.yaml"),
                """
                server: { listen: "127.0.0.1:0" }
                admin: { listen: "127.0.0.1:0" }
                dns: { dnssec: off }
                spool: { dir: "%s" }
                """
                        .formatted(spool));
    }

    private String runAsAnotherUser(Path config) throws Exception {
        return runAsAnotherUser("run", "--config", config.toString());
    }

    private String runAsAnotherUser(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        if (ROOT) {
            command.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        }
        command.addAll(
                List.of(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-jar",
                        dir.resolve("tlsrelay.jar").toString()));
        command.addAll(List.of(args));
        Process p =
                new ProcessBuilder(command)
                        .directory(dir.toFile())
                        .redirectErrorStream(true)
                        .start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "tlsrelay did not stop by itself");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, p.exitValue(), out);
        return out;
    }

    private void notWritableByTheChild(Path p) throws Exception {
        if (!ROOT) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("r-xr-xr-x"));
        }
    }

    @Test
    void namesTheStateDirectoryItCannotWrite() throws Exception {
        Path state = Files.createDirectory(dir.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        notWritableByTheChild(state);
        String out = runAsAnotherUser(config(state.resolve("spool")));
        assertTrue(
                out.startsWith(
                        "tlsrelay: permission denied: " + state + " (the relay runs as user "),
                out);
        assertTrue(out.contains("set spool.dir to a directory it owns"), out);
        assertFalse(out.contains("Exception"), out);
        assertFalse(Files.exists(state.resolve("spool")), "nothing was created");
    }

    @Test
    void namesASpoolLeftByAnotherUser() throws Exception {
        // the state directory is open (group 0 writable in the image), but an earlier run under
        // another user ID made the spool
        Path state = Files.createDirectory(dir.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path spool =
                Files.createDirectories(state.resolve("spool").resolve("incoming")).getParent();
        Files.setPosixFilePermissions(spool, PosixFilePermissions.fromString("rwxr-xr-x"));
        notWritableByTheChild(spool);
        String out = runAsAnotherUser(config(spool));
        assertTrue(out.startsWith("tlsrelay: permission denied: " + spool + " ("), out);
        assertFalse(out.contains("Exception"), out);
    }

    /**
     * The queue commands run by a user who cannot read the spool (an admin without sudo -u, a script as another
     * user): one line that names the spool and says whose it is, exit 2, no Java exception name.
     */
    @Test
    void queueCommandsOfAnotherUserNameTheSpoolAndWhoseItIs() throws Exception {
        Path state = Files.createDirectory(dir.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path spool =
                Files.createDirectories(state.resolve("spool").resolve("incoming")).getParent();
        // private to the relay's user, as the relay makes it (as root, the child is another user)
        Files.setPosixFilePermissions(
                spool, PosixFilePermissions.fromString(ROOT ? "rwx------" : "---------"));
        Path config = config(spool);
        try {
            for (List<String> command :
                    List.of(
                            List.of("queue", "list"),
                            List.of("queue", "show", "1jb7q8k3l4m0a9"),
                            List.of("queue", "flush"),
                            List.of("queue", "delete", "1jb7q8k3l4m0a9"))) {
                List<String> args = new ArrayList<>(command);
                args.addAll(List.of("--config", config.toString()));
                String out = runAsAnotherUser(args.toArray(String[]::new));
                assertEquals(
                        "tlsrelay: permission denied: " + spool + " (run as the relay's user)\n",
                        out,
                        String.join(" ", command));
            }
        } finally {
            Files.setPosixFilePermissions(spool, PosixFilePermissions.fromString("rwx------"));
        }
    }
}
