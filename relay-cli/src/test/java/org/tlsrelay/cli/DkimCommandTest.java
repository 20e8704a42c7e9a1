package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.testkit.DnsStubServer;

/** {@code dkim keygen} and {@code dkim check}: a key made, published in a DNS server on loopback, and checked. */
class DkimCommandTest {
    @TempDir Path dir;
    DnsStubServer dns;

    @BeforeEach
    void startDns() throws Exception {
        dns = DnsStubServer.start();
    }

    @AfterEach
    void stopDns() {
        dns.close();
    }

    private Path config(String keys) throws Exception {
        return Files.writeString(
                dir.resolve("tlsrelay.yaml"),
                "dns:\n  servers: [\"127.0.0.1:"
                        + dns.port()
                        + "\"]\n  timeout: 2s\n  dnssec: off\ndkim:\n  keys:\n"
                        + keys);
    }

    private static String key(String domain, String selector, Path file) {
        return "    - { domain: "
                + domain
                + ", selector: "
                + selector
                + ", private-key: \""
                + file
                + "\" }\n";
    }

    @Test
    void keygenThenCheckRoundTripThroughDns() throws Exception {
        Path rsa = DkimEndToEndTest.keygen(dir, dns, "example.org", "rsa2026", "rsa");
        assertEquals(
                "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(rsa)));
        Path ed = DkimEndToEndTest.keygen(dir, dns, "example.org", "ed2026", "ed25519");
        Path cfg = config(key("example.org", "rsa2026", rsa) + key("example.org", "ed2026", ed));

        CliRun all = CliRun.run("dkim", "check", "--config", cfg.toString());
        assertEquals(0, all.exit(), all.out() + all.err());
        assertEquals(
                2,
                all.out()
                        .lines()
                        .filter(l -> l.contains(": MATCH: the published key matches"))
                        .count(),
                all.out());
        assertTrue(
                all.out()
                        .contains(
                                "example.org/rsa2026 (rsa-sha256, 2048 bits) at rsa2026._domainkey.example.org"),
                all.out());

        CliRun one =
                CliRun.run(
                        "dkim",
                        "check",
                        "--config",
                        cfg.toString(),
                        "--domain",
                        "Example.org",
                        "--selector",
                        "ed2026",
                        "--json");
        assertEquals(0, one.exit(), one.err());
        JsonNode j = new ObjectMapper().readTree(one.out());
        assertTrue(j.get("ok").asBoolean());
        assertEquals(1, j.get("keys").size());
        JsonNode k = j.get("keys").get(0);
        assertEquals("ed25519-sha256", k.get("algorithm").asText());
        assertEquals("ed2026._domainkey.example.org", k.get("name").asText());
        assertEquals("match", k.get("status").asText());
        assertEquals(k.get("expected").asText(), k.get("published").get(0).asText());
    }

    @Test
    void aMissingOrDifferentRecordExitsOneAndSaysWhatToPublish() throws Exception {
        Path rsa = DkimEndToEndTest.keygen(dir, dns, "example.org", "rsa2026", "rsa");
        Path cfg = config(key("example.org", "rsa2026", rsa) + key("example.org", "gone", rsa));
        CliRun r = CliRun.run("dkim", "check", "--config", cfg.toString(), "--json");
        assertEquals(1, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertFalse(j.get("ok").asBoolean());
        assertEquals("match", j.get("keys").get(0).get("status").asText());
        assertEquals("missing", j.get("keys").get(1).get("status").asText());
        assertTrue(
                j.get("keys").get(1).get("detail").asText().contains("publish: v=DKIM1; k=rsa; p="),
                r.out());

        // another key published under the name: a mismatch
        dns.remove("rsa2026._domainkey.example.org");
        DkimEndToEndTest.keygen(
                Files.createDirectory(dir.resolve("other")),
                dns,
                "example.org",
                "rsa2026",
                "ed25519");
        r =
                CliRun.run(
                        "dkim",
                        "check",
                        "--config",
                        cfg.toString(),
                        "--domain",
                        "example.org",
                        "--selector",
                        "rsa2026");
        assertEquals(1, r.exit(), r.err());
        assertTrue(
                r.out()
                        .contains(
                                ": MISMATCH: the record publishes a key of type ed25519, not this one"),
                r.out());

        // DNS that does not answer: a failure, not a verdict on the key
        dns.servfail("rsa2026._domainkey.example.org");
        r =
                CliRun.run(
                        "dkim",
                        "check",
                        "--config",
                        cfg.toString(),
                        "--domain",
                        "example.org",
                        "--selector",
                        "rsa2026");
        assertEquals(1, r.exit());
        assertTrue(r.out().contains(": DNS-ERROR: DNS look-up failed"), r.out());
    }

    @Test
    void usageAndConfigurationErrorsExitTwo() throws Exception {
        Path file = dir.resolve("k.pem");
        CliRun r =
                CliRun.run(
                        "dkim",
                        "keygen",
                        "--domain",
                        "exa mple.org",
                        "--selector",
                        "s",
                        "--out",
                        file.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--domain: \"exa mple.org\" is not a domain name"), r.err());
        r =
                CliRun.run(
                        "dkim",
                        "keygen",
                        "--domain",
                        "example.org",
                        "--selector",
                        "s",
                        "--bits",
                        "1024",
                        "--out",
                        file.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--bits: 1024 is not between 2048 and 4096"), r.err());
        r =
                CliRun.run(
                        "dkim",
                        "keygen",
                        "--domain",
                        "example.org",
                        "--selector",
                        "s",
                        "--algorithm",
                        "ed25519",
                        "--bits",
                        "2048",
                        "--out",
                        file.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--bits applies to RSA keys only"), r.err());
        r =
                CliRun.run(
                        "dkim",
                        "keygen",
                        "--domain",
                        "example.org",
                        "--selector",
                        "s",
                        "--algorithm",
                        "dsa",
                        "--out",
                        file.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--algorithm: \"dsa\" is not rsa or ed25519"), r.err());
        assertFalse(Files.exists(file));

        Files.writeString(file, "precious");
        r =
                CliRun.run(
                        "dkim",
                        "keygen",
                        "--domain",
                        "example.org",
                        "--selector",
                        "s",
                        "--algorithm",
                        "ed25519",
                        "--out",
                        file.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("exists: keys are never overwritten"), r.err());
        assertEquals("precious", Files.readString(file));

        Path cfg =
                config(
                        "    - { domain: example.org, selector: s1, private-key: \""
                                + dir.resolve("none.pem")
                                + "\" }\n");
        r = CliRun.run("dkim", "check", "--config", cfg.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("tlsrelay.yaml:7: dkim.keys.private-key: "), r.err());
        assertTrue(r.err().contains("none.pem: no such file"), r.err());

        Path ed = DkimEndToEndTest.keygen(dir, dns, "example.org", "ed2026", "ed25519");
        cfg = config(key("example.org", "ed2026", ed));
        r =
                CliRun.run(
                        "dkim",
                        "check",
                        "--config",
                        cfg.toString(),
                        "--domain",
                        "example.org",
                        "--selector",
                        "other");
        assertEquals(2, r.exit());
        assertTrue(
                r.err().contains("dkim.keys has no key for domain example.org with selector other"),
                r.err());
        r = CliRun.run("dkim", "check", "--config", cfg.toString(), "--domain", "example.org");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--domain and --selector go together"), r.err());
    }
}
