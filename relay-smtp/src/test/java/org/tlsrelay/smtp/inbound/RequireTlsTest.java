package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;

/**
 * REQUIRETLS on the inbound side (RFC 8689): advertised and accepted only over TLS, stored with the message; a
 * {@code TLS-Required: No} header field is noted in the envelope.
 */
class RequireTlsTest {
    @TempDir Path dir;

    private static RawSmtpClient overTls(InboundFixture f) throws IOException {
        RawSmtpClient c = f.ehlo();
        RawSmtpClient.expect(c.command("STARTTLS"), 220);
        c.startTls(f.clientTls(), "localhost");
        RawSmtpClient.expect(c.command("EHLO client.test"), 250);
        return c;
    }

    /** RCPT, DATA and the content of a transaction whose MAIL FROM was already accepted. */
    private static RawSmtpClient.Reply finish(RawSmtpClient c, String rcpt, String content)
            throws IOException {
        RawSmtpClient.expect(c.command("RCPT TO:<" + rcpt + ">"), 250);
        RawSmtpClient.expect(c.command("DATA"), 354);
        c.send(content);
        c.send(".\r\n");
        return c.reply();
    }

    private static Envelope queued(InboundFixture f, RawSmtpClient.Reply reply) throws IOException {
        QueuedMessage m = f.spool.find(InboundServerTest.queuedId(reply)).orElseThrow();
        return m.envelope();
    }

    @Test
    void requireTlsIsAdvertisedOnlyAfterStartTls() throws IOException {
        try (InboundFixture f = InboundFixture.builder().tls().start(dir);
                RawSmtpClient c = f.connect()) {
            RawSmtpClient.Reply clear = c.command("EHLO client.test");
            assertFalse(clear.text().contains("REQUIRETLS"), clear.text());
            assertTrue(clear.text().contains("STARTTLS"), clear.text());
            RawSmtpClient.expect(c.command("STARTTLS"), 220);
            c.startTls(f.clientTls(), "localhost");
            RawSmtpClient.Reply tls = c.command("EHLO client.test");
            assertTrue(
                    tls.lines().stream().anyMatch(l -> l.matches("250[- ]REQUIRETLS")), tls.text());
        }
    }

    @Test
    void requireTlsInClearTextIsRefusedAndNothingIsStarted() throws IOException {
        try (InboundFixture f = InboundFixture.builder().tls().start(dir);
                RawSmtpClient c = f.ehlo()) {
            RawSmtpClient.Reply r = c.command("MAIL FROM:<a@example.org> REQUIRETLS");
            assertEquals(530, r.code(), r.text());
            assertTrue(r.last().startsWith("530 5.7.10 "), r.text());
            // no transaction was started: a plain MAIL FROM is accepted next, and RCPT without MAIL
            // is not
            RawSmtpClient.expect(c.command("MAIL FROM:<a@example.org>"), 250);
            RawSmtpClient.Reply sent = finish(c, "b@example.com", "Subject: plain\r\n\r\nhi\r\n");
            assertFalse(queued(f, sent).requireTls());
        }
        try (InboundFixture f = InboundFixture.builder().start(dir.resolve("no-tls"));
                RawSmtpClient c = f.ehlo()) {
            assertEquals(
                    530,
                    c.command("MAIL FROM:<a@example.org> REQUIRETLS").code(),
                    "no TLS on offer at all");
        }
    }

    @Test
    void requireTlsOverTlsIsStoredWithTheMessage() throws IOException {
        try (InboundFixture f = InboundFixture.builder().tls().start(dir);
                RawSmtpClient c = overTls(f)) {
            assertEquals(501, c.command("MAIL FROM:<a@example.org> REQUIRETLS=yes").code());
            RawSmtpClient.expect(c.command("MAIL FROM:<a@example.org> requiretls"), 250);
            RawSmtpClient.Reply sent =
                    finish(
                            c,
                            "b@example.com",
                            "Subject: secret\r\nTLS-Required: No\r\n\r\nthe parameter wins over the header field\r\n");
            Envelope e = queued(f, sent);
            assertTrue(e.requireTls());
            assertTrue(e.tlsRequiredNo());
            assertFalse(e.tlsPolicyOptional(), "RFC 8689 §4.1: REQUIRETLS wins");

            // the flag belongs to one transaction only
            RawSmtpClient.Reply next =
                    c.sendMessage("a@example.org", List.of("b@example.com"), "Subject: x\r\n\r\n");
            assertFalse(queued(f, next).requireTls());
        }
    }

    @Test
    void tlsRequiredNoHeaderIsRecorded() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            RawSmtpClient.Reply sent =
                    c.sendMessage(
                            "a@example.org",
                            List.of("b@example.com"),
                            "From: a@example.org\r\nTLS-Required: No\r\nSubject: not secret\r\n\r\nbody\r\n");
            Envelope e = queued(f, sent);
            assertTrue(e.tlsRequiredNo());
            assertFalse(e.requireTls());
            assertTrue(e.tlsPolicyOptional());
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(
            delimiter = '|',
            value = {
                "TLS-Required: No\\r\\n\\r\\nbody                | true",
                "tls-required:no\\r\\n\\r\\n                     | true",
                "Subject: x\\r\\nTLS-Required:\\r\\n  NO\\r\\n\\r\\n | true",
                "TLS-Required : No \\r\\nSubject: y\\r\\n\\r\\n    | true",
                "TLS-Required: No                                 | true",
                "Subject: x\\r\\n\\r\\nTLS-Required: No\\r\\n    | false",
                "X-TLS-Required: No\\r\\n\\r\\n                  | false",
                "TLS-Required: Yes\\r\\n\\r\\n                   | false",
                "TLS-Required: No thanks\\r\\n\\r\\n             | false",
                "Subject: TLS-Required: No\\r\\n\\r\\n           | false",
            })
    void scannerFindsTlsRequiredNoInTheHeaderSectionOnly(String message, String expected)
            throws IOException {
        String text = message.strip().replace("\\r\\n", "\r\n");
        boolean want = Boolean.parseBoolean(expected.strip());
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        HeaderScanner s = new HeaderScanner(sink);
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        s.write(bytes, 0, Math.min(3, bytes.length));
        s.write(bytes, Math.min(3, bytes.length), bytes.length - Math.min(3, bytes.length));
        assertEquals(want, s.tlsRequiredNo(), text);
        assertEquals(text, sink.toString(StandardCharsets.US_ASCII), "passed through unchanged");
    }

    @Test
    void jakartaMailOverStartTlsSendsRequireTls() throws Exception {
        try (InboundFixture f = InboundFixture.builder().tls().start(dir)) {
            Properties p = new Properties();
            p.put("mail.smtp.host", "127.0.0.1");
            p.put("mail.smtp.port", String.valueOf(f.server.port()));
            p.put("mail.smtp.localhost", "client.test");
            p.put("mail.smtp.starttls.enable", "true");
            p.put("mail.smtp.starttls.required", "true");
            p.put("mail.smtp.ssl.checkserveridentity", "true");
            p.put("mail.smtp.ssl.socketFactory", f.clientTls().getSocketFactory());
            p.put("mail.smtp.mailextension", "REQUIRETLS"); // appended to MAIL FROM
            p.put("mail.smtp.connectiontimeout", "5000");
            p.put("mail.smtp.timeout", "10000");
            MimeMessage m = new MimeMessage(Session.getInstance(p));
            m.setFrom(new InternetAddress("app@example.org"));
            m.setRecipients(Message.RecipientType.TO, "friend@example.com");
            m.setSubject("must stay encrypted");
            m.setText("REQUIRETLS end to end on the inbound side.");
            Transport.send(m);
            List<QueuedMessage> queued = f.spool.list();
            assertEquals(1, queued.size());
            assertTrue(queued.get(0).envelope().requireTls());
            assertTrue(queued.get(0).envelope().source().tls().startsWith("TLSv1."));
        }
    }
}
