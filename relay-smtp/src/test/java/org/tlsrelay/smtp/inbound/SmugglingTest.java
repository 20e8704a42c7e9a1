package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SMTP smuggling (2023, "SMTP Smuggling – Spoofing E-Mails Worldwide"): a sloppy end-of-data sequence must neither
 * end the message nor let the rest of the body run as commands. Raw sockets, every variant.
 */
class SmugglingTest {
    private static final String SMUGGLED =
            "MAIL FROM:<ceo@victim.example>\r\nRCPT TO:<target@example.com>\r\nDATA\r\n"
                    + "Subject: smuggled\r\n\r\nevil\r\n";

    @TempDir Path dir;

    @ParameterizedTest(name = "end sequence {0}")
    @ValueSource(
            strings = {
                "\\n.\\n",
                "\\r\\n.\\n",
                "\\n.\\r\\n",
                "\\r.\\r",
                "\\r.\\r\\n",
                "\\n.\\r",
                "\\r\\n.\\r"
            })
    void aSloppyEndOfDataNeverEndsTheMessageAndTheRestIsNotRunAsCommands(String escaped)
            throws IOException {
        String end = escaped.replace("\\r", "\r").replace("\\n", "\n");
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            RawSmtpClient.expect(c.command("MAIL FROM:<a@example.org>"), 250);
            RawSmtpClient.expect(c.command("RCPT TO:<b@example.com>"), 250);
            RawSmtpClient.expect(c.command("DATA"), 354);
            // Everything up to the real CRLF.CRLF in one packet, as an attacker's relay would pass
            // it on.
            c.send("Subject: hi\r\n\r\nhello" + end + SMUGGLED + ".\r\n");
            assertEquals(
                    "550 5.6.0 Error: bare <CR> or <LF> received; lines must end with <CR><LF>",
                    c.reply().last());
            // The next reply belongs to NOOP: no reply was made to the smuggled MAIL/RCPT/DATA.
            assertEquals("250 2.0.0 Ok", c.command("NOOP").last());
            assertEquals(List.of(), f.files("incoming"), "nothing was queued");
        }
    }

    @Test
    void aBareLineFeedInTheHeaderIsRefusedToo() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(
                    550,
                    c.sendMessage(
                                    "a@example.org",
                                    List.of("b@example.com"),
                                    "Subject: a\nX: b\r\n\r\n")
                            .code());
            assertEquals(List.of(), f.files("incoming"));
        }
    }

    @Test
    void theServerWaitsForTheRealEndAfterASloppyOne() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            RawSmtpClient.expect(c.command("MAIL FROM:<a@example.org>"), 250);
            RawSmtpClient.expect(c.command("RCPT TO:<b@example.com>"), 250);
            RawSmtpClient.expect(c.command("DATA"), 354);
            c.send("Subject: hi\r\n\r\nhello\n.\nQUIT\r\n");
            c.timeout(300);
            assertTrue(
                    org.junit.jupiter.api.Assertions.assertThrows(
                                    java.net.SocketTimeoutException.class, c::reply)
                            != null,
                    "no reply before CRLF.CRLF, and QUIT was not run");
            c.timeout(10_000);
            c.send(".\r\n");
            assertEquals(550, c.reply().code());
            assertEquals("221 2.0.0 Bye", c.command("QUIT").last());
        }
    }

    @Test
    void aCleanMessageWithDotsInItIsAccepted() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(
                    250,
                    c.sendMessage(
                                    "a@example.org",
                                    List.of("b@example.com"),
                                    "Subject: dots\r\n\r\n..\r\n...x\r\n. \r\n")
                            .code());
        }
    }
}
