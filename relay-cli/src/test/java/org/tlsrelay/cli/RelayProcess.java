package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code tlsrelay ARGS...} in a child JVM, for the tests that need a real process to kill or signal
 * ({@link CrashSafetyTest}, {@link RunLifecycleTest}): this test's class path, the relay's own {@code logback.xml}
 * (not a test module's {@code logback-test.xml} that is also on the class path), no log-format or config variable
 * from the environment; its output (standard error included) read line by line.
 */
final class RelayProcess implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> log = new ArrayList<>();
    private final Thread reader;

    private RelayProcess(Process process) {
        this.process = process;
        this.reader =
                new Thread(
                        () -> {
                            try (BufferedReader r =
                                    new BufferedReader(
                                            new InputStreamReader(
                                                    process.getInputStream(),
                                                    StandardCharsets.UTF_8))) {
                                for (String l = r.readLine(); l != null; l = r.readLine()) {
                                    lines.add(l);
                                }
                            } catch (IOException e) {
                                // process gone
                            }
                        },
                        "child-log");
        reader.setDaemon(true);
        reader.start();
    }

    static RelayProcess start(String... args) throws Exception {
        return start(List.of(), args);
    }

    /** {@link #start(String...)} under {@code umask} (e.g. {@code 022}), as a shell or service manager would set it. */
    static RelayProcess withUmask(String umask, String... args) throws Exception {
        return start(List.of("/bin/sh", "-c", "umask " + umask + " && exec \"$0\" \"$@\""), args);
    }

    private static RelayProcess start(List<String> prefix, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path logback =
                Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                        .resolve("logback.xml");
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(
                List.of(
                        java,
                        "-Dlogback.configurationFile=" + logback,
                        "-cp",
                        System.getProperty("java.class.path"),
                        Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove(LogFormat.ENV);
        pb.environment().remove(ConfigOption.ENV);
        return new RelayProcess(pb.start());
    }

    /** The first line, seen before or coming within a minute, that {@code p} accepts. */
    String await(Predicate<String> p, String what) throws InterruptedException {
        for (String seen : log) {
            if (p.test(seen)) {
                return seen;
            }
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            String l = lines.poll(200, TimeUnit.MILLISECONDS);
            if (l != null) {
                log.add(l);
                if (p.test(l)) {
                    return l;
                }
            } else if (!process.isAlive() && lines.isEmpty()) {
                break;
            }
        }
        throw new AssertionError(
                "no line "
                        + what
                        + " from the relay (alive: "
                        + process.isAlive()
                        + (process.isAlive() ? "" : ", exit " + process.exitValue())
                        + "); it logged:\n"
                        + String.join("\n", log));
    }

    /** The first log message (of a text or a JSON line) in which {@code p} is found, matched. */
    Matcher await(Pattern p) throws InterruptedException {
        Matcher m = p.matcher(message(await(l -> p.matcher(message(l)).find(), "matching " + p)));
        assertTrue(m.find());
        return m;
    }

    /** The number in the first group of {@code p} (a port the relay announces). */
    int awaitNumber(Pattern p) throws InterruptedException {
        return Integer.parseInt(await(p).group(1));
    }

    /** Everything it logged until it exited (the reader has seen the end of its output). */
    List<String> drain() throws InterruptedException {
        reader.join(TimeUnit.SECONDS.toMillis(30));
        lines.drainTo(log);
        return log;
    }

    /** SIGTERM, leaving the output pipe open ({@link Process#destroy()} would close it and lose the last lines). */
    void sigterm() {
        assertTrue(process.toHandle().destroy(), "SIGTERM sent");
    }

    /** The message of a log line: the whole line, or a JSON line's formattedMessage. */
    static String message(String line) {
        if (!line.startsWith("{")) {
            return line;
        }
        try {
            return JSON.readTree(line).path("formattedMessage").asText();
        } catch (IOException e) {
            return line;
        }
    }

    /** SIGKILL, so that no relay outlives its test. */
    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
