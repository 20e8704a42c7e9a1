package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.testkit.DnsStubServer;

/**
 * Nothing acknowledged is lost: the relay runs as a child JVM ({@code tlsrelay run}), takes messages from several
 * clients, is killed with SIGKILL the moment the last 250 arrives (one more message is half-way through DATA), and is
 * started again on the same spool. Every acknowledged message must be there, byte for byte; the half one must not.
 */
class CrashSafetyTest {
    private static final Pattern LISTENING =
            Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) ");
    private static final Pattern QUEUED =
            Pattern.compile("250 2\\.0\\.0 Ok: queued as ([0-9a-v]{14})");

    @TempDir Path dir;

    private static byte[] content(int client, int n) {
        StringBuilder sb =
                new StringBuilder(
                        "From: client"
                                + client
                                + "@example.org\r\nSubject: message "
                                + client
                                + "/"
                                + n
                                + "\r\n\r\n");
        while (sb.length() < 10_000) {
            sb.append("line ")
                    .append(sb.length())
                    .append(" of message ")
                    .append(client)
                    .append('/')
                    .append(n)
                    .append(" .\r\n");
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void everyAcknowledgedMessageSurvivesSigkillIntactAndNothingHalfWrittenAppears()
            throws Exception {
        try (DnsStubServer dns = DnsStubServer.start()) {
            survivesSigkill(dns);
        }
    }

    private void survivesSigkill(DnsStubServer dns) throws Exception {
        Path spool = dir.resolve("spool");
        // The delivery engine runs too: its DNS is a loopback stub that fails example.com, so every
        // message is deferred (moved to deferred/, never delivered or bounced) and no query leaves
        // the machine.
        dns.servfail("example.com");
        Path config =
                Files.writeString(
                        dir.resolve("tlsrelay.yaml"),
                        "server:\n  listen: \"127.0.0.1:0\"\n"
                                + "  hostname: crash.test\nspool:\n  dir: "
                                + spool
                                + "\nadmin:\n  listen: \"127.0.0.1:0\"\n"
                                + "dns:\n  servers: [\"127.0.0.1:"
                                + dns.port()
                                + "\"]\n  timeout: 1s\n  dnssec: off\n"
                                + "policy:\n  mta-sts: { enabled: false }\n");
        Map<String, byte[]> acked = new ConcurrentHashMap<>();
        int clients = 4;
        int perClient = 10;
        try (RelayProcess relay = RelayProcess.start("run", "--config", config.toString())) {
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", relay.awaitNumber(LISTENING));
            // One client is in the middle of DATA when the relay dies: that message was never
            // acknowledged.
            RawSmtpClient halfway = new RawSmtpClient(at);
            halfway.reply();
            halfway.command("EHLO halfway.test");
            halfway.command("MAIL FROM:<halfway@example.org>");
            halfway.command("RCPT TO:<nobody@example.com>");
            RawSmtpClient.expect(halfway.command("DATA"), 354);
            halfway.send("Subject: never acknowledged\r\n\r\n" + "x".repeat(5000));

            ExecutorService pool = Executors.newFixedThreadPool(clients);
            List<Future<?>> runs = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                runs.add(
                        pool.submit(
                                () -> {
                                    try (RawSmtpClient s = new RawSmtpClient(at)) {
                                        s.reply();
                                        s.command("EHLO client" + client + ".test");
                                        for (int n = 0; n < perClient; n++) {
                                            byte[] body = content(client, n);
                                            s.command(
                                                    "MAIL FROM:<client" + client + "@example.org>");
                                            s.command("RCPT TO:<rcpt" + n + "@example.com>");
                                            RawSmtpClient.expect(s.command("DATA"), 354);
                                            s.sendBytes(body);
                                            RawSmtpClient.Reply r = s.send(".\r\n").reply();
                                            Matcher m = QUEUED.matcher(r.last());
                                            if (!m.matches()) {
                                                throw new AssertionError(r.text());
                                            }
                                            acked.put(m.group(1), body);
                                        }
                                    }
                                    return null;
                                }));
            }
            for (Future<?> f : runs) {
                f.get(60, TimeUnit.SECONDS);
            }
            relay.process.destroyForcibly(); // SIGKILL, right after the last 250
            assertTrue(relay.process.waitFor(30, TimeUnit.SECONDS));
            pool.shutdown();
            halfway.close();
        }
        assertEquals(clients * perClient, acked.size());

        try (RelayProcess restarted = RelayProcess.start("run", "--config", config.toString())) {
            restarted.awaitNumber(LISTENING); // started: SIGTERM below finds its shutdown hook
            restarted.await(
                    Pattern.compile("spool .*: " + acked.size() + " message\\(s\\) scheduled"));
            for (Map.Entry<String, byte[]> e : acked.entrySet()) {
                byte[] stored = body(spool, e.getKey());
                byte[] sent = e.getValue();
                byte[] tail =
                        Arrays.copyOfRange(stored, stored.length - sent.length, stored.length);
                assertArrayEquals(sent, tail, "content of " + e.getKey());
                String head =
                        new String(
                                stored, 0, stored.length - sent.length, StandardCharsets.US_ASCII);
                assertTrue(
                        head.matches(
                                "Received: from client\\d\\.test \\(\\[127\\.0\\.0\\.1]\\)\r\n(\t[^\r\n]*\r\n)+"),
                        head);
                assertTrue(head.contains("id " + e.getKey()), head);
            }
            // file names only (no stat): the running delivery engine renames messages between
            // directories meanwhile
            Set<String> names = new HashSet<>();
            try (Stream<Path> dirs = Files.list(spool)) {
                for (Path d : dirs.filter(Files::isDirectory).toList()) {
                    try (DirectoryStream<Path> files = Files.newDirectoryStream(d)) {
                        files.forEach(p -> names.add(p.getFileName().toString()));
                    }
                }
            }
            assertTrue(names.stream().noneMatch(n -> n.endsWith(".tmp")), names.toString());

            // The queue command, in this process, reads the spool the running child relay owns.
            CliRun list = CliRun.run("queue", "list", "--json", "--config", config.toString());
            assertEquals(0, list.exit(), list.err());
            Set<String> listed = new HashSet<>();
            JsonNode json = new ObjectMapper().readTree(list.out());
            json.forEach(n -> listed.add(n.get("id").asText()));
            assertEquals(
                    acked.keySet(),
                    listed,
                    "exactly the acknowledged messages, not the half-written one");

            // SIGTERM (through the handle: Process.destroy() would also close our end of its output
            // pipe).
            restarted.sigterm();
            restarted.await(Pattern.compile("INFO .*stopped$"));
            assertTrue(restarted.process.waitFor(30, TimeUnit.SECONDS));
        }
    }

    /**
     * A queued message's content wherever it is now: the running delivery engine moves messages between
     * {@code incoming/}, {@code active/} and {@code deferred/} (renames), so a read may miss once and look again.
     */
    private static byte[] body(Path spool, String id) throws IOException {
        for (int tries = 0; tries < 100; tries++) {
            for (String state : List.of("incoming", "active", "deferred")) {
                try {
                    return Files.readAllBytes(spool.resolve(state).resolve(id + ".eml"));
                } catch (NoSuchFileException e) {
                    // moved meanwhile: look in the next directory, then again
                }
            }
        }
        throw new NoSuchFileException(id + ".eml in " + spool);
    }
}
