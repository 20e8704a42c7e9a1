package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import jakarta.mail.Session;
import jakarta.mail.internet.ContentType;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.report.TlsExemption;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;

/**
 * {@code tlsrelay run} end to end: SMTP into the relay's inbound server, the durable spool, the delivery engine, DNS
 * from a stub server, and destination MXs on loopback that behave well or badly. Each MX host name resolves to its own
 * loopback address, all on the one {@code delivery.port}.
 */
class DeliveryEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String SENDER = "alice@sender.test";

    @TempDir Path dir;
    private DeliveryFixture f;
    private TestMx senderMx;

    @BeforeEach
    void setUp() throws Exception {
        f = new DeliveryFixture(dir);
        // where DSNs to alice@sender.test go (no policy for sender.test: opportunistic TLS)
        senderMx =
                f.mx(
                        "mx.sender.test",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.sender.test")));
        f.dns.mx("sender.test", 10, "mx.sender.test");
    }

    @AfterEach
    void tearDown() throws Exception {
        f.close();
    }

    /** The MXs that an enforced policy must refuse, each for its own reason. */
    enum BadMx {
        NO_STARTTLS(TlsFailureType.STARTTLS_NOT_SUPPORTED),
        WRONG_NAME(TlsFailureType.CERTIFICATE_HOST_MISMATCH),
        EXPIRED(TlsFailureType.CERTIFICATE_EXPIRED),
        UNTRUSTED_CA(TlsFailureType.CERTIFICATE_NOT_TRUSTED),
        HANDSHAKE_FAILS(TlsFailureType.VALIDATION_FAILURE),
        PLAINTEXT_INJECTION(TlsFailureType.VALIDATION_FAILURE);

        final TlsFailureType failure;

        BadMx(TlsFailureType failure) {
            this.failure = failure;
        }

        String domain() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + ".test";
        }

        String host() {
            return "mx1." + domain();
        }

        TestMx.Builder builder() {
            TestMx.Builder b = TestMx.builder();
            Instant now = Instant.now();
            return switch (this) {
                case NO_STARTTLS -> b;
                case WRONG_NAME -> b.startTls(DeliveryFixture.CA.issue("mx.elsewhere.test"));
                case EXPIRED ->
                        b.startTls(
                                DeliveryFixture.CA.issue(
                                        now.minus(Duration.ofDays(30)),
                                        now.minus(Duration.ofDays(1)),
                                        host()));
                case UNTRUSTED_CA -> b.startTls(DeliveryFixture.ROGUE.issue(host()));
                case HANDSHAKE_FAILS -> b.startTls(TestMx.StartTls.FAIL_HANDSHAKE);
                case PLAINTEXT_INJECTION ->
                        b.startTls(DeliveryFixture.CA.issue(host()))
                                .startTls(TestMx.StartTls.INJECT_PLAINTEXT);
            };
        }
    }

    @Test
    void enforceNeverSendsMailFromToABadMxAndFallsOverToTheGoodSecondMx() throws Exception {
        TestMx good =
                f.mx(
                        "mx2.good.test",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx2.good.test")));
        List<TestMx> bad = new ArrayList<>();
        StringBuilder overrides = new StringBuilder("  overrides:\n");
        for (BadMx b : BadMx.values()) {
            bad.add(f.mx(b.host(), b.builder()));
            f.dns.mx(b.domain(), 10, b.host()).mx(b.domain(), 20, "mx2.good.test");
            overrides
                    .append("    ")
                    .append(b.domain())
                    .append(": { mode: enforce, mxs: [\"")
                    .append(b.host())
                    .append("\", mx2.good.test] }\n");
        }
        f.start("", overrides.toString());

        for (BadMx b : BadMx.values()) {
            f.send(SENDER, List.of("bob@" + b.domain()), DeliveryFixture.message(b.name()));
        }

        Await.until(
                () -> good.messages().size() == BadMx.values().length,
                WAIT,
                "every message at the good MX");
        List<Executable> checks = new ArrayList<>();
        for (int i = 0; i < bad.size(); i++) {
            BadMx b = BadMx.values()[i];
            TestMx mx = bad.get(i);
            checks.add(
                    () -> assertFalse(mx.saw("MAIL FROM"), b + " saw MAIL FROM: " + mx.commands()));
            checks.add(() -> assertTrue(mx.messages().isEmpty(), b + " received a message"));
            checks.add(
                    () ->
                            assertTrue(
                                    failure(b.domain(), b.host()).isPresent(),
                                    b + ": no outcome recorded"));
            checks.add(
                    () ->
                            assertEquals(
                                    b.failure,
                                    failure(b.domain(), b.host()).orElseThrow(),
                                    b.toString()));
        }
        checks.add(
                () ->
                        assertTrue(
                                good.messages().stream().allMatch(TestMx.Received::tls),
                                "all over TLS"));
        assertAll(checks);
        Await.until(this::queueEmpty, WAIT, "an empty queue");
    }

    @Test
    void enforceDefersWithTheRefusalWhenNoMxIsGood() throws Exception {
        TestMx bad =
                f.mx(
                        "mx1.strict.test",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("other.test")));
        TestMx plain = f.mx("mx2.strict.test", TestMx.builder());
        f.dns.mx("strict.test", 10, "mx1.strict.test").mx("strict.test", 20, "mx2.strict.test");
        f.start("", "  overrides:\n    strict.test: { mode: enforce, mxs: [\".strict.test\"] }\n");

        String id = f.send(SENDER, List.of("bob@strict.test"), DeliveryFixture.message("strict"));

        Await.until(
                () -> state(id).filter(s -> s == QueueState.DEFERRED).isPresent(),
                WAIT,
                "the message deferred");
        RecipientStatus r = f.queued(id).orElseThrow().envelope().recipients().get(0);
        assertEquals(RecipientStatus.State.PENDING, r.state());
        assertTrue(r.lastReply().startsWith("451 4.7.5 "), r.lastReply());
        assertFalse(bad.saw("MAIL FROM"));
        assertFalse(plain.saw("MAIL FROM"));
        assertTrue(senderMx.messages().isEmpty(), "a policy failure is temporary: no DSN yet");
    }

    @Test
    void testingDeliversToAMismatchedMxAndRecordsTheFailure() throws Exception {
        TestMx mx =
                f.mx(
                        "mx.testing.test",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("wrong.test")));
        f.dns.mx("testing.test", 10, "mx.testing.test");
        f.start("", "  overrides:\n    testing.test: { mode: testing, mxs: [mx.testing.test] }\n");

        f.send(SENDER, List.of("bob@testing.test"), DeliveryFixture.message("testing"));

        Await.until(() -> mx.messages().size() == 1, WAIT, "delivery under testing");
        assertTrue(mx.messages().get(0).tls());
        TlsOutcome o =
                f.outcomes.stream()
                        .filter(x -> x.policy().domain().equals("testing.test"))
                        .findFirst()
                        .orElseThrow();
        assertEquals("deliver-tls", o.verdict());
        assertEquals(
                TlsFailureType.CERTIFICATE_HOST_MISMATCH, ((TlsResult.Failure) o.result()).type());
    }

    @Test
    void theRunningRelayRecordsEveryTlsOutcomeForTlsRptAndReportShowCountsIt() throws Exception {
        TestMx mx =
                f.mx(
                        "mx.rpt.test",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("wrong.test")));
        f.dns.mx("rpt.test", 10, "mx.rpt.test");
        f.reportsEnabled = true;
        f.start("", "  overrides:\n    rpt.test: { mode: testing, mxs: [mx.rpt.test] }\n");

        f.send(SENDER, List.of("bob@rpt.test"), DeliveryFixture.message("recorded"));

        Await.until(() -> mx.messages().size() == 1, WAIT, "delivery under testing");
        Path day =
                f.dir.resolve("data/reports/outcomes-" + LocalDate.now(ZoneOffset.UTC) + ".jsonl");
        Await.until(
                () -> fileContains(day, "certificate-host-mismatch"),
                WAIT,
                "the outcome is on disk");
        CliRun show =
                CliRun.run(
                        "report",
                        "show",
                        "--json",
                        "--domain",
                        "rpt.test",
                        "--config",
                        f.configFile().toString());
        assertEquals(0, show.exit(), show.err());
        assertTrue(
                show.out().contains("\"would-refuse\" : 1")
                        || show.out().contains("\"would-refuse\":1"),
                show.out());
    }

    private static boolean fileContains(Path file, String text) {
        try {
            return Files.exists(file) && Files.readString(file).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void nullMxBouncesAtOnceWithA556() throws Exception {
        f.dns.nullMx("nomail.test");
        f.start("", "");

        String id = f.send(SENDER, List.of("bob@nomail.test"), DeliveryFixture.message("nullmx"));

        Await.until(() -> senderMx.messages().size() == 1, WAIT, "the DSN at the sender's MX");
        TestMx.Received dsn = senderMx.messages().get(0);
        assertTrue(dsn.mailFrom().startsWith("<> "), "null reverse-path: " + dsn.mailFrom());
        assertEquals(List.of("<" + SENDER + ">"), dsn.rcptTo());
        String text = dsn.text();
        assertTrue(text.contains("multipart/report"), text);
        assertTrue(text.contains("report-type=delivery-status"), text);
        assertTrue(text.contains("Final-Recipient: rfc822; bob@nomail.test"), text);
        assertTrue(text.contains("Action: failed"), text);
        assertTrue(text.contains("Status: 5.1.10"), text);
        assertTrue(text.contains("Subject: nullmx"), "the original message comes back: " + text);
        Await.until(() -> state(id).isEmpty(), WAIT, "the bounced message gone from the queue");
    }

    @Test
    void aPermanentRefusalBouncesAtOnceAndOtherRecipientsAreDelivered() throws Exception {
        TestMx mx =
                f.mx(
                        "mx.dest.test",
                        TestMx.builder()
                                .startTls(DeliveryFixture.CA.issue("mx.dest.test"))
                                .recipientReply("nobody@dest.test", "550 5.1.1 no such user"));
        f.dns.mx("dest.test", 10, "mx.dest.test");
        f.start("", "");

        try (var c = f.client()) {
            DeliveryFixture.queueId(
                    sendWithParameters(
                            c,
                            "MAIL FROM:<" + SENDER + "> RET=HDRS ENVID=env+2B1",
                            List.of(
                                    "RCPT TO:<nobody@dest.test> NOTIFY=FAILURE ORCPT=rfc822;orig+2Bnobody@dest.test",
                                    "RCPT TO:<bob@dest.test>"),
                            DeliveryFixture.message("permanent")));
        }

        Await.until(() -> senderMx.messages().size() == 1, WAIT, "the DSN");
        assertEquals(1, mx.messages().size());
        assertEquals(
                List.of("<bob@dest.test>"),
                mx.messages().get(0).rcptTo().stream()
                        .map(r -> r.substring(0, r.indexOf('>') + 1))
                        .toList());
        String text = senderMx.messages().get(0).text();
        assertTrue(text.contains("Status: 5.1.1"), text);
        assertTrue(text.contains("Diagnostic-Code: smtp; 550 5.1.1 no such user"), text);
        assertTrue(text.contains("Remote-MTA: dns; mx.dest.test"), text);
        assertTrue(text.contains("Original-Envelope-Id: env+1"), text);
        assertTrue(text.contains("Original-Recipient: rfc822;orig+nobody@dest.test"), text);
        assertTrue(text.contains("text/rfc822-headers"), "RET=HDRS: " + text);
        assertFalse(text.contains("Hello, permanent."), "RET=HDRS returns no body: " + text);
        assertFalse(
                text.contains("bob@dest.test"), "only the failed recipient is reported: " + text);
    }

    @Test
    void theDsnReachesTheSenderAfterMaxAgeOnceThePolicyStillRefuses() throws Exception {
        TestMx plain = f.mx("mx.down.test", TestMx.builder());
        f.dns.mx("down.test", 10, "mx.down.test");
        f.start(
                "  retry: { schedule: [200ms], max-age: 1s }\n",
                "  overrides:\n    down.test: { mode: enforce, mxs: [mx.down.test] }\n");

        Instant sent = Instant.now();
        String id = f.send(SENDER, List.of("bob@down.test"), DeliveryFixture.message("expiring"));

        Await.until(() -> senderMx.messages().size() == 1, WAIT, "the DSN after max-age");
        assertTrue(Duration.between(sent, Instant.now()).toMillis() >= 900, "not before max-age");
        String text = senderMx.messages().get(0).text();
        assertTrue(text.contains("Action: failed"), text);
        assertTrue(text.contains("Status: 4.7.5"), text);
        assertTrue(text.contains("Diagnostic-Code: smtp; 451 4.7.5"), text);
        assertTrue(text.contains("starttls") || text.contains("STARTTLS"), text);
        assertFalse(plain.saw("MAIL FROM"));
        assertTrue(
                f.outcomes.stream().filter(o -> o.policy().domain().equals("down.test")).count()
                        >= 3,
                "attempts were retried before giving up");
        Await.until(() -> state(id).isEmpty(), WAIT, "the expired message gone from the queue");
    }

    @Test
    void dnsFailureDefersAndNxdomainBounces() throws Exception {
        f.dns.servfail("broken.test");
        f.start("", "");

        String deferred =
                f.send(SENDER, List.of("bob@broken.test"), DeliveryFixture.message("servfail"));
        f.send(SENDER, List.of("bob@nowhere.test"), DeliveryFixture.message("nxdomain"));

        Await.until(
                () -> senderMx.messages().size() == 1,
                WAIT,
                "the DSN for the domain that does not exist");
        assertTrue(senderMx.messages().get(0).text().contains("Status: 5.1.2"));
        Await.until(
                () -> state(deferred).filter(s -> s == QueueState.DEFERRED).isPresent(),
                WAIT,
                "deferred");
        String reply = f.queued(deferred).orElseThrow().envelope().recipients().get(0).lastReply();
        assertTrue(reply.startsWith("451 4.4.3"), reply);
        assertEquals(1, senderMx.messages().size(), "a DNS failure never bounces");
    }

    @Test
    void queueFlushWakesTheRunningEngine() throws Exception {
        TestMx mx =
                f.mx(
                        "mx.later.test",
                        TestMx.builder()
                                .startTls(DeliveryFixture.CA.issue("mx.later.test"))
                                .greeting("421 4.3.2 not now"));
        f.dns.mx("later.test", 10, "mx.later.test");
        f.start("  retry: { schedule: [1h], max-age: 5d }\n", "");
        String id = f.send(SENDER, List.of("bob@later.test"), DeliveryFixture.message("flush"));
        Await.until(
                () -> state(id).filter(s -> s == QueueState.DEFERRED).isPresent(),
                WAIT,
                "deferred for an hour");
        mx.close();
        f.mxs.remove(mx);
        TestMx good =
                TestMx.builder()
                        .hostname("mx.later.test")
                        .startTls(DeliveryFixture.CA.issue("mx.later.test"))
                        .bind(mx.address(), f.port())
                        .start();
        f.mxs.add(good);

        assertEquals(0, Main.execute("queue", "flush", "--config", f.configFile().toString()));

        Await.until(
                () -> good.messages().size() == 1,
                WAIT,
                "delivery after queue flush, long before an hour");
        Await.until(() -> state(id).isEmpty(), WAIT, "the delivered message gone");
    }

    @Test
    void deliversToGreenMailWithoutStartTlsWhenThereIsNoPolicyAndTheDsnParsesAsAMultipartReport()
            throws Exception {
        GreenMail greenMail =
                new GreenMail(new ServerSetup(f.port(), "127.0.0.250", ServerSetup.PROTOCOL_SMTP));
        greenMail.start();
        try {
            f.dns.a("mx.gm.test", "127.0.0.250")
                    .mx("gm.test", 10, "mx.gm.test")
                    .nullMx("nomail.test");
            f.start("", "");

            // the client stuffs the dot; the relay stores ".dot line" and stuffs it again on the
            // way out
            f.send(
                    SENDER,
                    List.of("carol@gm.test"),
                    DeliveryFixture.message("greenmail") + "..dot line\r\n");
            f.send(SENDER, List.of("bob@nomail.test"), DeliveryFixture.message("bounced"));

            assertTrue(
                    greenMail.waitForIncomingEmail(WAIT.toMillis(), 1), "the message at GreenMail");
            MimeMessage got = greenMail.getReceivedMessages()[0];
            assertEquals("greenmail", got.getSubject());
            assertTrue(
                    ((String) got.getContent()).contains("\n.dot line"),
                    "dot-stuffing undone by GreenMail");
            TlsOutcome o =
                    f.outcomes.stream()
                            .filter(x -> x.policy().domain().equals("gm.test"))
                            .findFirst()
                            .orElseThrow();
            assertEquals("deliver-clear", o.verdict());

            // the DSN as a MIME parser sees it
            Await.until(() -> senderMx.messages().size() == 1, WAIT, "the DSN");
            MimeMessage dsn =
                    new MimeMessage(
                            Session.getInstance(new Properties()),
                            new ByteArrayInputStream(senderMx.messages().get(0).content()));
            assertEquals("multipart/report", new ContentType(dsn.getContentType()).getBaseType());
            assertEquals(
                    "delivery-status",
                    new ContentType(dsn.getContentType()).getParameter("report-type"));
            MimeMultipart parts = (MimeMultipart) dsn.getContent();
            assertEquals(3, parts.getCount());
            assertTrue(parts.getBodyPart(1).isMimeType("message/delivery-status"));
            assertTrue(parts.getBodyPart(2).isMimeType("message/rfc822"));
        } finally {
            greenMail.stop();
        }
    }

    @Test
    void aTlsRptReportIsDeliveredDespiteTheEnforcedPolicyAndOtherMailIsNot() throws Exception {
        TestMx plain = f.mx("mx.reports.test", TestMx.builder()); // no STARTTLS
        f.dns.mx("reports.test", 10, "mx.reports.test");
        f.start("", "  overrides:\n    reports.test: { mode: enforce, mxs: [mx.reports.test] }\n");
        Spool spool = f.relay().spool();
        String report;
        try (Spool.Reception r = spool.receive()) {
            r.body()
                    .write(
                            "Subject: Report Domain: reports.test\r\n\r\nreport\r\n"
                                    .getBytes(StandardCharsets.US_ASCII));
            Instant now = Instant.now();
            report =
                    r.commit(
                                    TlsExemption.mark(
                                            Envelope.accepted(
                                                    r.id(),
                                                    now,
                                                    "tlsrpt@relay.test",
                                                    List.of(
                                                            RecipientStatus.pending(
                                                                    "tlsrpt@reports.test",
                                                                    Set.of(),
                                                                    "",
                                                                    now)),
                                                    Envelope.BodyType.UNSPECIFIED,
                                                    false,
                                                    Envelope.Ret.UNSPECIFIED,
                                                    "",
                                                    Envelope.Source.local())))
                            .id();
        }
        String normal =
                f.send(SENDER, List.of("bob@reports.test"), DeliveryFixture.message("normal"));

        Await.until(() -> plain.messages().size() == 1, WAIT, "the report delivered in clear");
        assertEquals(List.of("<tlsrpt@reports.test>"), plain.messages().get(0).rcptTo());
        Await.until(() -> state(report).isEmpty(), WAIT, "the report done");
        Await.until(
                () -> state(normal).filter(s -> s == QueueState.DEFERRED).isPresent(),
                WAIT,
                "ordinary mail still held to the policy");
        assertEquals(1, plain.messages().size());
    }

    /** One transaction with the MAIL and RCPT lines as given (DSN parameters). */
    private static RawSmtpClient.Reply sendWithParameters(
            RawSmtpClient c, String mail, List<String> rcpts, String content) throws IOException {
        RawSmtpClient.expect(c.command(mail), 250);
        for (String r : rcpts) {
            RawSmtpClient.expect(c.command(r), 250);
        }
        RawSmtpClient.expect(c.command("DATA"), 354);
        c.send(content);
        c.send(".\r\n");
        return c.reply();
    }

    private Optional<TlsFailureType> failure(String domain, String mxHost) {
        return f.outcomes.stream()
                .filter(o -> o.policy().domain().equals(domain) && o.mxHost().equals(mxHost))
                .map(TlsOutcome::result)
                .filter(r -> r instanceof TlsResult.Failure)
                .map(r -> ((TlsResult.Failure) r).type())
                .findFirst();
    }

    private boolean queueEmpty() {
        try {
            return f.relay().spool().list().isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Optional<QueueState> state(String id) {
        try {
            return f.queued(id).map(QueuedMessage::state);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
