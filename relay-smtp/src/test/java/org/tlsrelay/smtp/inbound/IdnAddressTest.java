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
 * Internationalised domains at the door: a domain with U-labels (or A-labels) that is not valid IDNA2008 is refused
 * at RCPT with {@code 553 5.1.3} (at MAIL with {@code 553 5.1.7}), never accepted and bounced later; a valid one is
 * queued as written.
 */
class IdnAddressTest {
    @TempDir Path dir;

    @ParameterizedTest(name = "RCPT TO:<{0}>")
    @ValueSource(
            strings = {
                "bob@xn--zz.test", // not Punycode
                "bob@a\u200db.bücher.test", // a joiner out of context (CONTEXTJ)
                "bob@\u0301bücher.test", // a leading combining mark
                "bob@ka\u00b7l.bücher.test", // a middle dot out of context (CONTEXTO)
                "bob@☃.test", // valid in IDNA2003, disallowed in IDNA2008
                "bob@aבּ.test" // the bidi rule
            })
    void aDomainThatIsNoValidIdnIsRefusedAtRcpt(String rcpt) throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(250, c.command("MAIL FROM:<alice@example.org> SMTPUTF8").code());
            RawSmtpClient.Reply r = c.command("RCPT TO:<" + rcpt + ">");
            assertEquals(553, r.code(), r.text());
            assertTrue(r.last().startsWith("553 5.1.3 <" + rcpt + ">: \""), r.last());
            assertTrue(
                    r.last().contains("is not a valid internationalised domain name (IDNA2008)"),
                    r.last());
            assertEquals("554 5.5.1 Error: no valid recipients", c.command("DATA").last());
            assertEquals(List.of(), f.files("incoming"));
        }
    }

    @Test
    void aValidIdnIsQueuedAsWritten() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(250, c.command("MAIL FROM:<alice@example.org> SMTPUTF8").code());
            assertEquals(250, c.command("RCPT TO:<bob@Bücher.test>").code());
            assertEquals(250, c.command("RCPT TO:<carol@xn--bcher-kva.test>").code());
            RawSmtpClient.expect(c.command("DATA"), 354);
            String id = InboundServerTest.queuedId(c.send("Subject: x\r\n\r\n.\r\n").reply());
            var rcpts = f.spool.find(id).orElseThrow().envelope().recipients();
            assertEquals("bob@Bücher.test", rcpts.get(0).address());
            assertEquals("carol@xn--bcher-kva.test", rcpts.get(1).address());
        }
    }

    @Test
    void aSenderDomainThatIsNoValidIdnIsRefusedAtMail() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            RawSmtpClient.Reply r = c.command("MAIL FROM:<alice@☃.test> SMTPUTF8");
            assertEquals(553, r.code(), r.text());
            assertTrue(r.last().startsWith("553 5.1.7 <alice@☃.test>: "), r.last());
            assertEquals(250, c.command("MAIL FROM:<alice@bücher.test> SMTPUTF8").code());
        }
    }
}
