package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.config.RelayConfig;

/**
 * Issue 11 §4: after {@code max-errors} error replies (5xx; 20 by default, as Postfix's
 * {@code smtpd_hard_error_limit}) the session gets {@code 421 4.7.0} and ends; nothing pipelined after that is run.
 */
class ErrorLimitTest {
    @TempDir Path dir;

    @Test
    void theTwentiethErrorEndsTheSession() throws IOException {
        assertEquals(20, RelayConfig.Limits.defaults().maxErrors());
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            for (int i = 1; i < 20; i++) {
                assertEquals(
                        "500 5.5.2 Error: command not recognized", c.command("XYZZY " + i).last());
            }
            assertEquals(250, c.command("NOOP").code(), "positive replies do not count");
            assertEquals("500 5.5.2 Error: command not recognized", c.command("XYZZY 20").last());
            assertEquals("421 4.7.0 relay.test Error: too many errors", c.reply().last());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void commandsPipelinedAfterTheLimitAreNeverRun() throws IOException {
        try (InboundFixture f = InboundFixture.builder().maxErrors(3).start(dir);
                RawSmtpClient c = f.ehlo()) {
            // Refused recipients count too: a dictionary attack ends like any other.
            c.send(
                    "RCPT TO:<b@example.com>\r\n" // 503: no MAIL yet
                            + "MAIL FROM:<postmaster>\r\n" // 553: no domain
                            + "VRFY bob\r\n" // 502
                            + "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
                            + "Subject: smuggled\r\n\r\nnever queued\r\n.\r\n");
            assertEquals(503, c.reply().code());
            assertEquals(553, c.reply().code());
            assertEquals(502, c.reply().code());
            assertEquals("421 4.7.0 relay.test Error: too many errors", c.reply().last());
            assertTrue(c.closedByServer(), "no reply to what came after");
            assertEquals(List.of(), f.spool.list());
        }
    }
}
