package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.testkit.TestCa;

/**
 * {@code tlsrelay config check} as an operator meets it: every mistake at once, in words, with file, line and key;
 * and what would stop {@code run} found without starting it.
 */
class ConfigCheckTest {
    private static final TestCa CA = TestCa.create("Config Check CA");

    @TempDir Path dir;

    /** The first hour of mistakes, in a real process: every error, type errors first in the file or not. */
    @Test
    void reportsEveryMistakeInPlainWords() throws Exception {
        Path f =
                Files.writeString(
                        dir.resolve("tlsrelay.yaml"),
                        """
                        server:
                          listen: 127.0.0.1:2525x
                          limits: { max-message-size: lots, max-recipients: many }
                        delivery:
                          port: "25x"
                          retry: { schedule: [5m, 5x] }
                        dns: { dnssec: yes please }
                        policy:
                          overrides:
                            example.com: { mode: test, mxs: [mx.example.com] }
                        """);
        try (RelayProcess check = RelayProcess.start("config", "check", "--config", f.toString())) {
            assertTrue(check.process.waitFor(60, TimeUnit.SECONDS));
            List<String> out = check.drain();
            assertEquals(2, check.process.exitValue(), String.join("\n", out));
            assertEquals(
                    List.of(
                            f
                                    + ":2: server.listen: \"127.0.0.1:2525x\": \"2525x\" is not a port number"
                                    + " (0-65535, 0: any free port)",
                            f
                                    + ":3: server.limits.max-message-size: \"lots\" is not a size (e.g. 50MB,"
                                    + " 512KB, 1048576)",
                            f + ":3: server.limits.max-recipients: \"many\" is not a whole number",
                            f + ":5: delivery.port: \"25x\" is not a port number (1-65535)",
                            f
                                    + ":6: delivery.retry.schedule: \"5x\" is not a duration (e.g. 30s, 5m, 12h,"
                                    + " 5d)",
                            f + ":7: dns.dnssec: \"yes please\" is not one of validate, off",
                            f
                                    + ":10: policy.overrides.example.com.mode: \"test\" is not one of enforce,"
                                    + " testing, none"),
                    out);
        }
    }

    /** What run would trip over, found without binding a port or sending a query. */
    @Test
    void checksWhatRunNeedsWithoutStarting() throws Exception {
        TestCa.Issued relay = CA.issue("relay.example.org");
        TestCa.Issued other = CA.issue("other.example.org");
        Path f =
                Files.writeString(
                        dir.resolve("tlsrelay.yaml"),
                        """
                        server:
                          listen: "192.0.2.1:2525"
                          hostname: relay.example.org
                          tls:
                            certificate: "%s"
                            private-key: "%s"
                        spool: { dir: "%s" }
                        delivery:
                          trust: { extra-ca: ["%s"] }
                        admin: { listen: "127.0.0.1:0" }
                        """
                                .formatted(
                                        relay.writeCertificatePem(dir.resolve("cert.pem")),
                                        other.writeKeyPem(dir.resolve("key.pem")),
                                        dir.resolve("data/spool"),
                                        dir.resolve("missing-ca.pem")));
        CliRun r = CliRun.run("config", "check", "--config", f.toString());
        assertEquals(2, r.exit(), r.out() + r.err());
        assertEquals(
                List.of(
                        f
                                + ":2: server.listen: 192.0.2.1 is not an address of this machine: listen on one"
                                + " of its addresses, 127.0.0.1 or 0.0.0.0",
                        f
                                + ":4: server.tls: the private key "
                                + dir.resolve("key.pem")
                                + " does not belong to the certificate "
                                + dir.resolve("cert.pem")
                                + " (the first certificate in the file must be the server's, issued for this"
                                + " key): give the key the certificate was issued for",
                        f
                                + ":9: delivery.trust.extra-ca: no such file or directory: "
                                + dir.resolve("missing-ca.pem")),
                r.err().lines().toList());
        assertFalse(Files.exists(dir.resolve("data")), "nothing was created");
    }

    @Test
    void aBareHostNameIsAWarningNotAnError() throws Exception {
        Path f =
                Files.writeString(
                        dir.resolve("tlsrelay.yaml"),
                        "server: { hostname: relay }\nspool: { dir: \"%s\" }\n"
                                .formatted(dir.resolve("spool")));
        CliRun r = CliRun.run("config", "check", "--config", f.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("OK: " + f), r.out());
        assertTrue(
                r.out()
                        .contains(
                                "\nwarning: server.hostname \"relay\" is not a fully qualified domain name"),
                r.out());
    }
}
