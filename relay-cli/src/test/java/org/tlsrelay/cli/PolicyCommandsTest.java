package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestHttpsServer;

/**
 * {@code tlsrelay policy show} and {@code tlsrelay mta-sts fetch} against a DNS stub and an HTTPS policy host on
 * loopback, configured through a real configuration file.
 */
class PolicyCommandsTest {
    static final String PATH = "/.well-known/mta-sts.txt";
    static final String POLICY =
            "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\n"
                    + "max_age: 604800\n";
    static final TestCa CA = TestCa.create("tlsrelay test CA");

    @TempDir Path dir;
    DnsStubServer dns;
    TestHttpsServer https;

    @BeforeEach
    void start() throws Exception {
        dns = DnsStubServer.start();
        https = TestHttpsServer.start(CA.issue("mta-sts.example.com").serverContext());
        dns.a("mta-sts.example.com", "127.0.0.1")
                .txt("_mta-sts.example.com", "v=STSv1; id=20250101");
        https.respond(PATH, TestHttpsServer.Response.text(POLICY));
    }

    @AfterEach
    void stop() {
        https.close();
        dns.close();
    }

    Path config(int httpsPort) throws Exception {
        Path ca = CA.writeCertificatePem(dir.resolve("ca.pem"));
        return Files.writeString(
                dir.resolve("tlsrelay.yaml"),
                """
                spool:
                  dir: %s
                dns:
                  servers: ["%s"]
                  timeout: 1s
                delivery:
                  connect-timeout: 5s
                  trust:
                    system: false
                    extra-ca: ["%s"]
                policy:
                  mta-sts:
                    https-port: %d
                  overrides:
                    forced.example: { mode: testing, mxs: [".mx.forced.example"], force: true }
                    plain.example: { mode: enforce, mxs: ["mx.plain.example"] }
                """
                        .formatted(dir.resolve("spool"), dns.address(), ca, httpsPort));
    }

    static JsonNode json(CliRun r) throws Exception {
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void policyShowFetchesLiveThenAnswersFromTheOnDiskCache() throws Exception {
        Path config = config(https.port());
        CliRun first =
                CliRun.run(
                        "policy", "show", "example.com", "--json", "--config", config.toString());
        assertEquals(0, first.exit(), first.err());
        JsonNode j = json(first);
        assertEquals("example.com", j.get("domain").asText());
        assertEquals("enforce", j.get("mode").asText());
        assertEquals("mx1.example.com", j.get("mx").get(0).asText());
        assertEquals("mta-sts-live", j.get("source").asText());
        assertEquals("20250101", j.get("mta_sts").get("id").asText());
        assertEquals("version: STSv1", j.get("mta_sts").get("policy_lines").get(0).asText());
        assertTrue(j.get("failure").isNull());
        assertTrue(
                Files.exists(dir.resolve("mta-sts").resolve("example.com.json")),
                "cached beside the spool");

        https.close(); // a second run (a new process, in effect) has only the cache
        CliRun second = CliRun.run("policy", "show", "example.com", "--config", config.toString());
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.out().contains("source:       MTA-STS (cached)"), second.out());
        assertTrue(
                second.out().contains("mx:           mx1.example.com, *.example.net"),
                second.out());
        assertTrue(second.out().contains("policy id:    20250101"), second.out());
    }

    @Test
    void policyShowTakesAULabelDomainAndAsksForItsALabel() throws Exception {
        Path config = config(https.port());
        dns.txt("_mta-sts.xn--bcher-kva.example", "v=STSv1; id=1");
        CliRun r =
                CliRun.run(
                        "policy",
                        "show",
                        "Bücher.example",
                        "--json",
                        "--config",
                        config.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals("xn--bcher-kva.example", json(r).get("domain").asText());
        assertTrue(dns.queryCount("_mta-sts.xn--bcher-kva.example", "TXT") > 0);

        CliRun bad = CliRun.run("policy", "show", "☃.example", "--config", config.toString());
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(
                bad.err()
                        .contains(
                                "\"☃.example\" is not a valid internationalised domain name: U+2603"),
                bad.err());
    }

    @Test
    void policyShowExplainsOverridesAndNone() throws Exception {
        Path config = config(https.port());
        JsonNode forced =
                json(
                        CliRun.run(
                                "policy",
                                "show",
                                "forced.example",
                                "--json",
                                "--config",
                                config.toString()));
        assertEquals("override", forced.get("source").asText());
        assertTrue(forced.get("forced").asBoolean());
        assertEquals(".mx.forced.example", forced.get("mx").get(0).asText());

        JsonNode plain =
                json(
                        CliRun.run(
                                "policy",
                                "show",
                                "plain.example",
                                "--json",
                                "--config",
                                config.toString()));
        assertEquals("override", plain.get("source").asText());
        assertTrue(
                plain.get("explanation").asText().contains("no _mta-sts TXT record"),
                plain.toString());

        JsonNode none =
                json(
                        CliRun.run(
                                "policy",
                                "show",
                                "nothing.example",
                                "--json",
                                "--config",
                                config.toString()));
        assertEquals("none", none.get("source").asText());
        assertEquals("none", none.get("mode").asText());
        assertEquals(0, none.get("mx").size());
    }

    @Test
    void policyShowReportsAFetchFailureType() throws Exception {
        try (TestHttpsServer impostor =
                TestHttpsServer.start(CA.issue("www.example.com").serverContext())) {
            CliRun r =
                    CliRun.run(
                            "policy",
                            "show",
                            "example.com",
                            "--json",
                            "--config",
                            config(impostor.port()).toString());
            assertEquals(0, r.exit(), r.err());
            assertEquals("none", json(r).get("source").asText());
            assertEquals("sts-webpki-invalid", json(r).get("failure").asText());
        }
    }

    @Test
    void policyShowRefusesBadDomainsAndBadConfiguration() throws Exception {
        assertEquals(
                2,
                CliRun.run(
                                "policy",
                                "show",
                                "not a domain",
                                "--config",
                                config(https.port()).toString())
                        .exit());
        Path broken = Files.writeString(dir.resolve("broken.yaml"), "dns:\n  timeout: soon\n");
        CliRun r = CliRun.run("policy", "show", "example.com", "--config", broken.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("broken.yaml:2: dns.timeout"), r.err());
        Path missingCa =
                Files.writeString(
                        dir.resolve("missing-ca.yaml"),
                        "delivery:\n  trust:\n    extra-ca: [\""
                                + dir.resolve("nope.pem")
                                + "\"]\n");
        assertEquals(
                2,
                CliRun.run("policy", "show", "example.com", "--config", missingCa.toString())
                        .exit());
    }

    @Test
    void mtaStsFetchPrintsTheFetchedPolicyAndExitsZero() throws Exception {
        CliRun r =
                CliRun.run(
                        "mta-sts",
                        "fetch",
                        "example.com",
                        "--config",
                        config(https.port()).toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("discover: id 20250101"), r.out());
        assertTrue(
                r.out().contains("url:      https://mta-sts.example.com:" + https.port() + PATH),
                r.out());
        assertTrue(
                r.out().contains("result:   valid policy (mode enforce, max_age 604800s)"),
                r.out());
        assertTrue(r.out().contains("  mx: *.example.net"), r.out());
        assertTrue(
                Files.notExists(dir.resolve("mta-sts").resolve("example.com.json")),
                "fetch stores nothing");
    }

    @Test
    void mtaStsFetchReportsTheFailureTypeAndExitsOne() throws Exception {
        try (TestHttpsServer impostor =
                TestHttpsServer.start(CA.issue("www.example.com").serverContext())) {
            CliRun r =
                    CliRun.run(
                            "mta-sts",
                            "fetch",
                            "example.com",
                            "--json",
                            "--config",
                            config(impostor.port()).toString());
            assertEquals(1, r.exit(), r.err());
            JsonNode j = json(r);
            assertEquals("sts-webpki-invalid", j.get("failure").asText());
            assertEquals("20250101", j.get("id").asText());
            assertTrue(j.get("policy").isNull());
        }
        https.respond(
                PATH, TestHttpsServer.Response.text("version: STSv1\nmode: enforce\nmax_age: 1\n"));
        CliRun invalid =
                CliRun.run(
                        "mta-sts",
                        "fetch",
                        "example.com",
                        "--config",
                        config(https.port()).toString());
        assertEquals(1, invalid.exit());
        assertTrue(
                invalid.out().contains("failure:  sts-policy-invalid: mx: missing"), invalid.out());
    }

    @Test
    void mtaStsFetchWithoutTxtRecordExitsOne() throws Exception {
        CliRun r =
                CliRun.run(
                        "mta-sts",
                        "fetch",
                        "nothing.example",
                        "--config",
                        config(https.port()).toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(
                r.out().contains("no _mta-sts TXT record") || r.out().contains("no TXT record"),
                r.out());
        assertTrue(r.out().contains("result:   no MTA-STS policy"), r.out());
        assertEquals(
                2,
                CliRun.run(
                                "mta-sts",
                                "fetch",
                                "bad..domain",
                                "--config",
                                config(https.port()).toString())
                        .exit());
    }
}
