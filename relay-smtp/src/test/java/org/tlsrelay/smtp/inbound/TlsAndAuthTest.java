package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.auth.PasswordHash;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.queue.QueuedMessage;

/** STARTTLS and AUTH: a client outside server.networks relays only after AUTH, which needs TLS first. */
class TlsAndAuthTest {
    private static final String PBKDF2 = PasswordHash.pbkdf2("app2-secret".toCharArray(), 10_000);
    private static final RelayConfig.User APP1 =
            new RelayConfig.User("app1", PasswordHash.bcrypt("app1-secret".toCharArray(), 4));
    private static final RelayConfig.User APP2 = new RelayConfig.User("app2", PBKDF2);

    @TempDir Path dir;

    private InboundFixture start() throws IOException {
        return InboundFixture.builder().networks("10.0.0.0/8").tls().users(APP1, APP2).start(dir);
    }

    private static String plain(String user, String password) {
        return Base64.getEncoder()
                .encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void authIsNeitherOfferedNorAcceptedBeforeStartTls() throws IOException {
        try (InboundFixture f = start();
                RawSmtpClient c = f.connect()) {
            RawSmtpClient.Reply ehlo = c.command("EHLO client.test");
            assertTrue(ehlo.lines().contains("250-STARTTLS"), ehlo.text());
            assertFalse(ehlo.text().contains("AUTH"), ehlo.text());
            assertEquals(
                    "538 5.7.11 Encryption required for requested authentication mechanism",
                    c.command("AUTH PLAIN " + plain("app1", "app1-secret")).last());
            assertEquals(250, c.command("MAIL FROM:<a@example.org>").code());
            assertEquals(554, c.command("RCPT TO:<b@example.com>").code());
        }
    }

    @Test
    void afterStartTlsAuthPlainAndLoginLetAnOutsideClientRelay() throws IOException {
        try (InboundFixture f = start();
                RawSmtpClient c = f.ehlo()) {
            assertEquals("220 2.0.0 Ready to start TLS", c.command("STARTTLS").last());
            c.startTls(f.clientTls(), "localhost");
            RawSmtpClient.Reply ehlo = c.command("EHLO client.test");
            assertTrue(ehlo.lines().contains("250-AUTH PLAIN LOGIN"), ehlo.text());
            assertFalse(ehlo.text().contains("STARTTLS"));
            assertTrue(((SSLSocket) c.socket()).getSession().getProtocol().matches("TLSv1\\.[23]"));
            assertEquals(250, c.command("MAIL FROM:<a@example.org>").code());
            assertEquals(
                    554,
                    c.command("RCPT TO:<b@example.com>").code(),
                    "TLS alone does not allow relaying");
            assertEquals(250, c.command("RSET").code());
            assertEquals(
                    "235 2.7.0 Authentication successful",
                    c.command("AUTH PLAIN " + plain("app1", "app1-secret")).last());
            String id =
                    InboundServerTest.queuedId(
                            c.sendMessage(
                                    "a@example.org",
                                    List.of("b@example.com"),
                                    "Subject: over tls\r\n\r\n"));
            QueuedMessage m = f.spool.find(id).orElseThrow();
            assertEquals("app1", m.envelope().source().user());
            assertTrue(m.envelope().source().tls().startsWith("TLSv1."));
            assertTrue(Files.readString(m.body()).contains("with ESMTPSA id " + id));
        }
        try (InboundFixture f =
                        InboundFixture.builder()
                                .networks("10.0.0.0/8")
                                .tls()
                                .users(APP1, APP2)
                                .start(Files.createDirectories(dir.resolve("login")));
                RawSmtpClient c = f.ehlo()) {
            c.command("STARTTLS");
            c.startTls(f.clientTls(), "localhost");
            c.command("EHLO client.test");
            assertEquals("334 VXNlcm5hbWU6", c.command("AUTH LOGIN").last());
            assertEquals("334 UGFzc3dvcmQ6", c.command(b64("app2")).last());
            assertEquals(235, c.command(b64("app2-secret")).code(), "PBKDF2 user");
            assertEquals(250, c.command("MAIL FROM:<a@example.org>").code());
            assertEquals(250, c.command("RCPT TO:<b@example.com>").code());
        }
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void wrongPasswordsAreRefusedAndTheThirdFailureDropsTheConnection() throws IOException {
        try (InboundFixture f = start();
                RawSmtpClient c = f.ehlo()) {
            c.command("STARTTLS");
            c.startTls(f.clientTls(), "localhost");
            c.command("EHLO client.test");
            assertEquals(
                    "535 5.7.8 Error: authentication failed",
                    c.command("AUTH PLAIN " + plain("app1", "x")).last());
            assertEquals(535, c.command("AUTH PLAIN " + plain("nobody", "app1-secret")).code());
            assertEquals(421, c.command("AUTH PLAIN " + plain("app1", "y")).code());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void plainTextPipelinedAfterStartTlsIsDiscarded() throws IOException {
        try (InboundFixture f = start();
                RawSmtpClient c = f.ehlo()) {
            RawSmtpClient.expect(c.command("MAIL FROM:<a@example.org>"), 250);
            // The CVE-2011-0411 attack: commands injected in the same packet as STARTTLS.
            c.send("STARTTLS\r\nRSET\r\nMAIL FROM:<injected@example.org>\r\n");
            assertEquals(220, c.reply().code());
            c.startTls(f.clientTls(), "localhost");
            RawSmtpClient.Reply first = c.command("EHLO client.test");
            assertEquals(
                    "250-relay.test",
                    first.lines().get(0),
                    "the first reply over TLS answers our EHLO");
            assertEquals(
                    "503 5.5.1 Error: need MAIL command",
                    c.command("RCPT TO:<b@example.com>").last(),
                    "neither the injected MAIL nor the pre-TLS transaction survived");
        }
    }

    @Test
    void oldTlsVersionsAreRefused() throws Exception {
        try (InboundFixture f = start();
                RawSmtpClient c = f.ehlo()) {
            c.command("STARTTLS");
            SSLContext ctx = f.clientTls();
            SSLSocket s =
                    (SSLSocket)
                            ctx.getSocketFactory()
                                    .createSocket(c.socket(), "localhost", f.server.port(), true);
            s.setEnabledProtocols(new String[] {"TLSv1.1"});
            assertThrows(IOException.class, s::startHandshake);
        }
    }

    @Test
    void angusMailRelaysWithStartTlsAndAuthCheckingTheServerName() throws Exception {
        try (InboundFixture f = start()) {
            Session session = Session.getInstance(angus(f));
            MimeMessage m = new MimeMessage(session);
            m.setFrom(new InternetAddress("app@example.org"));
            m.setRecipients(Message.RecipientType.TO, "friend@example.com");
            m.setSubject("via Angus");
            m.setText("Hello over STARTTLS.\n.\nA line with a dot.");
            Transport.send(m, "app1", "app1-secret");
            List<QueuedMessage> queued = f.spool.list();
            assertEquals(1, queued.size());
            String body = Files.readString(queued.get(0).body());
            assertTrue(body.contains("Subject: via Angus\r\n"), body);
            assertTrue(body.contains("\r\n.\r\nA line with a dot."), body);
            assertEquals(
                    "friend@example.com", queued.get(0).envelope().recipients().get(0).address());

            MessagingException e =
                    assertThrows(
                            MessagingException.class, () -> Transport.send(m, "app1", "wrong"));
            assertTrue(e instanceof AuthenticationFailedException, e.toString());
        }
    }

    private static Properties angus(InboundFixture f) {
        Properties p = new Properties();
        p.put("mail.smtp.host", "127.0.0.1");
        p.put("mail.smtp.port", String.valueOf(f.server.port()));
        p.put("mail.smtp.localhost", "client.test");
        p.put("mail.smtp.auth", "true");
        p.put("mail.smtp.starttls.enable", "true");
        p.put("mail.smtp.starttls.required", "true");
        p.put("mail.smtp.ssl.checkserveridentity", "true");
        p.put("mail.smtp.ssl.socketFactory", f.clientTls().getSocketFactory());
        p.put("mail.smtp.connectiontimeout", "5000");
        p.put("mail.smtp.timeout", "10000");
        return p;
    }

    @Test
    void aFailedHandshakeEndsTheSession() throws IOException {
        try (InboundFixture f = start();
                RawSmtpClient c = f.ehlo()) {
            c.command("STARTTLS");
            SSLContext untrusting = org.tlsrelay.testkit.TestCa.create("other CA").clientContext();
            assertThrows(SSLHandshakeException.class, () -> c.startTls(untrusting, "localhost"));
        }
    }
}
