package org.tlsrelay.smtp.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.dkim.DkimSigner;
import org.tlsrelay.core.dkim.KeyRecord;
import org.tlsrelay.core.dkim.SigningKey;
import org.tlsrelay.core.dkim.TestKeys;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.report.PreparedReport;
import org.tlsrelay.core.report.ReportTransport;
import org.tlsrelay.core.report.Rua;
import org.tlsrelay.testkit.DkimVerifier;
import org.tlsrelay.testkit.DnsStubServer;

/** RFC 8460 §3: a report sent by mail carries a DKIM signature of the reporting domain; dkimpy checks it. */
class SignedReportMailTest {
    @TempDir Path dir;

    @Test
    void theReportMailInTheSpoolIsSignedByTheSubmittersDomain() throws Exception {
        SigningKey rsa = TestKeys.rsa("example.org", "reports");
        SigningKey ed = TestKeys.ed25519("example.org", "reports-ed");
        DkimSigner signer = DkimSigner.of(List.of(rsa, ed), RelayMetrics.noop(), Clock.systemUTC());
        Instant now = Instant.parse("2026-06-02T00:10:00Z");
        PreparedReport report =
                new PreparedReport(
                        "dest.example",
                        LocalDate.ofInstant(now, ZoneOffset.UTC).minusDays(1),
                        "a1b2c3@relay.example.org",
                        "relay.example.org",
                        new byte[] {
                            0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0
                        });
        try (DnsStubServer dns = DnsStubServer.start();
                Spool spool = Spool.open(dir.resolve("spool"), Spool.Options.defaults())) {
            dns.txt(rsa.recordName(), KeyRecord.render(rsa));
            dns.txt(ed.recordName(), KeyRecord.render(ed));
            SpoolMailTransport transport =
                    new SpoolMailTransport(
                            spool,
                            "tlsrpt-noreply@relay.example.org",
                            Clock.fixed(now, ZoneOffset.UTC),
                            signer.ownMail("relay.example.org"));
            ReportTransport.Result r =
                    transport.send(
                            new Rua.Mailto("mailto:tlsrpt@dest.example", "tlsrpt@dest.example", 0),
                            report);
            assertInstanceOf(ReportTransport.Result.Sent.class, r, r.toString());
            QueuedMessage q = spool.list().get(0);
            byte[] mail = Files.readAllBytes(q.body());
            String text = new String(mail, StandardCharsets.US_ASCII);
            assertTrue(text.startsWith("DKIM-Signature: v=1; a=rsa-sha256;"), text);
            assertTrue(text.contains("TLS-Report-Domain: dest.example"), text);
            List<DkimVerifier.Verdict> v = DkimVerifier.verify(mail, dns);
            assertEquals(2, v.size(), v.toString());
            v.forEach(x -> assertTrue(x.pass(), x.toString()));
            assertEquals("example.org", v.get(0).domain());
        }
    }
}
