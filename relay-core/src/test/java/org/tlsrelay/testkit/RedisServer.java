package org.tlsrelay.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} (Debian package {@code redis-server}, which {@code .ci/run} installs) on a free loopback
 * port, in the foreground, without persistence, its log in a test directory. {@link #stop} and {@link #start} again
 * take it away and bring it back (empty) on the same port, as an outage does.
 */
public final class RedisServer implements AutoCloseable {
    private static final Path BINARY = Path.of("/usr/bin/redis-server");
    private static final Duration READY = Duration.ofSeconds(10);

    private final Path dir;
    private final int port;
    private Process process;

    private RedisServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** Whether redis-server is installed here (tests that need it are skipped otherwise; CI installs it). */
    public static boolean installed() {
        return Files.isExecutable(BINARY);
    }

    /** Starts a server with its files in {@code dir}; returns once it answers PING. */
    public static RedisServer start(Path dir) throws IOException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            RedisServer r = new RedisServer(dir, freePort());
            try {
                r.start();
                return r;
            } catch (IOException e) {
                if (attempt >= 3) {
                    throw e;
                }
            }
        }
    }

    /** {@code redis://127.0.0.1:PORT/0}. */
    public String url() {
        return "redis://127.0.0.1:" + port + "/0";
    }

    public int port() {
        return port;
    }

    /** Starts it (again) on its port, empty; returns once it answers PING. */
    public synchronized void start() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            return;
        }
        Path log = dir.resolve("redis-" + port + ".log");
        process =
                new ProcessBuilder(
                                List.of(
                                        BINARY.toString(),
                                        "--port",
                                        Integer.toString(port),
                                        "--bind",
                                        "127.0.0.1",
                                        "--daemonize",
                                        "no",
                                        "--save",
                                        "",
                                        "--appendonly",
                                        "no",
                                        "--dir",
                                        dir.toString(),
                                        "--logfile",
                                        log.toString()))
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                        .start();
        long deadline = System.nanoTime() + READY.toNanos();
        while (!ping()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IOException(
                        "redis-server did not start on port " + port + ": " + tail(log));
            }
            Thread.sleep(20);
        }
    }

    /** Stops it (SIGKILL: an outage, not a shutdown) and waits until it is gone. */
    public synchronized void stop() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Whether it answers PING now. */
    public boolean ping() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            s.setSoTimeout(500);
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] b = new byte[7];
            int n = in.readNBytes(b, 0, 7);
            return new String(b, 0, n, StandardCharsets.US_ASCII).startsWith("+PONG");
        } catch (IOException e) {
            return false;
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
