package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.TestCa;

/**
 * {@code tlsrelay policy check} against a DNS stub and test MXs on loopback: the probe is the delivery code path, so
 * these tests show what the relay would do with each kind of MX, and that no message is ever sent.
 */
class PolicyCheckCommandTest {
    static final TestCa CA = TestCa.create("tlsrelay check CA");
    static final TestCa OTHER_CA = TestCa.create("someone else's CA");

    @TempDir Path dir;
    DnsStubServer dns;
    TestMx mx;

    @BeforeEach
    void start() throws Exception {
        dns = DnsStubServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        if (mx != null) {
            mx.close();
        }
        dns.close();
    }

    Path config(int port, String overrides) throws Exception {
        Path ca = CA.writeCertificatePem(dir.resolve("ca.pem"));
        return Files.writeString(
                dir.resolve("tlsrelay.yaml"),
                """
                server:
                  hostname: relay.test
                spool:
                  dir: %s
                dns:
                  servers: ["%s"]
                  timeout: 1s
                  dnssec: off
                delivery:
                  port: %d
                  connect-timeout: 5s
                  command-timeout: 5s
                  trust:
                    system: false
                    extra-ca: ["%s"]
                policy:
                  mta-sts:
                    enabled: false
                  overrides:
                %s
                """
                        .formatted(
                                dir.resolve("spool"),
                                dns.address(),
                                port,
                                ca,
                                overrides.indent(4)));
    }

    TestMx startMx(TestMx.Builder b) throws Exception {
        mx = b.start();
        return mx;
    }

    static JsonNode json(CliRun r) throws Exception {
        return new ObjectMapper().readTree(r.out());
    }

    CliRun check(Path config, String domain, String... more) {
        String[] args = new String[5 + more.length];
        args[0] = "policy";
        args[1] = "check";
        args[2] = domain;
        args[3] = "--config";
        args[4] = config.toString();
        System.arraycopy(more, 0, args, 5, more.length);
        return CliRun.run(args);
    }

    @Test
    void deliversToAnEnforcedMxWithAGoodCertificateWithoutSendingMail() throws Exception {
        startMx(TestMx.builder().hostname("mx.good.example").startTls(CA.issue("mx.good.example")));
        dns.mx("good.example", 10, "mx.good.example")
                .a("mx.good.example", "127.0.0.1")
                .txt("_smtp._tls.good.example", "v=TLSRPTv1; rua=mailto:tlsrpt@good.example");
        Path config =
                config(mx.port(), "good.example: { mode: enforce, mxs: [\"mx.good.example\"] }");

        CliRun r = check(config, "good.example", "--json");

        assertEquals(0, r.exit(), r.err());
        JsonNode j = json(r);
        assertEquals("deliver", j.get("verdict").asText());
        assertEquals("override", j.get("policy").get("source").asText());
        assertEquals("enforce", j.get("policy").get("mode").asText());
        assertTrue(j.get("tls_rpt").get("valid").asBoolean());
        assertEquals("mailto:tlsrpt@good.example", j.get("tls_rpt").get("rua").get(0).asText());
        assertEquals("found", j.get("mx_lookup").asText());
        JsonNode m = j.get("mx").get(0);
        assertEquals("mx.good.example", m.get("host").asText());
        assertEquals(10, m.get("preference").asInt());
        assertTrue(m.get("policy_match").asBoolean());
        assertTrue(m.get("acceptable").asBoolean());
        JsonNode a = m.get("addresses").get(0);
        assertEquals("127.0.0.1", a.get("address").asText());
        assertEquals(mx.port(), a.get("port").asInt());
        assertTrue(a.get("starttls_offered").asBoolean());
        assertTrue(a.get("tls").get("established").asBoolean());
        assertTrue(a.get("tls").get("version").asText().startsWith("TLSv1."), a.toString());
        assertFalse(a.get("tls").get("cipher").asText().isEmpty());
        assertEquals("mx.good.example", a.get("certificate").get("dns_names").get(0).asText());
        assertTrue(
                a.get("certificate").get("issuer").asText().contains("tlsrelay check CA"),
                a.toString());
        assertEquals("trusted", a.get("chain").asText());
        assertEquals("valid", a.get("validity").asText());
        assertTrue(a.get("name_match").asBoolean());
        assertEquals("deliver-tls", a.get("verdict").asText());
        assertEquals("success", a.get("result").asText());

        TestMx.await(() -> mx.saw("QUIT"), Duration.ofSeconds(5), "QUIT after the probe");
        assertTrue(mx.saw("EHLO") && mx.saw("STARTTLS"), mx.commands().toString());
        assertFalse(mx.saw("MAIL FROM"), "a probe never sends a message");
        assertTrue(r.err().contains("probing mx.good.example[127.0.0.1]:" + mx.port()), r.err());
    }

    @Test
    void refusesAnEnforcedMxWhoseCertificateNamesAnotherHost() throws Exception {
        startMx(TestMx.builder().hostname("mx.good.example").startTls(CA.issue("mx.good.example")));
        dns.mx("bad.example", 10, "mx.bad.example").a("mx.bad.example", "127.0.0.1");
        Path config = config(mx.port(), "bad.example: { mode: enforce, mxs: [\".bad.example\"] }");

        CliRun r = check(config, "bad.example", "--json");

        assertEquals(1, r.exit(), r.err());
        JsonNode j = json(r);
        assertEquals("refuse", j.get("verdict").asText());
        assertFalse(j.get("tls_rpt").get("valid").asBoolean());
        JsonNode a = j.get("mx").get(0).get("addresses").get(0);
        assertFalse(a.get("name_match").asBoolean());
        assertEquals("refuse", a.get("verdict").asText());
        assertEquals("certificate-host-mismatch", a.get("result").asText());
        assertEquals("certificate-host-mismatch", j.get("mx").get(0).get("problem").asText());
        assertFalse(mx.saw("MAIL FROM"));
    }

    @Test
    void refusesAnUntrustedCertificateAndSaysSoInTheTable() throws Exception {
        startMx(
                TestMx.builder()
                        .hostname("mx.untrusted.example")
                        .startTls(OTHER_CA.issue("mx.untrusted.example")));
        dns.mx("untrusted.example", 5, "mx.untrusted.example")
                .a("mx.untrusted.example", "127.0.0.1");
        Path config =
                config(
                        mx.port(),
                        "untrusted.example: { mode: enforce, mxs: [\"mx.untrusted.example\"] }");

        CliRun r = check(config, "untrusted.example");

        assertEquals(1, r.exit(), r.err());
        assertTrue(r.out().contains("MX"), r.out());
        assertTrue(
                r.out()
                        .lines()
                        .anyMatch(
                                l ->
                                        l.startsWith("MX ")
                                                && l.contains("ADDRESS")
                                                && l.contains("VERDICT")),
                r.out());
        assertTrue(r.out().contains("5 mx.untrusted.example"), r.out());
        assertTrue(r.out().contains("untrusted"), r.out());
        assertTrue(r.out().contains("refuse (certificate-not-trusted)"), r.out());
        assertTrue(r.out().contains("issuer    CN=someone else's CA"), r.out());
        assertTrue(r.out().contains("verdict:      refuse"), r.out());
        assertFalse(
                r.out().contains("\u001B["), "no colour when standard output is not a terminal");
    }

    @Test
    void skipsAnMxTheEnforcedPolicyDoesNotListWithoutConnecting() throws Exception {
        startMx(
                TestMx.builder()
                        .hostname("mx.other.example")
                        .startTls(CA.issue("mx.other.example")));
        dns.mx("listed.example", 10, "mx.other.example").a("mx.other.example", "127.0.0.1");
        Path config =
                config(
                        mx.port(),
                        "listed.example: { mode: enforce, mxs: [\"mx.listed.example\"] }");

        CliRun r = check(config, "listed.example", "--json");

        assertEquals(1, r.exit(), r.err());
        JsonNode m = json(r).get("mx").get(0);
        assertFalse(m.get("policy_match").asBoolean());
        JsonNode a = m.get("addresses").get(0);
        assertFalse(a.get("connected").asBoolean());
        assertEquals("refuse", a.get("verdict").asText());
        assertEquals("validation-failure", a.get("result").asText());
        assertTrue(
                mx.connections().isEmpty(),
                "RFC 8461 §4.1: an MX outside the policy is not contacted");
    }

    @Test
    void deliversInClearUnderTestingWhenStarttlsIsNotOffered() throws Exception {
        startMx(TestMx.builder().hostname("mx.plain.example"));
        dns.mx("plain.example", 10, "mx.plain.example").a("mx.plain.example", "127.0.0.1");
        Path config =
                config(mx.port(), "plain.example: { mode: testing, mxs: [\"mx.plain.example\"] }");

        CliRun r = check(config, "plain.example", "--json");

        assertEquals(0, r.exit(), r.err());
        JsonNode a = json(r).get("mx").get(0).get("addresses").get(0);
        assertFalse(a.get("starttls_offered").asBoolean());
        assertFalse(a.get("tls").get("established").asBoolean());
        assertEquals("deliver-clear", a.get("verdict").asText());
        assertEquals("starttls-not-supported", a.get("result").asText());
    }

    @Test
    void probesTheDomainItselfWhenItHasNoMxRecords() throws Exception {
        startMx(
                TestMx.builder()
                        .hostname("implicit.example")
                        .startTls(CA.issue("implicit.example")));
        dns.a("implicit.example", "127.0.0.1");

        CliRun r = check(config(mx.port(), "{}"), "implicit.example", "--json");

        assertEquals(0, r.exit(), r.err());
        JsonNode j = json(r);
        assertEquals("implicit", j.get("mx_lookup").asText());
        assertEquals("none", j.get("policy").get("source").asText());
        JsonNode m = j.get("mx").get(0);
        assertEquals("implicit.example", m.get("host").asText());
        assertTrue(m.get("implicit").asBoolean());
        assertTrue(m.get("policy_match").isNull(), "no policy, no patterns");
        assertEquals("deliver-tls", m.get("addresses").get(0).get("verdict").asText());
    }

    @Test
    void refusesANullMxAndANonexistentDomainWithoutConnecting() throws Exception {
        startMx(TestMx.builder());
        dns.nullMx("nomail.example");
        Path config = config(mx.port(), "{}");

        CliRun nullMx = check(config, "nomail.example", "--json");
        assertEquals(1, nullMx.exit(), nullMx.err());
        assertEquals("null-mx", json(nullMx).get("mx_lookup").asText());
        assertEquals(0, json(nullMx).get("mx").size());
        assertTrue(json(nullMx).get("reason").asText().contains("RFC 7505"));

        CliRun text = check(config, "nomail.example");
        assertTrue(text.out().contains("null MX (RFC 7505)"), text.out());

        CliRun missing = check(config, "missing.example", "--json");
        assertEquals(1, missing.exit(), missing.err());
        assertEquals("nxdomain", json(missing).get("mx_lookup").asText());
        assertTrue(mx.connections().isEmpty());
    }

    @Test
    void reportsAnUnreachableMx() throws Exception {
        startMx(TestMx.builder());
        int closedPort = mx.port();
        mx.close();
        mx = null;
        dns.mx("down.example", 10, "mx.down.example").a("mx.down.example", "127.0.0.1");

        CliRun r = check(config(closedPort, "{}"), "down.example", "--json");

        assertEquals(1, r.exit(), r.err());
        JsonNode a = json(r).get("mx").get(0).get("addresses").get(0);
        assertEquals("unreachable", a.get("verdict").asText());
        assertEquals("connect", a.get("stage").asText());
        assertFalse(a.get("error").asText().isEmpty());
    }

    @Test
    void tlsRptNeedsExactlyOneVersionRecord() throws Exception {
        startMx(TestMx.builder());
        dns.mx("twice.example", 10, "mx.twice.example")
                .a("mx.twice.example", "127.0.0.1")
                .txt("_smtp._tls.twice.example", "v=TLSRPTv1; rua=mailto:a@twice.example")
                .txt("_smtp._tls.twice.example", "v=TLSRPTv1; rua=mailto:b@twice.example")
                .txt("_smtp._tls.other.example", "v=spf1 -all");
        Path config = config(mx.port(), "{}");

        JsonNode twice = json(check(config, "twice.example", "--json")).get("tls_rpt");
        assertFalse(twice.get("valid").asBoolean());
        assertEquals(2, twice.get("records").size());
        assertTrue(twice.get("problem").asText().contains("exactly one"), twice.toString());

        dns.mx("other.example", 10, "mx.twice.example");
        JsonNode other = json(check(config, "other.example", "--json")).get("tls_rpt");
        assertFalse(other.get("valid").asBoolean());
        assertEquals("v=spf1 -all", other.get("records").get(0).asText());
    }

    @Test
    void usageAndConfigurationErrorsExitTwo() throws Exception {
        assertEquals(2, CliRun.run("policy", "check", "not a domain").exit());
        assertEquals(2, CliRun.run("policy", "check").exit());
        Path broken = Files.writeString(dir.resolve("broken.yaml"), "delivery:\n  port: many\n");
        CliRun r = CliRun.run("policy", "check", "example.com", "--config", broken.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("broken.yaml:2: delivery.port"), r.err());
    }
}
