package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.testkit.DnsStubServer;

/**
 * {@code tlsrelay run} as an operator sees it, in a child JVM: JSON log lines with the MDC keys, the admin endpoints,
 * and SIGTERM ending in a clean stop with exit status 0.
 */
class RunLifecycleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LISTENING =
            Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) ");
    private static final Pattern ADMIN = Pattern.compile("admin on http://127\\.0\\.0\\.1:(\\d+)/");

    @TempDir Path dir;

    /** The relay delivers: its DNS is this stub, which fails example.com, so the message is deferred, never sent. */
    private DnsStubServer dns;

    @BeforeEach
    void startDns() throws IOException {
        dns = DnsStubServer.start();
        dns.servfail("example.com");
    }

    @AfterEach
    void stopDns() {
        dns.close();
    }

    Path config() throws IOException {
        return Files.writeString(
                dir.resolve("tlsrelay.yaml"),
                """
                server:
                  listen: "127.0.0.1:0"
                  hostname: lifecycle.test
                  shutdown-grace: 20s
                spool:
                  dir: %s
                admin:
                  listen: "127.0.0.1:0"
                dns:
                  servers: ["127.0.0.1:%d"]
                  timeout: 1s
                  dnssec: off
                policy:
                  mta-sts: { enabled: false }
                """
                        .formatted(dir.resolve("spool"), dns.port()));
    }

    static HttpResponse<String> get(int port, String path) throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                .GET()
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void runLogsJsonServesHealthAndMetricsAndExitsZeroOnSigterm() throws Exception {
        try (RelayProcess relay =
                RelayProcess.start(
                        "run", "--config", config().toString(), "--log-format", "json")) {
            int smtp = relay.awaitNumber(LISTENING);
            int admin = relay.awaitNumber(ADMIN);

            assertEquals(200, get(admin, "/health").statusCode());
            assertEquals("{\"status\":\"up\"}", get(admin, "/health").body());
            assertEquals(200, get(admin, "/ready").statusCode());
            CliRun health = CliRun.run("health", "--url", "http://127.0.0.1:" + admin + "/health");
            assertEquals(0, health.exit(), health.err());

            try (RawSmtpClient c = new RawSmtpClient(new InetSocketAddress("127.0.0.1", smtp))) {
                RawSmtpClient.expect(c.reply(), 220);
                RawSmtpClient.expect(c.command("EHLO client.test"), 250);
                RawSmtpClient.expect(
                        c.sendMessage(
                                "a@example.org",
                                List.of("b@example.com"),
                                "Subject: hi\r\n\r\nhello\r\n"),
                        250);
            }
            // The accept line (issue 13): led by the queue id, its fields as MDC keys in JSON.
            String queued =
                    relay.await(
                            l ->
                                    RelayProcess.message(l)
                                            .contains(": client=client.test[127.0.0.1],"),
                            "logging the accepted message");
            JsonNode event = JSON.readTree(queued);
            assertEquals("INFO", event.get("level").asText());
            String id = event.get("mdc").get("queueId").asText();
            assertTrue(id.matches("[0-9a-v]{14}"), queued);
            assertTrue(
                    event.get("formattedMessage")
                            .asText()
                            .matches(
                                    id
                                            + ": client=client\\.test\\[127\\.0\\.0\\.1\\], from=<a@example\\.org>,"
                                            + " size=\\d+, nrcpt=1"),
                    queued);
            assertEquals("a@example.org", event.get("mdc").get("from").asText(), queued);
            assertEquals("1", event.get("mdc").get("nrcpt").asText(), queued);

            String metrics = get(admin, "/metrics").body();
            assertTrue(metrics.contains("tlsrelay_messages_accepted_total 1.0"), metrics);
            // queued, then taken by the delivery engine and deferred (DNS fails): in one of these
            // states
            assertTrue(
                    Pattern.compile(
                                    "tlsrelay_queue_messages\\{state=\"(incoming|active|deferred)\"} 1\\.0")
                            .matcher(metrics)
                            .find(),
                    metrics);
            assertTrue(metrics.contains("jvm_memory_used_bytes"), "JVM meters are bound too");
            assertTrue(
                    Pattern.compile("tlsrelay_spool_free_bytes [0-9.E]+").matcher(metrics).find(),
                    "the spool's free space (spool.min-free) is shown: " + metrics);

            relay.sigterm();
            assertTrue(
                    relay.process.waitFor(60, TimeUnit.SECONDS), "stops within the grace period");
            assertEquals(0, relay.process.exitValue(), "a clean stop after SIGTERM is a success");
            List<String> log = relay.drain();
            for (String line : log) {
                JSON.readTree(line); // every line is one JSON object
            }
            assertTrue(
                    log.stream().anyMatch(l -> RelayProcess.message(l).equals("stopped")),
                    log.toString());
            assertEquals(
                    1,
                    CliRun.run(
                                    "health",
                                    "--url",
                                    "http://127.0.0.1:" + admin + "/health",
                                    "--timeout",
                                    "2s")
                            .exit(),
                    "nothing answers once it has stopped");
        }
        // the message is still queued for the next start
        long queued = 0;
        for (String state : List.of("incoming", "active", "deferred")) {
            try (var files = Files.list(dir.resolve("spool").resolve(state))) {
                queued += files.filter(p -> p.toString().endsWith(".json")).count();
            }
        }
        assertEquals(1, queued);
    }

    @Test
    void textLogsAreOneReadableLinePerEvent() throws Exception {
        try (RelayProcess relay =
                RelayProcess.start(
                        "--log-format", "text", "run", "--config", config().toString())) {
            String line =
                    relay.await(
                            l -> l.contains("tlsrelay listening on"), "saying where it listens");
            assertFalse(line.startsWith("{"), line);
            assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT\\S+ INFO  RunCommand .*"), line);
            relay.await(ADMIN);
            relay.sigterm();
            assertTrue(relay.process.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, relay.process.exitValue());
            assertTrue(
                    relay.drain().stream()
                            .anyMatch(l -> l.contains("INFO  RunCommand    stopped")));
        }
    }

    @Test
    void anUnknownLogFormatIsAUsageError() {
        CliRun r = CliRun.run("--log-format", "xml", "config", "check");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--log-format: \"xml\" is not text or json"), r.err());
    }
}
