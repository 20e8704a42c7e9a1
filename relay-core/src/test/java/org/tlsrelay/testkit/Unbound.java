package org.tlsrelay.testkit;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.tlsrelay.core.config.HostPort;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * NLnet Labs' unbound (Debian package {@code unbound}, which {@code .ci/run} installs) as a validating recursive
 * resolver on a loopback port: an independent validator for the zones of the test kit. It forwards every query (the
 * root's included, so that it never asks the Internet) to one {@link DnsStubServer}, which answers as a resolver
 * that has the whole tree, and validates the answers itself against the given trust anchor.
 */
public final class Unbound implements AutoCloseable {
    private static final Path BINARY = Path.of("/usr/sbin/unbound");

    private final Process process;
    private final int port;
    private final Path log;

    private Unbound(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Whether unbound is installed here (tests that need it are skipped otherwise; CI installs it). */
    public static boolean installed() {
        return Files.isExecutable(BINARY);
    }

    /**
     * Starts unbound in {@code dir} (its configuration and log go there), resolving every name through
     * {@code authority} and validating against {@code trustAnchor} (zone-file DS or DNSKEY records). Returns once it
     * answers queries.
     */
    public static Unbound start(Path dir, HostPort authority, String trustAnchor)
            throws IOException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            int port = freePort();
            Path log = dir.resolve("unbound-" + port + ".log");
            StringBuilder anchors = new StringBuilder();
            for (String line : trustAnchor.strip().split("\n")) {
                anchors.append("  trust-anchor: \"").append(line.strip()).append("\"\n");
            }
            String conf =
                    "server:\n"
                            + "  interface: 127.0.0.1\n"
                            + "  port: "
                            + port
                            + "\n"
                            + "  do-daemonize: no\n"
                            + "  use-syslog: no\n"
                            + "  logfile: \""
                            + log
                            + "\"\n"
                            + "  verbosity: 1\n"
                            + "  val-log-level: 2\n"
                            + "  username: \"\"\n"
                            + "  chroot: \"\"\n"
                            + "  directory: \""
                            + dir
                            + "\"\n"
                            + "  pidfile: \"\"\n"
                            + "  do-ip6: no\n"
                            + "  do-not-query-localhost: no\n"
                            + "  access-control: 127.0.0.0/8 allow\n"
                            + "  module-config: \"validator iterator\"\n"
                            + "  qname-minimisation: no\n"
                            + "  harden-referral-path: no\n"
                            + "  num-threads: 1\n"
                            // RFC 6761 names unbound answers itself by default; tests use them
                            + "  local-zone: \"test.\" nodefault\n"
                            + "  local-zone: \"invalid.\" nodefault\n"
                            + anchors
                            + "forward-zone:\n"
                            + "  name: \".\"\n"
                            + "  forward-addr: 127.0.0.1@"
                            + authority.port()
                            + "\n"
                            + "remote-control:\n"
                            + "  control-enable: no\n";
            Path file = Files.writeString(dir.resolve("unbound-" + port + ".conf"), conf);
            Process p =
                    new ProcessBuilder(BINARY.toString(), "-d", "-c", file.toString())
                            .redirectErrorStream(true)
                            .redirectOutput(dir.resolve("unbound-" + port + ".out").toFile())
                            .start();
            Unbound u = new Unbound(p, port, log);
            if (u.awaitReady(Duration.ofSeconds(15))) {
                return u;
            }
            u.close();
            if (attempt >= 3) {
                throw new IOException(
                        "unbound did not start: "
                                + Files.readString(dir.resolve("unbound-" + port + ".out"))
                                + (Files.exists(log) ? Files.readString(log) : ""));
            }
        }
    }

    /** Where to send queries, for {@code dns.servers}. */
    public HostPort address() {
        return new HostPort("127.0.0.1", port);
    }

    /** What unbound logged (validation failures with {@code val-log-level: 2}). */
    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    private boolean awaitReady(Duration within) throws InterruptedException {
        long end = System.nanoTime() + within.toNanos();
        SimpleResolver r =
                new SimpleResolver(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        r.setTimeout(Duration.ofMillis(300));
        while (System.nanoTime() < end && process.isAlive()) {
            try {
                r.send(Message.newQuery(Record.newRecord(Name.root, Type.SOA, DClass.IN)));
                return true;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        return false;
    }

    /** A port free for both UDP and TCP on 127.0.0.1 just now (unbound cannot be given port 0). */
    private static int freePort() throws IOException {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        for (int i = 0; i < 50; i++) {
            try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(loopback, 0));
                    ServerSocket tcp = new ServerSocket()) {
                tcp.bind(new InetSocketAddress(loopback, udp.getLocalPort()));
                return udp.getLocalPort();
            } catch (IOException e) {
                // taken for TCP: try another
            }
        }
        throw new IOException("no free port on 127.0.0.1");
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    @Override
    public String toString() {
        return "unbound on 127.0.0.1:" + port + " " + List.of(log);
    }
}
