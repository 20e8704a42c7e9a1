package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.policy.PolicySource;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.TestHttpsServer;

/**
 * Internationalised domains end to end: SMTP into the relay with a U-label recipient, DNS from a stub, the MTA-STS
 * policy from an HTTPS server, all under the A-label name the DNS and the policy know; the MX gets the address as
 * written when it offers SMTPUTF8, and a message that needs SMTPUTF8 bounces with 5.6.7 from an MX that does not.
 */
class IdnDeliveryEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String A_LABEL = "xn--bcher-kva.test"; // bücher.test
    private static final String MX = "mx." + A_LABEL;

    @TempDir Path dir;
    private DeliveryFixture f;
    private TestHttpsServer https;
    private TestMx senderMx;

    @BeforeEach
    void setUp() throws Exception {
        f = new DeliveryFixture(dir);
        senderMx =
                f.mx(
                        "mx.sender.test",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.sender.test")));
        f.dns.mx("sender.test", 10, "mx.sender.test");
        // the policy host, its TXT record and the policy, all written with A-labels
        https =
                TestHttpsServer.start(
                        DeliveryFixture.CA.issue("mta-sts." + A_LABEL).serverContext());
        https.respond(
                "/.well-known/mta-sts.txt",
                TestHttpsServer.Response.text(
                        "version: STSv1\nmode: enforce\nmx: " + MX + "\nmax_age: 86400\n"));
        f.dns.a("mta-sts." + A_LABEL, "127.0.0.1")
                .txt("_mta-sts." + A_LABEL, "v=STSv1; id=idn1")
                .mx(A_LABEL, 10, MX);
        f.mtaSts = "  mta-sts: { https-port: " + https.port() + " }\n";
    }

    @AfterEach
    void tearDown() throws Exception {
        https.close();
        f.close();
    }

    @Test
    void aULabelRecipientIsDeliveredToTheALabelMxOverVerifiedTlsUnderMtaSts() throws Exception {
        TestMx mx = f.mx(MX, TestMx.builder().startTls(DeliveryFixture.CA.issue(MX)));
        f.start("", "");

        String id = send("alice@sender.test", "bob@Bücher.test", "Subject: IDN\r\n\r\nHallo.\r\n");

        Await.until(() -> mx.messages().size() == 1, WAIT, "the message at the A-label MX");
        TestMx.Received got = mx.messages().get(0);
        assertTrue(got.tls(), "delivered over TLS");
        assertTrue(got.mailFrom().contains("SMTPUTF8"), got.mailFrom());
        assertEquals(
                List.of("<bob@Bücher.test>"),
                got.rcptTo().stream().map(r -> r.substring(0, r.indexOf('>') + 1)).toList(),
                "the address as written");
        TlsOutcome outcome =
                f.outcomes.stream().filter(o -> o.mxHost().equals(MX)).findFirst().orElseThrow();
        assertTrue(outcome.success(), outcome.toString());
        assertEquals(A_LABEL, outcome.policy().domain(), "TLS-RPT sees the A-label domain");
        assertTrue(outcome.policy().domainPolicy().source().isMtaSts(), outcome.toString());
        assertTrue(outcome.policy().isMtaSts());
        assertTrue(https.requests().size() >= 1, "the policy was fetched from mta-sts." + A_LABEL);
        assertEquals(
                PolicySource.MTA_STS_LIVE, outcome.policy().domainPolicy().source(), "fetched now");
        Await.until(() -> gone(id), WAIT, "the message gone from the queue");
        assertTrue(senderMx.messages().isEmpty(), "no bounce");
    }

    @Test
    void aMessageThatNeedsSmtpUtf8BouncesWith567FromAnMxThatDoesNotOfferIt() throws Exception {
        TestMx mx =
                f.mx(MX, TestMx.builder().startTls(DeliveryFixture.CA.issue(MX)).smtpUtf8(false));
        f.start("", "");

        send("alice@sender.test", "bob@bücher.test", "Subject: IDN\r\n\r\nHallo.\r\n");

        Await.until(() -> senderMx.messages().size() == 1, WAIT, "the DSN");
        String dsn = senderMx.messages().get(0).text();
        assertTrue(dsn.contains("Action: failed"), dsn);
        assertTrue(dsn.contains("Status: 5.6.7"), dsn);
        assertTrue(dsn.contains("Diagnostic-Code: smtp; 553 5.6.7"), dsn);
        assertTrue(dsn.contains("SMTPUTF8"), dsn);
        assertFalse(mx.saw("MAIL FROM"), "no transaction with an MX that cannot take the message");
        assertTrue(mx.messages().isEmpty());
    }

    private boolean gone(String id) {
        try {
            return f.queued(id).isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Submits one message with SMTPUTF8; returns its queue id. */
    private String send(String from, String to, String content) throws Exception {
        try (RawSmtpClient c = f.client()) {
            RawSmtpClient.expect(c.command("MAIL FROM:<" + from + "> SMTPUTF8"), 250);
            RawSmtpClient.expect(c.command("RCPT TO:<" + to + ">"), 250);
            RawSmtpClient.expect(c.command("DATA"), 354);
            c.send(content);
            return DeliveryFixture.queueId(c.command("."));
        }
    }
}
