package org.tlsrelay.core.dkim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.testkit.DkimVerifier;
import org.tlsrelay.testkit.DkimVerifier.Verdict;
import org.tlsrelay.testkit.DnsStubServer;

/**
 * Signatures made by {@link DkimSigner}, checked by dkimpy ({@link DkimVerifier}) with the key records served by a
 * DNS server on loopback: never by the signer's own code.
 */
class DkimSignerTest {
    static DnsStubServer dns;
    static SigningKey rsa;
    static SigningKey ed25519;
    static SigningKey other;

    @TempDir Path dir;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final RelayMetrics metrics = new RelayMetrics(registry, Clock.systemUTC());

    @BeforeAll
    static void publishKeys() throws IOException {
        dns = DnsStubServer.start();
        rsa = TestKeys.rsa("example.org", "rsa2026");
        ed25519 = TestKeys.ed25519("example.org", "ed2026");
        other = TestKeys.ed25519("example.net", "s1");
        for (SigningKey k : List.of(rsa, ed25519, other)) {
            dns.txt(k.recordName(), KeyRecord.render(k));
        }
    }

    @AfterAll
    static void stopDns() {
        dns.close();
    }

    DkimSigner signer() {
        return DkimSigner.of(List.of(rsa, ed25519, other), metrics, Clock.systemUTC());
    }

    /** A relayed message with what breaks naive signers: 8-bit text, long folded fields, WSP, trailing empty lines. */
    static byte[] relayedMessage(String from) {
        String header =
                "From: =?utf-8?q?J=C3=B6rg?= <"
                        + from
                        + ">\r\n"
                        + "To: Somebody <somebody@example.com>,\r\n"
                        + "\tSomebody Else <else@example.com>\r\n"
                        + "Subject: a subject that is long enough to be folded by the mail user agent over\r\n"
                        + "  several lines,   with   runs of\tspace  \r\n"
                        + "Date: Mon, 1 Jun 2026 10:00:00 +0000\r\n"
                        + "Message-ID: <1234.5678@example.org>\r\n"
                        + "References: "
                        + "<a@example.org> ".repeat(40).strip().replace("> <", ">\r\n <")
                        + "\r\n"
                        + "MIME-Version: 1.0\r\n"
                        + "Content-Type: text/plain; charset=utf-8\r\n"
                        + "Content-Transfer-Encoding: 8bit\r\n"
                        + "List-Id: <announce.example.org>\r\n"
                        + "X-Mailer: test\r\n"
                        + "\r\n";
        String body =
                "Grüße aus Köln — 8-bit text   with spaces at the end   \r\n"
                        + "\r\n"
                        + ".a line that was dot-stuffed\r\n"
                        + "\ttabbed\t line\r\n"
                        + "\r\n\r\n\r\n";
        return (header + body).getBytes(StandardCharsets.UTF_8);
    }

    /** The message as the spool holds it after {@link DkimSigner#relayed()} signed it on the way in. */
    byte[] acceptThroughSpool(DkimSigner signer, byte[] message, int chunk) throws IOException {
        try (Spool spool =
                Spool.open(dir.resolve("spool"), Spool.Options.defaults().withFsync(false))) {
            Spool.Reception r = spool.receive();
            byte[] received =
                    "Received: from client by relay; Mon, 1 Jun 2026 10:00:00 +0000\r\n"
                            .getBytes(StandardCharsets.US_ASCII);
            r.body().write(received);
            AcceptSigner.Pass pass = signer.relayed().begin(r);
            OutputStream out = pass.content();
            for (int i = 0; i < message.length; i += chunk) {
                out.write(message, i, Math.min(chunk, message.length - i));
            }
            pass.finish();
            Instant now = Instant.now();
            QueuedMessage q =
                    r.commit(
                            Envelope.accepted(
                                    r.id(),
                                    now,
                                    "a@example.org",
                                    List.of(
                                            RecipientStatus.pending(
                                                    "b@example.com", Set.of(), "", now)),
                                    Envelope.BodyType.EIGHT_BIT_MIME,
                                    false,
                                    Envelope.Ret.UNSPECIFIED,
                                    "",
                                    Envelope.Source.local()));
            byte[] queued = Files.readAllBytes(q.body());
            assertArrayEquals(
                    received, Arrays.copyOf(queued, received.length), "Received: stays first");
            return queued;
        }
    }

    private double signedCount(String domain, String algorithm) {
        var c =
                registry.find("tlsrelay.dkim.signed")
                        .tags("domain", domain, "algorithm", algorithm)
                        .counter();
        return c == null ? 0 : c.count();
    }

    private double failures(String reason) {
        var c = registry.find("tlsrelay.dkim.failures").tags("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    private static void assertAllPass(List<Verdict> verdicts, int expected) {
        assertEquals(expected, verdicts.size(), verdicts.toString());
        verdicts.forEach(v -> assertTrue(v.pass(), v.toString()));
    }

    @Test
    void relayedMailIsSignedWithRsaAndEd25519WhileItStreamsIntoTheSpool() throws Exception {
        byte[] queued = acceptThroughSpool(signer(), relayedMessage("joerg@example.org"), 1000);
        List<Verdict> v = DkimVerifier.verify(queued, dns);
        assertAllPass(v, 2);
        assertEquals(
                Set.of("rsa-sha256/rsa2026", "ed25519-sha256/ed2026"),
                Set.of(
                        v.get(0).algorithm() + "/" + v.get(0).selector(),
                        v.get(1).algorithm() + "/" + v.get(1).selector()));
        assertEquals(1, signedCount("example.org", "rsa-sha256"));
        assertEquals(1, signedCount("example.org", "ed25519-sha256"));
        String text = new String(queued, StandardCharsets.UTF_8);
        assertTrue(text.contains("c=relaxed/relaxed;"), text);
        assertTrue(text.contains("h=from:from:to:subject:date:message-id:mime-version:"), text);
        assertTrue(text.matches("(?s).*t=\\d{10};.*"), text);
        assertFalse(text.contains("l="), text);
        for (String line : text.split("\r\n")) {
            if (line.startsWith("DKIM-Signature") || line.startsWith("\t")) {
                assertTrue(line.length() <= 78, line);
            }
        }
    }

    @Test
    void signaturesSurviveOneOctetChunksAndTheBodyIsNotHeld() throws Exception {
        byte[] big = relayedMessage("a@mail.example.org"); // a subdomain: signed as example.org
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        m.writeBytes(big);
        byte[] line =
                "0123456789 abcdefghij \t ABCDEFGHIJ äöü 0123456789 0123456789 0123456789\r\n"
                        .getBytes(StandardCharsets.UTF_8);
        while (m.size() < 3 * 1024 * 1024) {
            m.writeBytes(line);
        }
        List<List<Verdict>> v =
                DkimVerifier.verifyAll(
                        List.of(
                                acceptThroughSpool(signer(), m.toByteArray(), 65536),
                                acceptThroughSpool(signer(), big, 1)),
                        dns);
        assertAllPass(v.get(0), 2);
        assertAllPass(v.get(1), 2);
    }

    @Test
    void aMessageChangedAfterSigningFailsVerification() throws Exception {
        byte[] queued = acceptThroughSpool(signer(), relayedMessage("joerg@example.org"), 4096);
        String text = new String(queued, StandardCharsets.UTF_8);
        List<List<Verdict>> v =
                DkimVerifier.verifyAll(
                        List.of(
                                // the body
                                text.replace("Köln", "Koln").getBytes(StandardCharsets.UTF_8),
                                // a signed field
                                text.replace("Subject: a subject", "Subject: A subject")
                                        .getBytes(StandardCharsets.UTF_8),
                                // From is over-signed: a second From added above it breaks the
                                // signature
                                text.replace("From: ", "From: evil@example.com\r\nFrom: ")
                                        .getBytes(StandardCharsets.UTF_8),
                                // relaxed canonicalization tolerates what it should: WSP in a field
                                text.replace("Subject: a subject", "Subject:   a \t  subject")
                                        .getBytes(StandardCharsets.UTF_8),
                                queued),
                        dns);
        for (int i = 0; i < 3; i++) {
            assertEquals(2, v.get(i).size(), v.get(i).toString());
            v.get(i).forEach(x -> assertFalse(x.pass(), x.toString()));
        }
        assertAllPass(v.get(3), 2);
        assertAllPass(v.get(4), 2);
    }

    @Test
    void aMessageSignedAlreadyByTheSameKeyIsNotSignedTwice() throws Exception {
        DkimSigner signer = signer();
        byte[] once = acceptThroughSpool(signer, relayedMessage("joerg@example.org"), 512);
        // the relay's Received: line comes first; what a second pass sees is everything after it
        int afterReceived = new String(once, StandardCharsets.ISO_8859_1).indexOf("\r\n") + 2;
        byte[] twice =
                acceptThroughSpool(
                        signer, Arrays.copyOfRange(once, afterReceived, once.length), 512);
        assertEquals(
                2,
                new String(twice, StandardCharsets.ISO_8859_1).split("DKIM-Signature:", -1).length
                        - 1);
        assertAllPass(DkimVerifier.verify(twice, dns), 2);
        assertEquals(1, signedCount("example.org", "rsa-sha256"));
    }

    @Test
    void mailOfOtherDomainsPassesUnchangedAndMailWithoutFromIsCounted() throws Exception {
        byte[] foreign = relayedMessage("someone@example.com");
        byte[] queued = acceptThroughSpool(signer(), foreign, 700);
        assertTrue(
                new String(queued, StandardCharsets.UTF_8)
                        .endsWith(new String(foreign, StandardCharsets.UTF_8)));
        assertFalse(new String(queued, StandardCharsets.UTF_8).contains("DKIM-Signature"));
        assertEquals(0, failures("no-from"));

        byte[] noFrom =
                "To: x@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
                        .getBytes(StandardCharsets.US_ASCII);
        queued = acceptThroughSpool(signer(), noFrom, 5);
        assertFalse(new String(queued, StandardCharsets.UTF_8).contains("DKIM-Signature"));
        assertTrue(new String(queued, StandardCharsets.UTF_8).endsWith("\r\n\r\nbody\r\n"));
        assertEquals(1, failures("no-from"));
    }

    @Test
    void aMessageWithoutBodyOrWithAnEmptyOneIsSigned() throws Exception {
        byte[] headerOnly =
                "From: a@example.net\r\nSubject: only a header\r\n"
                        .getBytes(StandardCharsets.US_ASCII);
        byte[] emptyBody =
                "From: a@example.net\r\nSubject: empty\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        List<List<Verdict>> v =
                DkimVerifier.verifyAll(
                        List.of(
                                acceptThroughSpool(signer(), headerOnly, 7),
                                acceptThroughSpool(signer(), emptyBody, 7)),
                        dns);
        assertAllPass(v.get(0), 1);
        assertAllPass(v.get(1), 1);
    }

    @Test
    void ownMailIsSignedWithTheKeysOfTheGivenDomain() throws Exception {
        byte[] dsn =
                ("From: Mail Delivery System <MAILER-DAEMON@relay.example.org>\r\n"
                                + "To: <someone@example.com>\r\n"
                                + "Subject: Undelivered Mail Returned to Sender\r\n"
                                + "MIME-Version: 1.0\r\n\r\nIt bounced.\r\n")
                        .getBytes(StandardCharsets.US_ASCII);
        byte[] signed = signer().ownMail("relay.example.org").sign(dsn);
        assertAllPass(DkimVerifier.verify(signed, dns), 2);
        assertArrayEquals(
                dsn, Arrays.copyOfRange(signed, signed.length - dsn.length, signed.length));
        assertArrayEquals(dsn, signer().ownMail("elsewhere.example").sign(dsn));
    }
}
