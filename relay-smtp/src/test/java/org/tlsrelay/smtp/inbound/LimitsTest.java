package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LimitsTest {
    @TempDir Path dir;

    @Test
    void aDeclaredSizeAboveTheLimitIsRefusedUpFront() throws IOException {
        try (InboundFixture f = InboundFixture.builder().maxSize("10KB").start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(
                    "552 5.3.4 Message size exceeds fixed maximum message size",
                    c.command("MAIL FROM:<a@example.org> SIZE=10241").last());
            assertEquals(
                    552, c.command("MAIL FROM:<a@example.org> SIZE=99999999999999999999").code());
            assertEquals(250, c.command("MAIL FROM:<a@example.org> SIZE=10240").code());
        }
    }

    @Test
    void anOversizedMessageIsReadToItsEndThenRefused() throws IOException {
        try (InboundFixture f = InboundFixture.builder().maxSize("10KB").start(dir);
                RawSmtpClient c = f.ehlo()) {
            String body =
                    ("y".repeat(78) + "\r\n").repeat(200)
                            + "RSET\r\nMAIL FROM:<smuggled@example.org>\r\n";
            RawSmtpClient.Reply r = c.sendMessage("a@example.org", List.of("b@example.com"), body);
            assertEquals(
                    "552 5.3.4 Error: message size exceeds fixed maximum message size", r.last());
            assertEquals(
                    "250 2.0.0 Ok",
                    c.command("NOOP").last(),
                    "the rest of the body was not run as commands");
            assertEquals(List.of(), f.files("incoming"));
            assertEquals(
                    250,
                    c.sendMessage(
                                    "a@example.org",
                                    List.of("b@example.com"),
                                    "Subject: small\r\n\r\n")
                            .code());
        }
    }

    @Test
    void recipientsBeyondTheLimitGet452() throws IOException {
        try (InboundFixture f = InboundFixture.builder().maxRecipients(2).start(dir);
                RawSmtpClient c = f.ehlo()) {
            c.command("MAIL FROM:<a@example.org>");
            assertEquals(250, c.command("RCPT TO:<b1@example.com>").code());
            assertEquals(250, c.command("RCPT TO:<b2@example.com>").code());
            assertEquals(
                    "452 4.5.3 Error: too many recipients",
                    c.command("RCPT TO:<b3@example.com>").last());
            RawSmtpClient.expect(c.command("DATA"), 354);
            String id = InboundServerTest.queuedId(c.send("Subject: x\r\n\r\n.\r\n").reply());
            assertEquals(2, f.spool.find(id).orElseThrow().envelope().recipients().size());
        }
    }

    @Test
    void connectionsBeyondTheLimitAreTurnedAway() throws IOException {
        try (InboundFixture f = InboundFixture.builder().maxConnections(2).start(dir);
                RawSmtpClient a = f.ehlo();
                RawSmtpClient b = f.ehlo();
                RawSmtpClient c = new RawSmtpClient(f.address())) {
            assertEquals(
                    "421 4.7.0 relay.test Error: too many connections, try again later",
                    c.reply().last());
            assertTrue(c.closedByServer());
            assertEquals(250, a.command("NOOP").code());
            b.command("QUIT");
            assertTrue(b.closedByServer());
            // The slot is free again once the server has seen the session end.
            long until = System.nanoTime() + 10_000_000_000L;
            RawSmtpClient.Reply r;
            do {
                try (RawSmtpClient d = new RawSmtpClient(f.address())) {
                    r = d.reply();
                }
            } while (r.code() == 421 && System.nanoTime() < until);
            assertEquals(220, r.code());
        }
    }

    @Test
    void anIdleClientIsDisconnectedAfterTheCommandTimeout() throws IOException {
        try (InboundFixture f =
                        InboundFixture.builder()
                                .timeouts(Duration.ofMillis(300), Duration.ofSeconds(30))
                                .start(dir);
                RawSmtpClient c = f.ehlo()) {
            long t0 = System.nanoTime();
            assertEquals(421, c.reply().code());
            assertTrue(c.closedByServer());
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
        }
    }

    @Test
    void aSlowDataPhaseIsCutAtTheDataTimeout() throws IOException {
        try (InboundFixture f =
                        InboundFixture.builder()
                                .timeouts(Duration.ofSeconds(30), Duration.ofMillis(400))
                                .start(dir);
                RawSmtpClient c = f.ehlo()) {
            c.command("MAIL FROM:<a@example.org>");
            c.command("RCPT TO:<b@example.com>");
            RawSmtpClient.expect(c.command("DATA"), 354);
            c.send("Subject: slow\r\n");
            RawSmtpClient.Reply r = c.reply();
            assertEquals(421, r.code(), r.text());
            assertTrue(r.last().startsWith("421 4.4.2"), r.text());
            assertTrue(c.closedByServer());
            assertEquals(List.of(), f.files("incoming"));
        }
    }

    @Test
    void lineLengthIsLimitedInCommandsAndInData() throws IOException {
        try (InboundFixture f = InboundFixture.builder().maxLineLength(200).start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(
                    "500 5.5.2 Line too long",
                    c.command("MAIL FROM:<" + "a".repeat(60) + "@" + "b".repeat(150) + ".example>")
                            .last());
            RawSmtpClient.Reply r =
                    c.sendMessage(
                            "a@example.org",
                            List.of("b@example.com"),
                            "Subject: long\r\n\r\n" + "z".repeat(201) + "\r\n");
            assertEquals("554 5.6.0 Error: message has a line longer than 200 octets", r.last());
            assertEquals(
                    250,
                    c.sendMessage(
                                    "a@example.org",
                                    List.of("b@example.com"),
                                    "Subject: ok\r\n\r\n" + "z".repeat(200) + "\r\n")
                            .code());
        }
    }
}
