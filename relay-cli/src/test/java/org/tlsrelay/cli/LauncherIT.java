package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher script {@code target/tlsrelay} that the build puts beside the jar (from {@code packaging/bin/}), run
 * as an operator runs it: directly, through a symbolic link from a directory on PATH, with JVM options in JAVA_OPTS.
 */
class LauncherIT {
    private static final Path LAUNCHER = Path.of("target", "tlsrelay").toAbsolutePath();

    @TempDir Path dir;

    record Result(int exit, String out, String err) {}

    private Result run(Path launcher, Map<String, String> env, String... args) throws Exception {
        ProcessBuilder pb = new ProcessBuilder();
        pb.command().add(launcher.toString());
        pb.command().addAll(List.of(args));
        pb.environment().remove("JAVA_OPTS");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().putAll(env);
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the launcher did not finish");
        return new Result(
                p.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void runsTheJarBesideIt() throws Exception {
        assertTrue(Files.isExecutable(LAUNCHER), LAUNCHER + " is not executable");
        Result r = run(LAUNCHER, Map.of(), "--version");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("tlsrelay "), r.out());
    }

    @Test
    void findsTheJarThroughASymbolicLinkOnPath() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path link = Files.createSymbolicLink(bin.resolve("tlsrelay"), LAUNCHER);
        Result r;
        try {
            r = run(link, Map.of(), "config", "check", "--config", "../config/tlsrelay.yaml");
        } finally {
            Files.delete(link); // the link, not the launcher it points to
        }
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("OK"), r.out());
    }

    @Test
    void passesEveryOptionInJavaOptsToTheJvm() throws Exception {
        Result r =
                run(
                        LAUNCHER,
                        Map.of("JAVA_OPTS", "-XX:+PrintCommandLineFlags -Xmx77m"),
                        "--version");
        assertEquals(0, r.exit(), r.err());
        // 77 MiB, as the JVM prints its flags
        assertTrue(r.out().contains("-XX:MaxHeapSize=80740352"), r.out());
        assertTrue(r.out().contains("tlsrelay "), r.out());
    }

    /**
     * Class-data sharing: without an archive the command runs as before and the launcher builds one in the background
     * (never a half-written one: the JVM would crash on it); the next start loads the classes from it; a jar that
     * changed makes it stale, which the launcher does not use and builds again.
     */
    @Test
    void buildsTheClassDataArchiveOnFirstRunUsesItAndRebuildsItWhenTheJarChanges()
            throws Exception {
        Path copy = Files.createDirectories(dir.resolve("copy"));
        Path launcher = Files.copy(LAUNCHER, copy.resolve("tlsrelay"));
        Path jar =
                Files.copy(LAUNCHER.resolveSibling("tlsrelay.jar"), copy.resolve("tlsrelay.jar"));
        Path archive = copy.resolve("tlsrelay.jsa");
        Path key = copy.resolve("tlsrelay.jsa.key");
        Map<String, String> logClasses = Map.of("JAVA_OPTS", "-Xlog:class+load=info");

        Result first = run(launcher, logClasses, "--version");
        assertEquals(0, first.exit(), first.err());
        assertFalse(fromArchive(first), "no archive yet");
        awaitFile(key, "");

        Result second = run(launcher, logClasses, "--version");
        assertEquals(0, second.exit(), second.err());
        assertTrue(fromArchive(second), "the classes come from " + archive);
        assertTrue(second.out().contains("tlsrelay "), second.out());

        String before = Files.readString(key);
        Files.setLastModifiedTime(
                jar, FileTime.from(Files.getLastModifiedTime(jar).toInstant().plusSeconds(10)));
        Result stale = run(launcher, logClasses, "--version");
        assertEquals(0, stale.exit(), stale.err());
        assertFalse(fromArchive(stale), "a stale archive is not used");
        assertTrue(stale.out().contains("tlsrelay "), stale.out());
        awaitFile(key, before); // built again for the changed jar; nothing is left running
    }

    private static boolean fromArchive(Result r) {
        return r.out().contains("org.tlsrelay.cli.Main source: shared objects file (top)");
    }

    /** Waits until {@code file} exists with content other than {@code old}: the launcher's background build. */
    private static void awaitFile(Path file, String old) throws Exception {
        Instant end = Instant.now().plus(Duration.ofMinutes(3));
        while (!(Files.exists(file) && !Files.readString(file).equals(old))) {
            assertTrue(Instant.now().isBefore(end), "no class-data archive after 3 minutes");
            Thread.sleep(200);
        }
    }

    @Test
    void saysWhatIsMissingWithoutAJarOrAJava() throws Exception {
        Path alone = Files.copy(LAUNCHER, dir.resolve("tlsrelay"));
        Result noJar = run(alone, Map.of(), "--version");
        assertEquals(2, noJar.exit());
        assertTrue(noJar.err().contains("cannot read " + dir.resolve("tlsrelay.jar")), noJar.err());

        Result noJava = run(LAUNCHER, Map.of("JAVA_HOME", dir.toString()), "--version");
        assertEquals(2, noJava.exit());
        assertTrue(noJava.err().contains("no Java found"), noJava.err());
    }
}
