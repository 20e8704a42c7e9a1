package org.tlsrelay.smtp.outbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.tlsrelay.core.enforce.CertificateValidity;
import org.tlsrelay.core.enforce.TlsObservation;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.enforce.Verdict;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestPolicies;

/** The outbound client against misbehaving and well-behaved MXs on loopback, over real sockets and real TLS. */
class OutboundClientTest {
    private static final String DOMAIN = "example.test";
    private static final String MX_HOST = "mx1.example.test";
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static TestCa ca;
    private static TestCa.Issued good;
    private static TestCa.Issued wrongName;
    private static TestCa.Issued expired;
    private static TestCa.Issued untrusted;
    private static TestCa.Issued notYetValid;
    private static TestCa.Issued expiredUntrusted;

    private final List<TestMx> mxs = new ArrayList<>();
    private final List<TlsOutcome> outcomes = new CopyOnWriteArrayList<>();
    private OutboundClient client;

    @BeforeAll
    static void certificates() {
        ca = TestCa.create("Test CA");
        good = ca.issue(MX_HOST);
        wrongName = ca.issue("mx.elsewhere.test");
        Instant now = Instant.now();
        expired = ca.issue(now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)), MX_HOST);
        notYetValid =
                ca.issue(now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(30)), MX_HOST);
        TestCa rogue = TestCa.create("Rogue CA");
        untrusted = rogue.issue(MX_HOST);
        expiredUntrusted =
                rogue.issue(now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)), MX_HOST);
    }

    @BeforeEach
    void startClient() {
        client = client(OutboundSettings.defaults("relay.test").withTimeouts(WAIT, WAIT));
    }

    @AfterEach
    void stop() throws IOException {
        client.close();
        for (TestMx mx : mxs) {
            mx.close();
        }
    }

    // ---- the bad MXs ----

    /** The MXs that must never see MAIL FROM under enforce, with the RFC 8460 type each one produces. */
    enum BadMx {
        NO_STARTTLS(TlsFailureType.STARTTLS_NOT_SUPPORTED, false),
        STARTTLS_REJECTED(TlsFailureType.STARTTLS_NOT_SUPPORTED, false),
        WRONG_NAME(TlsFailureType.CERTIFICATE_HOST_MISMATCH, true),
        EXPIRED(TlsFailureType.CERTIFICATE_EXPIRED, true),
        NOT_YET_VALID(TlsFailureType.VALIDATION_FAILURE, true),
        UNTRUSTED_CA(TlsFailureType.CERTIFICATE_NOT_TRUSTED, true),
        EXPIRED_AND_UNTRUSTED(TlsFailureType.CERTIFICATE_NOT_TRUSTED, true),
        HANDSHAKE_FAILS(TlsFailureType.VALIDATION_FAILURE, false),
        PLAINTEXT_INJECTION(TlsFailureType.VALIDATION_FAILURE, false);

        final TlsFailureType failure;

        /** Whether a TLS session comes up (so testing/none deliver over TLS rather than in clear). */
        final boolean tlsUp;

        BadMx(TlsFailureType failure, boolean tlsUp) {
            this.failure = failure;
            this.tlsUp = tlsUp;
        }

        TestMx.Builder builder() {
            TestMx.Builder b = TestMx.builder().hostname(MX_HOST);
            return switch (this) {
                case NO_STARTTLS -> b;
                case STARTTLS_REJECTED -> b.startTls(TestMx.StartTls.REJECTED);
                case WRONG_NAME -> b.startTls(wrongName);
                case EXPIRED -> b.startTls(expired);
                case NOT_YET_VALID -> b.startTls(notYetValid);
                case UNTRUSTED_CA -> b.startTls(untrusted);
                case EXPIRED_AND_UNTRUSTED -> b.startTls(expiredUntrusted);
                case HANDSHAKE_FAILS -> b.startTls(TestMx.StartTls.FAIL_HANDSHAKE);
                case PLAINTEXT_INJECTION ->
                        b.startTls(good).startTls(TestMx.StartTls.INJECT_PLAINTEXT);
            };
        }
    }

    @ParameterizedTest
    @EnumSource(BadMx.class)
    void refusesBadMxUnderEnforceWithoutSendingMailFrom(BadMx bad) throws Exception {
        TestMx mx = start(bad.builder());

        DeliveryAttemptResult result = deliver(mx, message("hello"), policy(PolicyMode.ENFORCE));

        DeliveryAttemptResult.Refused refused =
                assertInstanceOf(DeliveryAttemptResult.Refused.class, result);
        assertFalse(mx.connections().isEmpty(), "refused after connecting");
        assertEquals(bad.failure, refused.verdict().failure());
        assertEquals("4.7.5", refused.verdict().enhancedCode());
        assertTrue(refused.verdict().reason().contains(MX_HOST), refused.verdict().reason());
        assertFalse(mx.saw("MAIL FROM"), "the refused MX saw MAIL FROM: " + mx.commands());
        assertTrue(mx.messages().isEmpty());
        TlsOutcome outcome = onlyOutcome();
        assertEquals(bad.failure, ((TlsResult.Failure) outcome.result()).type());
        assertEquals("refuse", outcome.verdict());
        assertEquals(DOMAIN, outcome.policy().domain());
        assertEquals(MX_HOST, outcome.mxHost());
        assertEquals("127.0.0.1", outcome.receivingIp());
        assertEquals("127.0.0.1", outcome.sendingIp());
    }

    static List<String> injections() {
        return List.of(
                "250-mx1.example.test\r\n250 PIPELINING\r\n", // whole replies, decoded before TLS
                // starts
                "250-mx1.example.test\r\n250 PIPE", // and a partial line still held by the decoder
                "250 2.0.0 partial"); // only a partial line
    }

    @ParameterizedTest
    @MethodSource("injections")
    void neverReadsPlainTextInjectedAfterStartTlsAsAReply(String injected) throws Exception {
        TestMx mx = start(BadMx.PLAINTEXT_INJECTION.builder().injected(injected));

        DeliveryAttemptResult result = deliver(mx, message("hello"), policy(PolicyMode.ENFORCE));

        Verdict.Refuse refuse =
                assertInstanceOf(DeliveryAttemptResult.Refused.class, result).verdict();
        assertTrue(refuse.reason().contains("plain text after its 220"), refuse.reason());
        // the client never got as far as the second EHLO: it read nothing after the 220
        assertEquals(
                1,
                mx.commands().stream().filter(c -> c.startsWith("EHLO")).count(),
                mx.commands().toString());
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "TESTING, NO_STARTTLS",
        "TESTING, STARTTLS_REJECTED",
        "TESTING, WRONG_NAME",
        "TESTING, EXPIRED",
        "TESTING, UNTRUSTED_CA",
        "TESTING, HANDSHAKE_FAILS",
        "TESTING, PLAINTEXT_INJECTION",
        "NONE, NO_STARTTLS",
        "NONE, WRONG_NAME",
        "NONE, UNTRUSTED_CA",
        "NONE, HANDSHAKE_FAILS",
    })
    void deliversToBadMxUnderTestingOrNoneAndRecordsTheFailure(PolicyMode mode, BadMx bad)
            throws Exception {
        TestMx mx = start(bad.builder());

        DeliveryAttemptResult result = deliver(mx, message("hello"), policy(mode));

        DeliveryAttemptResult.Completed done =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
        assertEquals(1, done.count(RecipientReply.Status.DELIVERED));
        assertEquals(1, mx.messages().size());
        assertEquals(bad.tlsUp, mx.messages().get(0).tls(), "delivered over TLS");
        assertEquals(bad.tlsUp ? "deliver-tls" : "deliver-clear", done.session().verdict().label());
        TlsOutcome outcome = onlyOutcome();
        assertEquals(bad.failure, ((TlsResult.Failure) outcome.result()).type());
        assertEquals(done.session().verdict().label(), outcome.verdict());
        boolean reconnected = bad == BadMx.HANDSHAKE_FAILS || bad == BadMx.PLAINTEXT_INJECTION;
        assertEquals(
                reconnected ? 2 : 1,
                mx.connections().size(),
                "a failed handshake is retried in clear");
        if (reconnected) {
            assertFalse(mx.connections().get(1).commands().contains("STARTTLS"));
            assertFalse(
                    mx.connections().get(0).commands().stream()
                            .anyMatch(c -> c.startsWith("MAIL")));
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = PolicyMode.class,
            names = {"ENFORCE", "TESTING"})
    void neverFallsBackToClearTextWhenTheConnectionDiesAfterTls(PolicyMode mode) throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good).dropAfterTls());

        DeliveryAttemptResult result = deliver(mx, message("hello"), policy(mode));

        assertEquals(
                Stage.EHLO, assertInstanceOf(DeliveryAttemptResult.Failed.class, result).stage());
        assertEquals(1, mx.connections().size());
        assertFalse(mx.saw("MAIL FROM"));
    }

    @Test
    void deliversOverVerifiedTlsToAGoodMxUnderEnforce() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good));

        DeliveryAttemptResult result =
                deliver(mx, message("Subject: hi\r\n\r\nhello\r\n"), policy(PolicyMode.ENFORCE));

        DeliveryAttemptResult.Completed done =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
        RecipientReply r = done.recipients().get(0);
        assertEquals(RecipientReply.Status.DELIVERED, r.status());
        assertEquals("2.0.0", r.reply().enhancedCode());
        TlsObservation.Established tls =
                assertInstanceOf(TlsObservation.Established.class, done.session().observation());
        assertTrue(tls.chainTrusted());
        assertTrue(tls.hostNameMatched());
        assertEquals(CertificateValidity.VALID, tls.validity());
        assertTrue(
                tls.protocol().equals("TLSv1.3") || tls.protocol().equals("TLSv1.2"),
                tls.protocol());
        assertEquals(List.of(MX_HOST), tls.peer().dnsNames());
        assertTrue(done.session().tls().startsWith("TLSv1."), done.session().tls());
        TestMx.Received got = mx.messages().get(0);
        assertTrue(got.tls());
        assertEquals("<sender@relay.test>", got.mailFrom().split(" ")[0]);
        assertEquals("Subject: hi\r\n\r\nhello\r\n", got.text());
        // RFC 3207 §4.2: EHLO again after TLS
        List<String> commands = mx.connections().get(0).commands();
        assertEquals(
                List.of("EHLO relay.test", "STARTTLS", "EHLO relay.test"), commands.subList(0, 3));
        assertTrue(onlyOutcome().success());
        assertEquals("deliver-tls", onlyOutcome().verdict());
    }

    @Test
    void deliversUnderTestingToAnMxOutsideThePolicyAndRecordsIt() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good));
        ResolvedPolicy policy =
                TestPolicies.list(DOMAIN, "eff", PolicyMode.TESTING, ".mail.example.test");

        DeliveryAttemptResult result = deliver(mx, message("hello"), policy);

        assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
        assertTrue(mx.messages().get(0).tls());
        assertEquals(
                TlsFailureType.VALIDATION_FAILURE,
                ((TlsResult.Failure) onlyOutcome().result()).type());
    }

    // ---- the transaction ----

    @Test
    void pipelinesTheEnvelopeWhenOffered() throws Exception {
        // this MX answers MAIL and RCPT only once DATA has arrived: a client that waits for each
        // reply would stall
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good).holdRepliesUntilData());
        client.close();
        client =
                client(
                        OutboundSettings.defaults("relay.test")
                                .withTimeouts(WAIT, Duration.ofSeconds(2)));
        OutboundMessage m =
                OutboundMessage.of(
                        "Q1",
                        "sender@relay.test",
                        List.of("a@example.test", "b@example.test", "c@example.test"),
                        content("hi\r\n"));

        DeliveryAttemptResult result = deliver(mx, m, policy(PolicyMode.ENFORCE));

        DeliveryAttemptResult.Completed done =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
        assertEquals(3, done.count(RecipientReply.Status.DELIVERED));
        assertEquals(3, mx.messages().get(0).rcptTo().size());
    }

    @Test
    void sendsOneCommandAtATimeWithoutPipelining() throws Exception {
        TestMx mx =
                start(
                        TestMx.builder()
                                .hostname(MX_HOST)
                                .pipelining(false)
                                .recipientReply("b@example.test", "550 5.1.1 no such user"));
        OutboundMessage m =
                OutboundMessage.of(
                        "Q1",
                        "sender@relay.test",
                        List.of("a@example.test", "b@example.test"),
                        content("hi\r\n"));

        DeliveryAttemptResult result = deliver(mx, m, TestPolicies.none(DOMAIN));

        DeliveryAttemptResult.Completed done =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
        assertEquals(
                List.of(RecipientReply.Status.DELIVERED, RecipientReply.Status.FAILED),
                done.recipients().stream().map(RecipientReply::status).toList());
        assertFalse(mx.messages().get(0).tls());
    }

    @Test
    void dotStuffsAndNormalisesLineEndingsOnTheWire() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good));
        String source =
                "Subject: dots\n\n.\n..\n.leading dot\nmiddle . dot\r\nbare\rcr\n...\nlast line without newline";

        DeliveryAttemptResult result = deliver(mx, message(source), policy(PolicyMode.ENFORCE));

        assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
        TestMx.Received got = mx.messages().get(0);
        assertEquals(
                "Subject: dots\r\n\r\n.\r\n..\r\n.leading dot\r\nmiddle . dot\r\nbare\r\ncr\r\n...\r\n"
                        + "last line without newline\r\n",
                got.text());
        String wire = new String(got.wireData(), StandardCharsets.UTF_8);
        assertTrue(wire.contains("\r\n..\r\n...\r\n..leading dot\r\n"), wire);
        assertTrue(wire.contains("\r\n....\r\n"), wire);
        assertTrue(wire.endsWith("without newline\r\n.\r\n"), wire);
    }

    @Test
    void streamsContentFromAFile(@TempDir Path dir) throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good));
        StringBuilder body = new StringBuilder("Subject: big\r\n\r\n");
        for (int i = 0; i < 20_000; i++) {
            body.append(i % 7 == 0 ? "." : "").append("line ").append(i).append("\r\n");
        }
        Path file = Files.writeString(dir.resolve("message.eml"), body);
        OutboundMessage m =
                OutboundMessage.of(
                        "Q1",
                        "sender@relay.test",
                        List.of("rcpt@example.test"),
                        MessageContent.ofFile(file));

        DeliveryAttemptResult result = deliver(mx, m, policy(PolicyMode.ENFORCE));

        assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
        assertEquals(body.toString(), mx.messages().get(0).text());
    }

    @Test
    void recordsEachRecipientsReply() throws Exception {
        TestMx mx =
                start(
                        TestMx.builder()
                                .hostname(MX_HOST)
                                .startTls(good)
                                .recipientReply("busy@example.test", "450 4.2.1 mailbox busy")
                                .recipientReply("gone@example.test", "550 5.1.1 no such user"));
        OutboundMessage m =
                OutboundMessage.of(
                        "Q1",
                        "sender@relay.test",
                        List.of("ok@example.test", "busy@example.test", "gone@example.test"),
                        content("hi\r\n"));

        DeliveryAttemptResult result = deliver(mx, m, policy(PolicyMode.ENFORCE));

        DeliveryAttemptResult.Completed done =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
        assertEquals(
                List.of(
                        RecipientReply.Status.DELIVERED,
                        RecipientReply.Status.DEFERRED,
                        RecipientReply.Status.FAILED),
                done.recipients().stream().map(RecipientReply::status).toList());
        assertEquals(
                List.of("2.0.0", "4.2.1", "5.1.1"),
                done.recipients().stream().map(r -> r.reply().enhancedCode()).toList());
        assertEquals(450, done.recipients().get(1).reply().code());
        assertEquals(List.of("<ok@example.test>"), mx.messages().get(0).rcptTo());
    }

    @Test
    void resetsAfterEveryRecipientIsRefusedAndKeepsTheConnection() throws Exception {
        TestMx mx =
                start(
                        TestMx.builder()
                                .hostname(MX_HOST)
                                .startTls(good)
                                .recipientReply("gone@example.test", "550 5.1.1 no such user"));
        OutboundMessage refused =
                OutboundMessage.of(
                        "Q1", "sender@relay.test", List.of("gone@example.test"), content("hi\r\n"));

        DeliveryAttemptResult first = deliver(mx, refused, policy(PolicyMode.ENFORCE));
        DeliveryAttemptResult second = deliver(mx, message("again"), policy(PolicyMode.ENFORCE));

        assertEquals(
                RecipientReply.Status.FAILED,
                assertInstanceOf(DeliveryAttemptResult.Completed.class, first)
                        .recipients()
                        .get(0)
                        .status());
        assertEquals(
                1,
                assertInstanceOf(DeliveryAttemptResult.Completed.class, second)
                        .count(RecipientReply.Status.DELIVERED));
        assertEquals(1, mx.connections().size());
        assertEquals(1, mx.messages().size());
    }

    /** RFC 2920 §3.1: a 354 to the pipelined DATA after every RCPT was refused gets an empty content at once. */
    @Test
    void endsTheDataAtOnceWhenTheMxAcceptsDataButNoRecipient() throws Exception {
        TestMx mx =
                start(
                        TestMx.builder()
                                .hostname(MX_HOST)
                                .startTls(good)
                                .dataWithoutRecipients()
                                .recipientReply("gone@example.test", "550 5.1.1 no such user")
                                .recipientReply("busy@example.test", "450 4.2.1 mailbox busy"));
        OutboundMessage refused =
                OutboundMessage.of(
                        "Q1",
                        "sender@relay.test",
                        List.of("gone@example.test", "busy@example.test"),
                        content("Subject: secret\r\n\r\nnot for anyone\r\n"));

        DeliveryAttemptResult first = deliver(mx, refused, policy(PolicyMode.ENFORCE));
        DeliveryAttemptResult second = deliver(mx, message("again"), policy(PolicyMode.ENFORCE));

        DeliveryAttemptResult.Completed done =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, first);
        assertEquals(
                List.of(550, 450), done.recipients().stream().map(r -> r.reply().code()).toList());
        assertEquals(
                List.of(RecipientReply.Status.FAILED, RecipientReply.Status.DEFERRED),
                done.recipients().stream().map(RecipientReply::status).toList());
        assertEquals(2, mx.messages().size());
        assertEquals(List.of(), mx.messages().get(0).rcptTo());
        assertEquals("", mx.messages().get(0).text(), "no octet of the content was sent");
        assertEquals(
                1,
                assertInstanceOf(DeliveryAttemptResult.Completed.class, second)
                        .count(RecipientReply.Status.DELIVERED));
        assertEquals(1, mx.connections().size(), "the connection carried on");
    }

    @Test
    void passesMailParametersTheMxOffers() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good));
        OutboundMessage m =
                new OutboundMessage(
                        "Q1",
                        "sender@relay.test",
                        List.of(
                                new OutboundRecipient(
                                        "rcpt@example.test",
                                        EnumSet.of(
                                                OutboundRecipient.Notify.SUCCESS,
                                                OutboundRecipient.Notify.FAILURE),
                                        "rfc822;rcpt@example.test")),
                        OutboundMessage.Ret.HDRS,
                        "env+2B1",
                        true,
                        false,
                        content("caf\u00e9\r\n"));

        deliver(mx, m, policy(PolicyMode.ENFORCE));

        List<String> commands = mx.commands();
        assertTrue(
                commands.contains(
                        "MAIL FROM:<sender@relay.test> SIZE=7 BODY=8BITMIME RET=HDRS ENVID=env+2B1"),
                commands.toString());
        String rcpt =
                "RCPT TO:<rcpt@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;rcpt@example.test";
        assertTrue(commands.contains(rcpt), commands.toString());
    }

    @Test
    void leavesOutParametersTheMxDoesNotOffer() throws Exception {
        TestMx mx =
                start(
                        TestMx.builder()
                                .hostname(MX_HOST)
                                .startTls(good)
                                .eightBitMime(false)
                                .dsn(false));
        OutboundMessage m =
                new OutboundMessage(
                        "Q1",
                        "",
                        List.of(
                                new OutboundRecipient(
                                        "rcpt@example.test",
                                        EnumSet.of(OutboundRecipient.Notify.NEVER),
                                        "")),
                        OutboundMessage.Ret.FULL,
                        "",
                        true,
                        false,
                        content("hi\r\n"));

        deliver(mx, m, policy(PolicyMode.ENFORCE));

        assertTrue(mx.commands().contains("MAIL FROM:<> SIZE=4"), mx.commands().toString());
        assertTrue(mx.commands().contains("RCPT TO:<rcpt@example.test>"), mx.commands().toString());
    }

    @Test
    void sendsUtf8AddressesWithSmtpUtf8() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good));
        OutboundMessage m =
                OutboundMessage.of(
                        "Q1",
                        "sender@relay.test",
                        List.of("j\u00f6rg@example.test"),
                        content("hi\r\n"));

        DeliveryAttemptResult result = deliver(mx, m, policy(PolicyMode.ENFORCE));

        assertEquals(
                1,
                assertInstanceOf(DeliveryAttemptResult.Completed.class, result)
                        .count(RecipientReply.Status.DELIVERED));
        assertTrue(
                mx.commands().contains("MAIL FROM:<sender@relay.test> SIZE=4 SMTPUTF8"),
                mx.commands().toString());
        assertEquals(List.of("<j\u00f6rg@example.test>"), mx.messages().get(0).rcptTo());
    }

    @Test
    void failsARecipientThatNeedsSmtpUtf8WhenTheMxLacksIt() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good).smtpUtf8(false));
        OutboundMessage m =
                OutboundMessage.of(
                        "Q1",
                        "sender@relay.test",
                        List.of("j\u00f6rg@example.test"),
                        content("hi\r\n"));

        DeliveryAttemptResult result = deliver(mx, m, policy(PolicyMode.ENFORCE));

        RecipientReply r =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, result).recipients().get(0);
        assertEquals(RecipientReply.Status.FAILED, r.status());
        assertEquals("5.6.7", r.reply().enhancedCode());
        assertFalse(mx.saw("MAIL FROM"));
    }

    @Test
    void failsAMessageLargerThanTheMxsSizeLimitWithoutSendingIt() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good).size(10));

        DeliveryAttemptResult result =
                deliver(
                        mx,
                        message("a message longer than ten octets"),
                        policy(PolicyMode.ENFORCE));

        RecipientReply r =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, result).recipients().get(0);
        assertEquals(RecipientReply.Status.FAILED, r.status());
        assertEquals("5.3.4", r.reply().enhancedCode());
        assertFalse(mx.saw("MAIL FROM"));
    }

    @Test
    void treatsARefusedSenderAsTheAnswerForEveryRecipient() throws Exception {
        TestMx mx =
                start(
                        TestMx.builder()
                                .hostname(MX_HOST)
                                .startTls(good)
                                .mailReply("451 4.3.0 try later"));
        OutboundMessage m =
                OutboundMessage.of(
                        "Q1",
                        "sender@relay.test",
                        List.of("a@example.test", "b@example.test"),
                        content("hi\r\n"));

        DeliveryAttemptResult result = deliver(mx, m, policy(PolicyMode.ENFORCE));

        DeliveryAttemptResult.Completed done =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, result);
        assertEquals(2, done.count(RecipientReply.Status.DEFERRED));
        assertEquals("4.3.0", done.recipients().get(1).reply().enhancedCode());
        assertTrue(mx.messages().isEmpty());
    }

    // ---- connection reuse ----

    @Test
    void reusesAConnectionForTheNextMessageWithRset() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good));

        DeliveryAttemptResult first = deliver(mx, message("one"), policy(PolicyMode.ENFORCE));
        DeliveryAttemptResult second = deliver(mx, message("two"), policy(PolicyMode.ENFORCE));

        assertFalse(
                assertInstanceOf(DeliveryAttemptResult.Completed.class, first).session().reused());
        assertTrue(
                assertInstanceOf(DeliveryAttemptResult.Completed.class, second).session().reused());
        assertEquals(1, mx.connections().size(), "one TCP connection for both messages");
        List<String> commands = mx.connections().get(0).commands();
        int secondMail =
                commands.lastIndexOf(
                        commands.stream()
                                .filter(c -> c.startsWith("MAIL"))
                                .reduce((a, b) -> b)
                                .orElseThrow());
        assertEquals("RSET", commands.get(secondMail - 1), commands.toString());
        assertEquals(
                List.of("one\r\n", "two\r\n"),
                mx.messages().stream().map(TestMx.Received::text).toList());
        assertTrue(mx.messages().get(1).tls());
        assertEquals(1, outcomes.size(), "one outcome per connection and policy domain");
    }

    @Test
    void reportsEachPolicyDomainOnceOnAReusedConnection() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good));

        deliver(mx, message("one"), policy(PolicyMode.ENFORCE));
        deliver(mx, message("two"), TestPolicies.none("other.test"));
        deliver(mx, message("three"), TestPolicies.none("other.test"));

        assertEquals(1, mx.connections().size());
        assertEquals(
                List.of(DOMAIN, "other.test"),
                outcomes.stream().map(o -> o.policy().domain()).toList());
    }

    @Test
    void doesNotReuseAConnectionWhoseTlsTheNextPolicyRefuses() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(untrusted));

        DeliveryAttemptResult first = deliver(mx, message("one"), TestPolicies.none(DOMAIN));
        DeliveryAttemptResult second = deliver(mx, message("two"), policy(PolicyMode.ENFORCE));

        assertInstanceOf(DeliveryAttemptResult.Completed.class, first);
        assertInstanceOf(DeliveryAttemptResult.Refused.class, second);
        assertEquals(1, mx.messages().size());
        assertEquals(2, mx.connections().size(), "the enforced policy got its own observation");
    }

    @Test
    void opensANewConnectionAfterTheLimitOfMessagesPerConnection() throws Exception {
        client.close();
        client =
                client(
                        OutboundSettings.defaults("relay.test")
                                .withTimeouts(WAIT, WAIT)
                                .withReuse(1, Duration.ofSeconds(5), 4));
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good));

        deliver(mx, message("one"), policy(PolicyMode.ENFORCE));
        deliver(mx, message("two"), policy(PolicyMode.ENFORCE));

        assertEquals(2, mx.connections().size());
        TestMx.await(
                () -> mx.connections().get(0).commands().contains("QUIT"),
                WAIT,
                "QUIT on the first");
    }

    @Test
    void closesIdleConnectionsWithQuit() throws Exception {
        client.close();
        client =
                client(
                        OutboundSettings.defaults("relay.test")
                                .withTimeouts(WAIT, WAIT)
                                .withReuse(100, Duration.ofMillis(200), 4));
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(good));

        deliver(mx, message("one"), policy(PolicyMode.ENFORCE));

        TestMx.await(() -> mx.commands().contains("QUIT"), WAIT, "QUIT after the idle timeout");
        TestMx.await(() -> client.idleConnections() == 0, WAIT, "the pool to empty");
    }

    @Test
    void startsOverOnANewConnectionWhenAReusedOneWasDropped() throws Exception {
        TestMx mx =
                start(
                        TestMx.builder()
                                .hostname(MX_HOST)
                                .startTls(good)
                                .rsetReply("421 4.4.2 idle timeout"));

        deliver(mx, message("one"), policy(PolicyMode.ENFORCE));
        DeliveryAttemptResult second = deliver(mx, message("two"), policy(PolicyMode.ENFORCE));

        DeliveryAttemptResult.Completed done =
                assertInstanceOf(DeliveryAttemptResult.Completed.class, second);
        assertFalse(done.session().reused());
        assertEquals(2, mx.connections().size());
        assertEquals(2, mx.messages().size());
    }

    // ---- timeouts and broken MXs ----

    @ParameterizedTest
    @CsvSource({"GREETING, GREETING", "EHLO, EHLO", "MAIL, MAIL", "END_OF_DATA, END_OF_DATA"})
    void endsTheAttemptWhenTheMxStopsAnswering(TestMx.Silence silence, Stage stage)
            throws Exception {
        client.close();
        client =
                client(
                        OutboundSettings.defaults("relay.test")
                                .withTimeouts(WAIT, Duration.ofMillis(300)));
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).silentAt(silence));

        DeliveryAttemptResult result = deliver(mx, message("hello"), TestPolicies.none(DOMAIN));

        DeliveryAttemptResult.Failed failed =
                assertInstanceOf(DeliveryAttemptResult.Failed.class, result);
        assertEquals(stage, failed.stage());
        assertTrue(failed.detail().contains("within 300ms"), failed.detail());
        assertEquals(stage == Stage.END_OF_DATA, failed.possiblyDelivered());
        assertEquals(0, client.idleConnections());
    }

    @Test
    void failsAtConnectWhenNothingListens() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        DeliveryTarget target =
                new DeliveryTarget(MX_HOST, InetAddress.getByName("127.0.0.1"), port);

        DeliveryAttemptResult result =
                client.deliver(
                                target,
                                message("hello"),
                                TestPolicies.permit(policy(PolicyMode.ENFORCE), MX_HOST))
                        .get(WAIT.toSeconds(), TimeUnit.SECONDS);

        assertEquals(
                Stage.CONNECT,
                assertInstanceOf(DeliveryAttemptResult.Failed.class, result).stage());
        assertTrue(outcomes.isEmpty(), "no TLS outcome without a connection");
    }

    @Test
    void failsOnARefusingGreeting() throws Exception {
        TestMx mx =
                start(
                        TestMx.builder()
                                .hostname(MX_HOST)
                                .greeting("554 5.3.2 no SMTP service here"));

        DeliveryAttemptResult result = deliver(mx, message("hello"), policy(PolicyMode.ENFORCE));

        DeliveryAttemptResult.Failed failed =
                assertInstanceOf(DeliveryAttemptResult.Failed.class, result);
        assertEquals(Stage.GREETING, failed.stage());
        assertTrue(failed.detail().contains("554 5.3.2"), failed.detail());
    }

    @Test
    void saysGoodbyeToAnMxThatRefusesEhlo() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).ehloReply("554 5.7.1 not you"));

        DeliveryAttemptResult result = deliver(mx, message("hello"), TestPolicies.none(DOMAIN));

        DeliveryAttemptResult.Failed failed =
                assertInstanceOf(DeliveryAttemptResult.Failed.class, result);
        assertEquals(Stage.EHLO, failed.stage());
        assertTrue(failed.detail().contains("554 5.7.1 not you"), failed.detail());
        TestMx.await(() -> mx.commands().contains("QUIT"), WAIT, "QUIT");
    }

    @Test
    void fallsBackToHeloWhenEhloIsUnknown() throws Exception {
        TestMx mx =
                start(
                        TestMx.builder()
                                .hostname(MX_HOST)
                                .startTls(good)
                                .ehloReply("502 5.5.2 what?"));

        DeliveryAttemptResult clear = deliver(mx, message("hello"), TestPolicies.none(DOMAIN));
        DeliveryAttemptResult enforced = deliver(mx, message("hello"), policy(PolicyMode.ENFORCE));

        assertEquals(
                1,
                assertInstanceOf(DeliveryAttemptResult.Completed.class, clear)
                        .count(RecipientReply.Status.DELIVERED));
        assertTrue(mx.commands().contains("HELO relay.test"), mx.commands().toString());
        // without EHLO there is no STARTTLS, which an enforced policy does not accept
        assertEquals(
                TlsFailureType.STARTTLS_NOT_SUPPORTED,
                assertInstanceOf(DeliveryAttemptResult.Refused.class, enforced)
                        .verdict()
                        .failure());
        assertEquals(1, mx.messages().size());
    }

    // ---- probe ----

    @Test
    void probesAnMxWithoutSendingAMessage() throws Exception {
        TestMx mx = start(TestMx.builder().hostname(MX_HOST).startTls(wrongName));

        ProbeResult result =
                client.probe(target(mx), TestPolicies.permit(policy(PolicyMode.ENFORCE), MX_HOST))
                        .get(WAIT.toSeconds(), TimeUnit.SECONDS);

        ProbeResult.Observed observed = assertInstanceOf(ProbeResult.Observed.class, result);
        TlsObservation.Established tls =
                assertInstanceOf(TlsObservation.Established.class, observed.observation());
        assertFalse(tls.hostNameMatched());
        assertEquals(List.of("mx.elsewhere.test"), tls.peer().dnsNames());
        assertEquals(
                TlsFailureType.CERTIFICATE_HOST_MISMATCH,
                assertInstanceOf(Verdict.Refuse.class, observed.verdict()).failure());
        assertTrue(observed.capabilities().has(Extension.PIPELINING));
        assertFalse(
                observed.capabilities().has(Extension.STARTTLS),
                "capabilities are those after TLS");
        TestMx.await(() -> mx.commands().contains("QUIT"), WAIT, "QUIT");
        assertFalse(mx.saw("MAIL FROM"));
        assertTrue(outcomes.isEmpty(), "a probe is not a delivery and reports nothing");
    }

    // ---- helpers ----

    private OutboundClient client(OutboundSettings settings) {
        return new OutboundClient(
                settings, TrustMaterial.of(List.of(ca.certificate())), outcomes::add);
    }

    private TestMx start(TestMx.Builder builder) throws IOException {
        TestMx mx = builder.start();
        mxs.add(mx);
        return mx;
    }

    private DeliveryAttemptResult deliver(TestMx mx, OutboundMessage message, ResolvedPolicy policy)
            throws Exception {
        return client.deliver(target(mx), message, TestPolicies.permit(policy, MX_HOST))
                .get(WAIT.toSeconds() * 2, TimeUnit.SECONDS);
    }

    private static DeliveryTarget target(TestMx mx) {
        return new DeliveryTarget(MX_HOST, mx.address(), mx.port());
    }

    private static ResolvedPolicy policy(PolicyMode mode) {
        return TestPolicies.sts(DOMAIN, mode, "*.example.test");
    }

    private static OutboundMessage message(String text) {
        return OutboundMessage.of(
                "Q1", "sender@relay.test", List.of("rcpt@example.test"), content(text));
    }

    private static MessageContent content(String text) {
        return MessageContent.ofBytes(text.getBytes(StandardCharsets.UTF_8));
    }

    private TlsOutcome onlyOutcome() {
        assertEquals(1, outcomes.size(), outcomes.toString());
        return outcomes.get(0);
    }
}
