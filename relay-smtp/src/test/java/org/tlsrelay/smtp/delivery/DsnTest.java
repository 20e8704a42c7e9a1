package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jakarta.mail.BodyPart;
import jakarta.mail.Session;
import jakarta.mail.internet.ContentType;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;

/** DSNs as RFC 3464 and RFC 6522 define them, parsed back with Jakarta Mail. */
class DsnTest {
    private static final Instant T = Instant.parse("2025-03-01T10:00:00Z");
    private static final String ORIGINAL =
            "From: alice@sender.test\r\nSubject: hello\r\n\r\nthe body\r\n";

    @TempDir Path dir;

    private Envelope envelope(Envelope.Ret ret, String envid, RecipientStatus... rcpts) {
        return Envelope.accepted(
                "1j1bnpmh799glg",
                T,
                "alice@sender.test",
                List.of(rcpts),
                Envelope.BodyType.UNSPECIFIED,
                false,
                ret,
                envid,
                Envelope.Source.local());
    }

    private MimeMessage parse(byte[] dsn) throws Exception {
        return new MimeMessage(
                Session.getInstance(new Properties()), new ByteArrayInputStream(dsn));
    }

    private static String text(BodyPart part) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        part.getDataHandler().writeTo(out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aFailureReportHasThreePartsWithTheDeliveryStatusFields() throws Exception {
        Path body = Files.writeString(dir.resolve("m.eml"), ORIGINAL);
        RecipientStatus bob =
                RecipientStatus.pending("bob@dest.test", Set.of(), "rfc822;Bob@Dest.test", T);
        Envelope env = envelope(Envelope.Ret.UNSPECIFIED, "env-1", bob);

        MimeMessage msg =
                parse(
                        Dsn.build(
                                "relay.test",
                                env,
                                body,
                                List.of(
                                        new Dsn.Entry(
                                                bob,
                                                Dsn.Action.FAILED,
                                                "550 5.1.1 no such user",
                                                "mx.dest.test",
                                                false)),
                                T.plusSeconds(60)));

        ContentType type = new ContentType(msg.getContentType());
        assertEquals("multipart/report", type.getBaseType());
        assertEquals("delivery-status", type.getParameter("report-type"));
        assertEquals("<alice@sender.test>", msg.getHeader("To")[0]);
        assertTrue(msg.getFrom()[0].toString().contains("MAILER-DAEMON@relay.test"));
        assertEquals("auto-replied", msg.getHeader("Auto-Submitted")[0]);
        MimeMultipart parts = (MimeMultipart) msg.getContent();
        assertEquals(3, parts.getCount());
        assertTrue(parts.getBodyPart(0).isMimeType("text/plain"));
        assertTrue(text(parts.getBodyPart(0)).contains("550 5.1.1 no such user"));
        assertTrue(parts.getBodyPart(1).isMimeType("message/delivery-status"));
        String status = text(parts.getBodyPart(1));
        assertTrue(status.startsWith("Reporting-MTA: dns; relay.test\r\n"), status);
        assertTrue(status.contains("Original-Envelope-Id: env-1\r\n"), status);
        assertTrue(status.contains("Arrival-Date: Sat, 1 Mar 2025 10:00:00 +0000\r\n"), status);
        assertTrue(
                status.contains(
                        "\r\n\r\nOriginal-Recipient: rfc822;Bob@Dest.test\r\nFinal-Recipient: rfc822; "
                                + "bob@dest.test\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.dest.test\r\n"
                                + "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"),
                status);
        assertTrue(parts.getBodyPart(2).isMimeType("message/rfc822"));
        assertTrue(
                text(parts.getBodyPart(2)).contains("the body"),
                "RET unspecified: the whole small message");
    }

    @Test
    void retHdrsReturnsTheHeaderOnly() throws Exception {
        Path body = Files.writeString(dir.resolve("m.eml"), ORIGINAL);
        RecipientStatus bob = RecipientStatus.pending("bob@dest.test", Set.of(), "", T);
        byte[] dsn =
                Dsn.build(
                        "relay.test",
                        envelope(Envelope.Ret.HDRS, "", bob),
                        body,
                        List.of(
                                new Dsn.Entry(
                                        bob, Dsn.Action.FAILED, "556 5.1.10 no mail", "", false)),
                        T);
        MimeMultipart parts = (MimeMultipart) parse(dsn).getContent();
        assertTrue(parts.getBodyPart(2).isMimeType("text/rfc822-headers"));
        String returned = text(parts.getBodyPart(2));
        assertTrue(returned.contains("Subject: hello"));
        assertFalse(returned.contains("the body"));
        assertFalse(text(parts.getBodyPart(1)).contains("Original-Envelope-Id"));
    }

    @Test
    void anExpiredRecipientKeepsItsTemporaryStatusAndARelayedOneGetsTheHeaderOnly()
            throws Exception {
        Path body = Files.writeString(dir.resolve("m.eml"), ORIGINAL);
        RecipientStatus bob = RecipientStatus.pending("bob@dest.test", Set.of(), "", T);
        RecipientStatus carol =
                RecipientStatus.pending(
                        "carol@dest.test", Set.of(RecipientStatus.Notify.SUCCESS), "", T);
        Envelope env = envelope(Envelope.Ret.FULL, "", bob, carol);
        String expired =
                text(
                        ((MimeMultipart)
                                        parse(
                                                        Dsn.build(
                                                                "relay.test",
                                                                env,
                                                                body,
                                                                List.of(
                                                                        new Dsn.Entry(
                                                                                bob,
                                                                                Dsn.Action.FAILED,
                                                                                "451 4.7.5 refused by policy",
                                                                                "",
                                                                                true)),
                                                                T))
                                                .getContent())
                                .getBodyPart(1));
        assertTrue(expired.contains("Action: failed\r\nStatus: 4.7.5\r\n"), expired);
        assertTrue(expired.contains("Diagnostic-Code: smtp; 451 4.7.5 refused by policy"), expired);

        MimeMessage relayed =
                parse(
                        Dsn.build(
                                "relay.test",
                                env,
                                body,
                                List.of(
                                        new Dsn.Entry(
                                                carol,
                                                Dsn.Action.RELAYED,
                                                "250 2.0.0 Ok",
                                                "mx.dest.test",
                                                false)),
                                T));
        assertEquals("Successful Mail Delivery Report", relayed.getSubject());
        MimeMultipart parts = (MimeMultipart) relayed.getContent();
        assertTrue(text(parts.getBodyPart(1)).contains("Action: relayed\r\nStatus: 2.0.0\r\n"));
        assertTrue(
                parts.getBodyPart(2).isMimeType("text/rfc822-headers"),
                "success reports carry the header");
    }

    @Test
    void neverForTheNullSender() throws Exception {
        Path body = Files.writeString(dir.resolve("m.eml"), ORIGINAL);
        RecipientStatus bob = RecipientStatus.pending("bob@dest.test", Set.of(), "", T);
        Envelope bounce =
                Envelope.accepted(
                        "1j1bnpmh799glg",
                        T,
                        "",
                        List.of(bob),
                        Envelope.BodyType.UNSPECIFIED,
                        false,
                        Envelope.Ret.UNSPECIFIED,
                        "",
                        Envelope.Source.local());
        assertThrows(
                IllegalArgumentException.class,
                () ->
                        Dsn.build(
                                "relay.test",
                                bounce,
                                body,
                                List.of(
                                        new Dsn.Entry(
                                                bob, Dsn.Action.FAILED, "550 5.1.1 x", "", false)),
                                T));
    }

    @Test
    void fieldValuesFromTheNetworkCannotAddHeaderLines() throws Exception {
        Path body = Files.writeString(dir.resolve("m.eml"), ORIGINAL);
        RecipientStatus bob = RecipientStatus.pending("bob@dest.test", Set.of(), "", T);
        String status =
                text(
                        ((MimeMultipart)
                                        parse(
                                                        Dsn.build(
                                                                "relay.test",
                                                                envelope(
                                                                        Envelope.Ret.HDRS, "", bob),
                                                                body,
                                                                List.of(
                                                                        new Dsn.Entry(
                                                                                bob,
                                                                                Dsn.Action.FAILED,
                                                                                "550 5.7.1 no\r\nStatus: 2.0.0",
                                                                                "",
                                                                                false)),
                                                                T))
                                                .getContent())
                                .getBodyPart(1));
        assertFalse(status.contains("\r\nStatus: 2.0.0"), status);
    }
}
