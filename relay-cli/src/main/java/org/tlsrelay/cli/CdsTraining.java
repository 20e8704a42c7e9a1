package org.tlsrelay.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.tlsrelay.core.config.ConfigLoader;

/**
 * The training run for the class-data sharing archive (AppCDS) that the launcher uses: {@code java
 * -XX:ArchiveClassesAtExit=tlsrelay.jsa -cp tlsrelay.jar org.tlsrelay.cli.CdsTraining} loads what the commands and
 * the relay load at start — the command line, configuration, spool, logging, the relay started on loopback ports
 * with one message accepted, then stopped — and the JVM writes those classes to the archive at exit. Everything it
 * touches is in a temporary directory; it listens on loopback port 0 only and sends nothing anywhere. Not a command:
 * the launcher runs it (see {@code packaging/bin/tlsrelay}).
 */
public final class CdsTraining {
    private CdsTraining() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("tlsrelay-cds-");
        PrintStream stdout = System.out;
        try (PrintStream quiet = new PrintStream(OutputStream.nullOutputStream(), true, "UTF-8")) {
            System.setOut(quiet);
            train(dir);
        } finally {
            System.setOut(stdout);
            delete(dir);
        }
        System.exit(0);
    }

    private static void train(Path dir) throws Exception {
        Path config = dir.resolve("tlsrelay.yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "server:",
                        "  listen: \"127.0.0.1:0\"",
                        "  hostname: cds.invalid",
                        "  shutdown-grace: 2s",
                        "spool:",
                        "  dir: " + dir.resolve("spool"),
                        "  min-free: 1MB",
                        "dns:",
                        "  servers: [\"127.0.0.1:9\"]",
                        "  timeout: 1s",
                        "  dnssec: off",
                        "reports:",
                        "  enabled: false",
                        "admin:",
                        "  listen: \"127.0.0.1:0\"",
                        ""),
                StandardCharsets.UTF_8);
        String c = config.toString();
        Main.execute("--help");
        Main.execute("--version");
        Main.execute("config", "check", "--config", c);
        Main.execute("queue", "list", "--config", c);
        Main.execute("queue", "list", "--json", "--config", c);
        try (Relay relay = Relay.start(ConfigLoader.load(config))) {
            submit(relay.address());
            relay.stop(Duration.ofSeconds(2));
        }
    }

    /** One message over SMTP, as a client submits it: the accept path into the spool. */
    private static void submit(InetSocketAddress at) throws IOException {
        try (Socket s = new Socket(at.getAddress(), at.getPort())) {
            s.setSoTimeout(10_000);
            BufferedReader in =
                    new BufferedReader(
                            new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            reply(in);
            for (String line :
                    new String[] {
                        "EHLO cds.invalid",
                        "MAIL FROM:<cds@cds.invalid>",
                        "RCPT TO:<someone@cds.invalid>",
                        "DATA",
                        "From: cds@cds.invalid\r\nTo: someone@cds.invalid\r\nSubject: cds\r\n\r\ntraining\r\n.",
                        "QUIT"
                    }) {
                out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                reply(in);
            }
        }
    }

    private static void reply(BufferedReader in) throws IOException {
        String line;
        do {
            line = in.readLine();
        } while (line != null && line.length() > 3 && line.charAt(3) == '-');
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder())
                    .forEach(
                            p -> {
                                try {
                                    Files.deleteIfExists(p);
                                } catch (IOException e) {
                                    throw new UncheckedIOException(e);
                                }
                            });
        }
    }
}
