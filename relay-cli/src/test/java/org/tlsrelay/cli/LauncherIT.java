package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
