package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.SpoolAdmin;
import org.tlsrelay.core.report.OutcomeLog;
import org.tlsrelay.core.report.OutcomeRecorder;
import org.tlsrelay.core.report.TlsExemption;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestHttpsServer;
import org.tlsrelay.testkit.TestPolicies;

/** {@code tlsrelay report show|send} against recorded outcomes, a DNS stub and an HTTPS rua on loopback. */
class ReportCommandTest {
    static final TestCa CA = TestCa.create("report CLI test CA");

    @TempDir Path dir;
    DnsStubServer dns;
    TestHttpsServer https;
    Path config;
    final LocalDate today = LocalDate.now(ZoneOffset.UTC);
    final LocalDate yesterday = today.minusDays(1);

    @BeforeEach
    void start() throws Exception {
        System.setProperty(ReportWiring.ALLOW_PRIVATE_RUA, "true");
        dns = DnsStubServer.start();
        https = TestHttpsServer.start(CA.issue("127.0.0.1").serverContext());
        https.respond("/tlsrpt", TestHttpsServer.Response.status(200));
        dns.txt(
                "_smtp._tls.example.com",
                "v=TLSRPTv1; rua=https://127.0.0.1:"
                        + https.port()
                        + "/tlsrpt,"
                        + "mailto:tlsrpt@example.com");
        Path ca = CA.writeCertificatePem(dir.resolve("ca.pem"));
        config =
                Files.writeString(
                        dir.resolve("tlsrelay.yaml"),
                        """
                spool:
                  dir: %s
                dns:
                  servers: ["%s"]
                  timeout: 1s
                delivery:
                  trust:
                    system: false
                    extra-ca: ["%s"]
                reports:
                  organization: "CLI Test Org"
                  contact: "mailto:postmaster@relay.example"
                  submitter: relay.example
                """
                                .formatted(dir.resolve("data/spool"), dns.address(), ca));
    }

    @AfterEach
    void stop() {
        System.clearProperty(ReportWiring.ALLOW_PRIVATE_RUA);
        https.close();
        dns.close();
    }

    static MxPolicy sts(String domain, PolicyMode mode) {
        return MxPolicy.domainWide(TestPolicies.sts(domain, mode, "mx." + domain));
    }

    /** A few outcomes on {@code day}, as the delivery engine would record them. */
    void record(LocalDate day) throws Exception {
        Instant t = day.atStartOfDay(ZoneOffset.UTC).toInstant().plusSeconds(60);
        MxPolicy enforce = sts("example.com", PolicyMode.ENFORCE);
        MxPolicy testing = sts("testing.example", PolicyMode.TESTING);
        try (OutcomeRecorder r =
                OutcomeRecorder.start(
                        new OutcomeLog(dir.resolve("data/reports")),
                        OutcomeRecorder.Settings.defaults())) {
            r.record(
                    new TlsOutcome(
                            t,
                            enforce,
                            "mx.example.com",
                            "mx.example.com",
                            "192.0.2.1",
                            "198.51.100.1",
                            TlsResult.success(),
                            "deliver-tls",
                            ""));
            r.record(
                    new TlsOutcome(
                            t,
                            enforce,
                            "mx.example.com",
                            "mx.example.com",
                            "192.0.2.1",
                            "198.51.100.2",
                            TlsResult.failure(TlsFailureType.CERTIFICATE_EXPIRED, "expired"),
                            "refuse",
                            ""));
            r.record(
                    new TlsOutcome(
                            t,
                            testing,
                            "mx.testing.example",
                            "",
                            "192.0.2.1",
                            "198.51.100.3",
                            TlsResult.failure(TlsFailureType.STARTTLS_NOT_SUPPORTED, "no STARTTLS"),
                            "deliver-clear",
                            ""));
            assertTrue(r.flush(Duration.ofSeconds(10)));
        }
    }

    static JsonNode json(CliRun r) throws Exception {
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void showPrintsTheDaysReportsAndShadowCountsAsJson() throws Exception {
        record(today);
        CliRun r = CliRun.run("report", "show", "--json", "--config", config.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode j = json(r);
        assertEquals(today.toString(), j.get("date").asText());
        assertFalse(j.get("complete").asBoolean());
        assertEquals(1, j.get("reports").size(), "only example.com publishes a TLSRPT record");
        JsonNode report = j.get("reports").get(0);
        assertEquals("CLI Test Org", report.get("organization-name").asText());
        assertEquals("mailto:postmaster@relay.example", report.get("contact-info").asText());
        assertEquals(today + "T00:00:00Z", report.get("date-range").get("start-datetime").asText());
        JsonNode policy = report.get("policies").get(0);
        assertEquals("sts", policy.get("policy").get("policy-type").asText());
        assertEquals("example.com", policy.get("policy").get("policy-domain").asText());
        assertEquals(1, policy.get("summary").get("total-successful-session-count").asInt());
        assertEquals(1, policy.get("summary").get("total-failure-session-count").asInt());
        assertEquals(
                "certificate-expired",
                policy.get("failure-details").get(0).get("result-type").asText());
        JsonNode shadow = j.get("shadow").get(0);
        assertEquals("testing.example", shadow.get("policy-domain").asText());
        assertEquals(1, shadow.get("would-refuse").asInt());
        assertEquals(2, j.get("domains").size());
        assertEquals("not-reporting", j.get("domains").get(1).get("tlsrpt").asText());
        assertTrue(https.requests().isEmpty(), "show sends nothing");
    }

    @Test
    void showExplainsTheDayAsTables() throws Exception {
        record(yesterday);
        CliRun r =
                CliRun.run(
                        "report",
                        "show",
                        "--date",
                        yesterday.toString(),
                        "--config",
                        config.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("whole day"), r.out());
        assertTrue(r.out().contains("example.com"), r.out());
        assertTrue(r.out().contains("certificate-expired"), r.out());
        assertTrue(
                r.out().contains("testing.example") && r.out().contains("would refuse 1 of 1"),
                r.out());
    }

    @Test
    void showCanBeLimitedToOneDomain() throws Exception {
        record(today);
        CliRun r =
                CliRun.run(
                        "report",
                        "show",
                        "--json",
                        "--domain",
                        "testing.example",
                        "--config",
                        config.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode j = json(r);
        assertEquals(0, j.get("reports").size());
        assertEquals(1, j.get("domains").size());
        assertEquals(1, j.get("shadow").size());
    }

    @Test
    void sendDeliversYesterdaysReportsOnceToEveryRua() throws Exception {
        record(yesterday);
        CliRun first = CliRun.run("report", "send", "--config", config.toString());
        assertEquals(0, first.exit(), first.out() + first.err());
        assertEquals(1, https.requests().size());
        assertEquals("POST", https.requests().get(0).method());
        try (SpoolAdmin spool = SpoolAdmin.open(dir.resolve("data/spool"))) {
            List<QueuedMessage> queued = spool.list();
            assertEquals(1, queued.size());
            assertTrue(TlsExemption.isExempt(queued.get(0).envelope()));
            assertEquals("postmaster@relay.example", queued.get(0).envelope().sender());
            assertEquals(
                    "tlsrpt@example.com", queued.get(0).envelope().recipients().get(0).address());
        }

        CliRun again =
                CliRun.run(
                        "report",
                        "send",
                        "--date",
                        yesterday.toString(),
                        "--config",
                        config.toString());
        assertEquals(0, again.exit(), again.out() + again.err());
        assertTrue(again.out().contains("already sent"), again.out());
        assertEquals(1, https.requests().size(), "not sent twice");
    }

    @Test
    void sendExitsOneWhenADeliveryFailsAndSendsItOnTheNextTry() throws Exception {
        record(yesterday);
        https.respond("/tlsrpt", TestHttpsServer.Response.status(500));
        CliRun failed = CliRun.run("report", "send", "--config", config.toString());
        assertEquals(1, failed.exit(), failed.out() + failed.err());
        assertTrue(failed.out().contains("HTTP 500"), failed.out());

        https.respond("/tlsrpt", TestHttpsServer.Response.status(200));
        CliRun retried = CliRun.run("report", "send", "--config", config.toString());
        assertEquals(0, retried.exit(), retried.out() + retried.err());
        assertEquals(2, https.requests().size());
    }

    @Test
    void sendWithNothingRecordedSucceeds() throws Exception {
        CliRun r = CliRun.run("report", "send", "--config", config.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("nothing to send"), r.out());
    }

    @Test
    void usageErrorsExitTwo() {
        assertEquals(
                2,
                CliRun.run(
                                "report",
                                "send",
                                "--date",
                                today.toString(),
                                "--config",
                                config.toString())
                        .exit(),
                "today is not over");
        assertEquals(
                2,
                CliRun.run("report", "send", "--date", "June 1st", "--config", config.toString())
                        .exit());
        assertEquals(
                2,
                CliRun.run(
                                "report",
                                "show",
                                "--domain",
                                "not a domain",
                                "--config",
                                config.toString())
                        .exit());
        assertEquals(
                2,
                CliRun.run("report", "show", "--config", dir.resolve("missing.yaml").toString())
                        .exit());
        assertEquals(2, CliRun.run("report", "send", "--bogus").exit());
    }
}
