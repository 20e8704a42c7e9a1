package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.testkit.DnsStubServer;

/**
 * {@code dns.dnssec: validate} behind a resolver without DNSSEC (here a plain stub): a command such as {@code policy
 * check} shows each failed look-up in its own output and writes at most one WARN line that says what it means and
 * what to do; no ERROR, however many look-ups fail.
 */
class DnssecCommandWarningTest {
    @TempDir Path dir;

    @Test
    void policyCheckWarnsOnceAndNeverLogsAnError() throws Exception {
        try (DnsStubServer dns = DnsStubServer.start()) {
            dns.mx("example.test", 10, "mx1.example.test")
                    .mx("example.test", 20, "mx2.example.test")
                    .a("mx1.example.test", "127.0.0.1")
                    .a("mx2.example.test", "127.0.0.1");
            Path config =
                    Files.writeString(
                            dir.resolve("tlsrelay.yaml"),
                            """
                            spool: { dir: "%s" }
                            delivery: { port: 9, connect-timeout: 2s }
                            dns: { servers: ["%s"], timeout: 2s, dnssec: validate }
                            policy: { mta-sts: { enabled: false } }
                            """
                                    .formatted(dir.resolve("spool"), dns.address()));
            try (RelayProcess check =
                    RelayProcess.start(
                            "policy", "check", "example.test", "--config", config.toString())) {
                assertTrue(check.process.waitFor(60, TimeUnit.SECONDS), "finished");
                List<String> out = check.drain();
                String all = String.join("\n", out);
                List<String> warnings = out.stream().filter(l -> l.contains(" WARN ")).toList();
                assertEquals(1, warnings.size(), all);
                assertTrue(
                        warnings.get(0).contains("DNSSEC: ")
                                && warnings.get(0).contains("tlsrelay config check --probe-dns")
                                && warnings.get(0).contains("dns.dnssec: off"),
                        warnings.get(0));
                assertTrue(out.stream().noneMatch(l -> l.contains(" ERROR ")), all);
                assertTrue(all.contains("validated MX look-up failed") || all.contains("DNS"), all);
            }
        }
    }
}
