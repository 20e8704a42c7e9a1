package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.auth.PasswordHash;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.queue.SpoolAdmin;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.TestCa;

/**
 * {@code tlsrelay queue drain} from node A's spool to a real relay B (in this JVM, STARTTLS with a certificate of a test
 * CA, AUTH required: no network may relay without it), which delivers to a final MX under an enforced policy: every
 * message arrives there once, with its envelope; A keeps only what it must.
 */
class QueueDrainTest {
    @TempDir static Path shared;
    @TempDir Path dir;

    private static DeliveryFixture b;
    private static TestMx finalMx;
    private static Path caPem;
    private static Path passwordFile;

    private Path aConfig;
    private Path aSpool;

    @BeforeAll
    static void startRelayB() throws Exception {
        b = new DeliveryFixture(shared);
        finalMx =
                b.mx(
                        "mx.final.test",
                        TestMx.builder()
                                .startTls(DeliveryFixture.CA.issue("mx.final.test"))
                                .requireTls(true));
        b.dns.mx("final.test", 10, "mx.final.test");
        TestCa.Issued cert = DeliveryFixture.CA.issue("localhost", "127.0.0.1");
        caPem = DeliveryFixture.CA.writeCertificatePem(shared.resolve("drain-ca.pem"));
        passwordFile = Files.writeString(shared.resolve("password"), "s3cret drain\n");
        b.serverExtra =
                "  networks: []\n"
                        + "  tls:\n"
                        + "    certificate: \""
                        + cert.writeCertificatePem(shared.resolve("b-cert.pem"))
                        + "\"\n"
                        + "    private-key: \""
                        + cert.writeKeyPem(shared.resolve("b-key.pem"))
                        + "\"\n"
                        + "  auth:\n"
                        + "    users: [{ name: drain, password-hash: \""
                        + PasswordHash.bcrypt("s3cret drain".toCharArray(), 4)
                        + "\" }]\n";
        b.start("", "  overrides:\n    final.test: { mode: enforce, mxs: [mx.final.test] }\n");
    }

    @AfterAll
    static void stopRelayB() throws IOException {
        b.close();
    }

    @BeforeEach
    void nodeA() throws IOException {
        aSpool = dir.resolve("a/spool");
        aConfig =
                Files.writeString(
                        dir.resolve("a.yaml"),
                        "server:\n  hostname: relay-a.test\nspool:\n  dir: " + aSpool + "\n");
    }

    private int bPort() {
        return b.relay().address().getPort();
    }

    /** Queues a message on A as its inbound server would have. */
    static String queue(
            Spool spool,
            String subject,
            List<RecipientStatus> rcpts,
            Function<Envelope, Envelope> more,
            String headers)
            throws IOException {
        try (Spool.Reception r = spool.receive()) {
            r.body()
                    .write(
                            (headers
                                            + "From: alice@sender.test\r\nSubject: "
                                            + subject
                                            + "\r\nMessage-ID: <"
                                            + subject
                                            + "@sender.test>\r\n\r\nHello "
                                            + subject
                                            + "\r\n.leading dot\r\n")
                                    .getBytes(StandardCharsets.UTF_8));
            Envelope env =
                    Envelope.accepted(
                            r.id(),
                            Instant.now(),
                            "alice@sender.test",
                            rcpts,
                            Envelope.BodyType.UNSPECIFIED,
                            false,
                            Envelope.Ret.UNSPECIFIED,
                            "",
                            new Envelope.Source("smtp", "192.0.2.1", "app.test", "", ""));
            return r.commit(more.apply(env)).id();
        }
    }

    static RecipientStatus rcpt(String address) {
        return RecipientStatus.pending(address, Set.of(), "", Instant.now());
    }

    private CliRun drain(String... extra) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "queue",
                                "drain",
                                "--config",
                                aConfig.toString(),
                                "--to",
                                "127.0.0.1:" + bPort()));
        args.addAll(List.of(extra));
        return CliRun.run(args.toArray(String[]::new));
    }

    private static Map<String, TestMx.Received> bySubject(List<TestMx.Received> got) {
        return got.stream()
                .collect(
                        Collectors.toMap(
                                m -> m.text().replaceAll("(?s).*Subject: (\\S+).*", "$1"),
                                m -> m,
                                (x, y) -> {
                                    throw new AssertionError("received twice: " + x.text());
                                }));
    }

    @Test
    void handsEveryMessageOverOnceWithItsEnvelopeOverTlsWithAuth() throws Exception {
        String dsn;
        String requireTls;
        String tlsOptional;
        String partial;
        String held;
        try (Spool a = Spool.open(aSpool, Spool.Options.defaults())) {
            Instant now = Instant.now();
            dsn =
                    queue(
                            a,
                            "dsn",
                            List.of(
                                    RecipientStatus.pending(
                                            "bob@final.test",
                                            Set.of(
                                                    RecipientStatus.Notify.FAILURE,
                                                    RecipientStatus.Notify.DELAY),
                                            "rfc822;bob+orig@final.test",
                                            now),
                                    rcpt("carol@final.test")),
                            e ->
                                    new Envelope(
                                            e.id(),
                                            e.arrival(),
                                            e.sender(),
                                            e.recipients(),
                                            Envelope.BodyType.EIGHT_BIT_MIME,
                                            false,
                                            Envelope.Ret.HDRS,
                                            "env 1",
                                            e.source(),
                                            List.of(),
                                            3,
                                            e.nextAttempt()),
                            "");
            requireTls =
                    queue(
                            a,
                            "requiretls",
                            List.of(rcpt("dave@final.test")),
                            e -> e.withTlsRequirement(true, false),
                            "");
            tlsOptional =
                    queue(
                            a,
                            "tlsoptional",
                            List.of(rcpt("erin@final.test")),
                            e -> e.withTlsRequirement(false, true),
                            "TLS-Required: No\r\n");
            partial =
                    queue(
                            a,
                            "partial",
                            List.of(
                                    rcpt("frank@final.test")
                                            .after(
                                                    RecipientStatus.State.DELIVERED,
                                                    "250 2.0.0 Ok",
                                                    now),
                                    rcpt("grace@final.test")),
                            e -> e,
                            "");
            held = queue(a, "held", List.of(rcpt("heidi@final.test")), e -> e, "");
        }
        try (SpoolAdmin admin = SpoolAdmin.open(aSpool)) {
            admin.hold(held);
        }

        CliRun r =
                drain(
                        "--auth-user",
                        "drain",
                        "--password-file",
                        passwordFile.toString(),
                        "--ca-file",
                        caPem.toString());

        assertEquals(1, r.exit(), r.out() + r.err()); // the held message is left
        for (String id : List.of(dsn, requireTls, tlsOptional, partial)) {
            assertTrue(r.out().contains(id + ": handed over as "), r.out());
        }
        assertTrue(r.out().contains(held + ": left here: on hold"), r.out());
        assertTrue(r.out().contains("handed over: 4, left: 1, failed: 0"), r.out());
        try (SpoolAdmin admin = SpoolAdmin.open(aSpool)) {
            assertEquals(List.of(held), admin.list().stream().map(QueuedMessage::id).toList());
        }

        Set<String> subjects = Set.of("dsn", "requiretls", "tlsoptional", "partial");
        TestMx.await(
                () -> bySubject(finalMx.messages()).keySet().containsAll(subjects),
                Duration.ofSeconds(30),
                "four messages at the final MX");
        TestMx.await(
                () -> {
                    try {
                        return b.relay().spool().stats().total() == 0;
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                },
                Duration.ofSeconds(30),
                "relay B's queue empty");
        // each once: bySubject fails on a second copy of any message
        Map<String, TestMx.Received> got = bySubject(finalMx.messages());
        assertTrue(got.keySet().containsAll(subjects), got.keySet().toString());

        TestMx.Received m = got.get("dsn");
        assertTrue(m.mailFrom().contains("RET=HDRS"), m.mailFrom());
        assertTrue(m.mailFrom().contains("ENVID=env+201"), m.mailFrom());
        assertTrue(m.mailFrom().contains("BODY=8BITMIME"), m.mailFrom());
        assertEquals(2, m.rcptTo().size(), m.rcptTo().toString());
        String bob = m.rcptTo().stream().filter(x -> x.contains("bob@")).findFirst().orElseThrow();
        assertTrue(
                bob.contains("NOTIFY=FAILURE,DELAY") || bob.contains("NOTIFY=DELAY,FAILURE"), bob);
        assertTrue(bob.contains("ORCPT=rfc822;bob+2Borig@final.test"), bob);
        assertTrue(m.text().contains("\r\n.leading dot\r\n"), "dot-stuffing undone: " + m.text());

        assertTrue(got.get("requiretls").mailFrom().contains("REQUIRETLS"));
        assertTrue(got.get("requiretls").tls());
        assertTrue(got.get("tlsoptional").text().contains("TLS-Required: No\r\n"));
        assertFalse(got.get("tlsoptional").mailFrom().contains("REQUIRETLS"));
        assertEquals(1, got.get("partial").rcptTo().size());
        assertTrue(got.get("partial").rcptTo().get(0).contains("grace@final.test"));
    }

    @Test
    void aRequireTlsMessageStaysHereWithoutAVerifiedCertificate() throws Exception {
        String requireTls;
        String plain;
        try (Spool a = Spool.open(aSpool, Spool.Options.defaults())) {
            requireTls =
                    queue(
                            a,
                            "staysrequiretls",
                            List.of(rcpt("ivan@final.test")),
                            e -> e.withTlsRequirement(true, false),
                            "");
            plain = queue(a, "goesplain", List.of(rcpt("judy@final.test")), e -> e, "");
        }

        // opportunistic TLS: encrypted, the certificate not checked
        CliRun r = drain("--auth-user", "drain", "--password-file", passwordFile.toString());

        assertEquals(1, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains(plain + ": handed over as "), r.out());
        assertTrue(
                r.out()
                        .contains(
                                requireTls + ": left here: it requires TLS (REQUIRETLS, RFC 8689)"),
                r.out());
        assertTrue(r.out().contains("--tls-verify"), r.out());
        try (SpoolAdmin admin = SpoolAdmin.open(aSpool)) {
            assertEquals(
                    List.of(requireTls), admin.list().stream().map(QueuedMessage::id).toList());
        }
    }

    @Test
    void neverSendsThePasswordWithoutTls() throws Exception {
        try (Spool a = Spool.open(aSpool, Spool.Options.defaults())) {
            queue(a, "nopassword", List.of(rcpt("kim@final.test")), e -> e, "");
        }
        try (TestMx plainMx = TestMx.builder().start()) {
            CliRun r =
                    CliRun.run(
                            "queue",
                            "drain",
                            "--config",
                            aConfig.toString(),
                            "--to",
                            "127.0.0.1:" + plainMx.port(),
                            "--auth-user",
                            "drain",
                            "--password-file",
                            passwordFile.toString());

            assertEquals(2, r.exit(), r.out() + r.err());
            assertTrue(
                    r.err()
                            .contains(
                                    "tlsrelay: 127.0.0.1:"
                                            + plainMx.port()
                                            + " offers no STARTTLS: the password for drain is never sent in"
                                            + " clear text"),
                    r.err());
            assertFalse(plainMx.saw("AUTH"), plainMx.commands().toString());
            assertFalse(plainMx.saw("MAIL FROM"), plainMx.commands().toString());
        }
        try (SpoolAdmin admin = SpoolAdmin.open(aSpool)) {
            assertEquals(1, admin.list().size());
        }
    }

    @Test
    void refusesToRunBesideTheRelayOfTheSpool() throws Exception {
        try (Spool a = Spool.open(aSpool, Spool.Options.defaults())) {
            queue(a, "relayruns", List.of(rcpt("leo@final.test")), e -> e, "");
            CliRun r = drain();
            assertEquals(2, r.exit(), r.out() + r.err());
            assertTrue(
                    r.err().contains("a relay (or another drain) is running on the spool "),
                    r.err());
            assertTrue(r.err().contains("stop it first"), r.err());
        }
    }

    @Test
    void refusesAPasswordGivenWithoutAFileAndAWrongPassword() throws Exception {
        try (Spool a = Spool.open(aSpool, Spool.Options.defaults())) {
            queue(a, "wrongpassword", List.of(rcpt("mia@final.test")), e -> e, "");
        }
        CliRun noFile = drain("--auth-user", "drain");
        assertEquals(2, noFile.exit());
        assertTrue(noFile.err().contains("--auth-user needs --password-file FILE"), noFile.err());

        Path wrong = Files.writeString(dir.resolve("wrong"), "not it\n");
        CliRun r = drain("--auth-user", "drain", "--password-file", wrong.toString());
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("refused AUTH for user drain: 535"), r.err());
        try (SpoolAdmin admin = SpoolAdmin.open(aSpool)) {
            assertEquals(1, admin.list().size());
        }
    }

    /** The other relay refuses one recipient: the other is handed over, the refused one stays pending here. */
    @Test
    void leavesWhatTheOtherRelayRefusesAndReportsIt() throws Exception {
        String partly;
        String wholly;
        try (Spool a = Spool.open(aSpool, Spool.Options.defaults())) {
            partly =
                    queue(
                            a,
                            "partly",
                            List.of(rcpt("ok@final.test"), rcpt("nobody@final.test")),
                            e -> e,
                            "");
            wholly = queue(a, "wholly", List.of(rcpt("nobody@final.test")), e -> e, "");
        }
        try (TestMx other =
                TestMx.builder()
                        .recipientReply("nobody@final.test", "550 5.1.1 no such user here")
                        .start()) {
            CliRun r =
                    CliRun.run(
                            "queue",
                            "drain",
                            "--config",
                            aConfig.toString(),
                            "--to",
                            "127.0.0.1:" + other.port());

            assertEquals(1, r.exit(), r.out() + r.err());
            assertTrue(
                    r.out()
                            .contains(
                                    partly
                                            + ": handed over as Q1 (1 recipient(s); 1 refused, left here)"),
                    r.out());
            assertTrue(
                    r.out()
                            .contains(
                                    wholly
                                            + ": left here: 127.0.0.1[127.0.0.1]:"
                                            + other.port()
                                            + " refused it at RCPT TO: 550 5.1.1 no such user here"),
                    r.out());
            assertTrue(r.out().contains("handed over: 0, left: 2, failed: 0"), r.out());
            assertTrue(
                    r.err().contains("to=<nobody@final.test>, relay=127.0.0.1[127.0.0.1]:"),
                    r.err());
            assertTrue(r.err().contains("status=left (550 5.1.1 no such user here)"), r.err());
            assertEquals(1, other.messages().size());
            assertEquals(1, other.messages().get(0).rcptTo().size());
        }
        try (SpoolAdmin admin = SpoolAdmin.open(aSpool)) {
            QueuedMessage p = admin.find(partly).orElseThrow();
            RecipientStatus ok = p.envelope().recipients().get(0);
            assertEquals(RecipientStatus.State.DELIVERED, ok.state());
            assertTrue(ok.lastReply().startsWith("handed over to 127.0.0.1:"), ok.lastReply());
            assertEquals(
                    List.of("nobody@final.test"),
                    p.envelope().pending().stream().map(RecipientStatus::address).toList());
            assertTrue(admin.find(wholly).isPresent());
        }
    }

    /**
     * The other relay takes the data and never answers: each such message stays here as failed (it may have been
     * taken, RFC 1047), and the drain opens a new connection for the next.
     */
    @Test
    void aMessageWhoseReplyNeverComesStaysHereAsFailed() throws Exception {
        try (Spool a = Spool.open(aSpool, Spool.Options.defaults())) {
            queue(a, "silent1", List.of(rcpt("ok@final.test")), e -> e, "");
            queue(a, "silent2", List.of(rcpt("ok@final.test")), e -> e, "");
        }
        try (TestMx other = TestMx.builder().silentAt(TestMx.Silence.END_OF_DATA).start()) {
            CliRun r =
                    CliRun.run(
                            "queue",
                            "drain",
                            "--config",
                            aConfig.toString(),
                            "--to",
                            "127.0.0.1:" + other.port(),
                            "--timeout",
                            "1s");

            assertEquals(1, r.exit(), r.out() + r.err());
            assertTrue(r.out().contains("handed over: 0, left: 0, failed: 2"), r.out());
            assertTrue(r.out().contains("it may have been taken all the same"), r.out());
            assertEquals(2, other.connections().size(), "a new connection for the second message");
        }
        try (SpoolAdmin admin = SpoolAdmin.open(aSpool)) {
            assertEquals(2, admin.list().size());
        }
    }
}
