package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.EnvelopeCodec;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.smtp.inbound.RawSmtpClient.Reply;

class InboundServerTest {
    private static final Pattern QUEUED =
            Pattern.compile("250 2\\.0\\.0 Ok: queued as ([0-9a-v]{14})");

    @TempDir Path dir;

    static String queuedId(Reply r) {
        Matcher m = QUEUED.matcher(r.last());
        assertTrue(m.matches(), r.text());
        return m.group(1);
    }

    @Test
    void aClientInTheAllowedNetworksRelaysAndTheFilesAreOnDiskWhenTheClientSees250()
            throws IOException {
        String content = "Subject: hello\r\n\r\nline 1\r\n..dot-stuffed\r\n";
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            String id =
                    queuedId(
                            c.sendMessage(
                                    "alice@example.org", List.of("bob@example.com"), content));
            // No waiting: the server answered only after the files were renamed and fsynced.
            assertEquals(List.of(id + ".eml", id + ".json"), f.files("incoming"));
            String stored = Files.readString(f.spoolFile("incoming", id + ".eml"));
            assertTrue(
                    stored.matches(
                            "(?s)Received: from client\\.test \\(\\[127\\.0\\.0\\.1]\\)\r\n"
                                    + "\tby relay\\.test \\(tlsrelay\\) with ESMTP id "
                                    + id
                                    + "\r\n"
                                    + "\tfor <bob@example\\.com>;\r\n\t\\w{3}, \\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000\r\n"
                                    + "Subject: hello\r\n\r\nline 1\r\n\\.dot-stuffed\r\n"),
                    stored);
            Envelope env =
                    EnvelopeCodec.decode(Files.readAllBytes(f.spoolFile("incoming", id + ".json")));
            assertEquals("alice@example.org", env.sender());
            assertEquals("bob@example.com", env.recipients().get(0).address());
            assertEquals("127.0.0.1", env.source().address());
            assertEquals("client.test", env.source().helo());
            assertEquals(id, f.spool.takeDue(1).get(0).id());
        }
    }

    @Test
    void keepsBodySmtputf8AndDsnParametersInTheEnvelope() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            RawSmtpClient.expect(
                    c.command(
                            "MAIL FROM:<jörg@exämple.org> BODY=8BITMIME SMTPUTF8 RET=HDRS "
                                    + "ENVID=QQ+2B1234 SIZE=100"),
                    250);
            RawSmtpClient.expect(
                    c.command(
                            "RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE "
                                    + "ORCPT=rfc822;bob+2Bx@example.com"),
                    250);
            RawSmtpClient.expect(c.command("RCPT TO:<carol@example.net> NOTIFY=NEVER"), 250);
            RawSmtpClient.expect(c.command("DATA"), 354);
            String id = queuedId(c.send("Subject: ü\r\n\r\nx\r\n.\r\n").reply());
            Envelope env =
                    EnvelopeCodec.decode(Files.readAllBytes(f.spoolFile("incoming", id + ".json")));
            assertEquals("jörg@exämple.org", env.sender());
            assertEquals(Envelope.BodyType.EIGHT_BIT_MIME, env.body());
            assertTrue(env.smtpUtf8());
            assertEquals(Envelope.Ret.HDRS, env.ret());
            assertEquals("QQ+1234", env.envid());
            RecipientStatus bob = env.recipients().get(0);
            assertEquals(
                    Set.of(RecipientStatus.Notify.SUCCESS, RecipientStatus.Notify.FAILURE),
                    bob.dsnNotify());
            assertEquals("rfc822;bob+x@example.com", bob.orcpt());
            assertEquals(Set.of(RecipientStatus.Notify.NEVER), env.recipients().get(1).dsnNotify());
            assertTrue(
                    Files.readString(f.spoolFile("incoming", id + ".eml"))
                            .contains("with UTF8SMTP id " + id));
        }
    }

    @Test
    void ehloAdvertisesWhatTheServerHonours() throws IOException {
        try (InboundFixture f = InboundFixture.builder().maxSize("1MB").start(dir);
                RawSmtpClient c = f.connect()) {
            Reply r = c.command("EHLO client.test");
            assertEquals(
                    List.of(
                            "250-relay.test",
                            "250-PIPELINING",
                            "250-SIZE 1048576",
                            "250-ENHANCEDSTATUSCODES",
                            "250-8BITMIME",
                            "250-DSN",
                            "250 SMTPUTF8"),
                    r.lines());
        }
    }

    @Test
    void pipelinedCommandsGetTheirRepliesInOrderAndDataNeverSwallowsTheNextCommands()
            throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            c.send(
                    "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n");
            assertEquals(250, c.reply().code());
            assertEquals(250, c.reply().code());
            assertEquals(250, c.reply().code());
            assertEquals(354, c.reply().code());
            // The end of the first message and a whole second transaction in one packet (RFC 2920).
            c.send(
                    "Subject: 1\r\n\r\none\r\n.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<d@example.com>\r\nDATA\r\n");
            String first = queuedId(c.reply());
            assertEquals(250, c.reply().code());
            assertEquals(250, c.reply().code());
            assertEquals(354, c.reply().code());
            String second = queuedId(c.send("Subject: 2\r\n\r\ntwo\r\n.\r\nQUIT\r\n").reply());
            assertEquals(221, c.reply().code());
            assertTrue(
                    Files.readString(f.spoolFile("incoming", first + ".eml"))
                            .endsWith("\r\n\r\none\r\n"));
            assertTrue(
                    Files.readString(f.spoolFile("incoming", second + ".eml"))
                            .endsWith("\r\n\r\ntwo\r\n"));
        }
    }

    @Test
    void dataAfterOnlyRefusedRecipientsIsRefusedWithoutReadingABody() throws IOException {
        try (InboundFixture f = InboundFixture.builder().networks("10.0.0.0/8").start(dir);
                RawSmtpClient c = f.ehlo()) {
            c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
            assertEquals(250, c.reply().code());
            assertEquals("554 5.7.1 <b@example.com>: Relay access denied", c.reply().last());
            assertEquals("554 5.5.1 Error: no valid recipients", c.reply().last());
        }
    }

    @Test
    void anIoErrorWhileQueueingAnswers451AndLeavesNoFiles() throws IOException {
        Spool.FaultHook full =
                (step, file) -> {
                    if (step == Spool.Step.SYNC_BODY) {
                        throw new IOException("No space left on device");
                    }
                };
        try (InboundFixture f =
                        InboundFixture.builder()
                                .spool(Spool.Options.defaults().withFaults(full))
                                .start(dir);
                RawSmtpClient c = f.ehlo()) {
            Reply r =
                    c.sendMessage(
                            "a@example.org",
                            List.of("b@example.com"),
                            "Subject: x\r\n\r\nbody\r\n");
            assertEquals("451 4.3.0 Error: queue file write error", r.last());
            assertEquals(List.of(), f.files("incoming"));
            assertEquals(250, c.command("NOOP").code(), "the session stays usable");
        }
    }

    @Test
    void aWriteErrorDuringDataIsReportedAfterTheWholeBodyWasRead() throws IOException {
        Spool.FaultHook full =
                (step, file) -> {
                    if (step == Spool.Step.WRITE_BODY) {
                        throw new IOException("No space left on device");
                    }
                };
        try (InboundFixture f =
                        InboundFixture.builder()
                                .spool(Spool.Options.defaults().withFaults(full))
                                .start(dir);
                RawSmtpClient c = f.ehlo()) {
            String big =
                    ("x".repeat(998) + "\r\n").repeat(200) + "MAIL FROM:<smuggled@example.org>\r\n";
            Reply r = c.sendMessage("a@example.org", List.of("b@example.com"), big);
            assertEquals("451 4.3.0 Error: queue file write error", r.last());
            assertEquals(
                    "250 2.0.0 Ok",
                    c.command("NOOP").last(),
                    "body lines were not run as commands");
            assertEquals(List.of(), f.files("incoming"));
        }
    }

    @Test
    void theReplyWaitsUntilTheSpoolHasSyncedTheDirectory() throws Exception {
        CountDownLatch inSync = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean armed =
                new java.util.concurrent.atomic.AtomicBoolean();
        Spool.FaultHook slowDisk =
                (step, file) -> {
                    if (armed.get()
                            && step == Spool.Step.SYNC_DIRECTORY
                            && file.endsWith("incoming")) {
                        inSync.countDown();
                        try {
                            release.await(10, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                };
        try (InboundFixture f =
                        InboundFixture.builder()
                                .spool(Spool.Options.defaults().withFaults(slowDisk))
                                .start(dir);
                RawSmtpClient c = f.ehlo()) {
            armed.set(true);
            RawSmtpClient.expect(c.command("MAIL FROM:<a@example.org>"), 250);
            RawSmtpClient.expect(c.command("RCPT TO:<b@example.com>"), 250);
            RawSmtpClient.expect(c.command("DATA"), 354);
            c.send("Subject: x\r\n\r\n.\r\n");
            assertTrue(inSync.await(10, TimeUnit.SECONDS));
            c.timeout(300);
            assertThrows(
                    SocketTimeoutException.class,
                    c::reply,
                    "no reply while the directory fsync is pending");
            release.countDown();
            c.timeout(10_000);
            queuedId(c.reply());
        }
    }

    @Test
    void anUnknownOrDisguisedCommandIsNotRecognised() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            assertEquals(500, c.command("FOO bar").code());
            assertEquals("500 5.5.2 Error: command not recognized", c.command("DATAX").last());
            assertEquals(502, c.command("BDAT 10 LAST").code());
            assertEquals(502, c.command("VRFY root").code());
            assertEquals("503 5.5.1 Error: need MAIL command", c.command("DATA").last());
            assertEquals("221 2.0.0 Bye", c.command("QUIT").last());
        }
    }

    @Test
    void mailBeforeHeloIsRefused() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.connect()) {
            assertEquals(
                    "503 5.5.1 Error: send HELO/EHLO first",
                    c.command("MAIL FROM:<a@example.org>").last());
        }
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "MAIL FROM:a@example.org",
                "MAIL FROM:<a@@example.org>",
                "MAIL FROM:<a@exa mple.org>",
                "MAIL FROM:<a@example.org> FOO=bar",
                "MAIL FROM:<a@example.org> BODY=BINARYMIME",
                "MAIL FROM:<a@example.org> RET=ALL",
                "MAIL FROM:<a@example.org> ENVID=a=b",
                "MAIL FROM:<jörg@example.org>",
                "MAIL FROM:<a@example.org> SIZE=1 SIZE=2"
            })
    void malformedMailCommandsAreRefusedWithA5xx(String command) throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            Reply r = c.command(command);
            assertTrue(r.code() >= 500 && r.code() < 600, command + " -> " + r);
            assertEquals(
                    250,
                    c.command("MAIL FROM:<a@example.org>").code(),
                    "no transaction was started");
        }
    }

    @Test
    void nullSenderIsAccepted() throws IOException {
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            String id =
                    queuedId(
                            c.sendMessage("", List.of("b@example.com"), "Subject: bounce\r\n\r\n"));
            assertTrue(f.spool.find(id).orElseThrow().envelope().nullSender());
        }
    }

    @Test
    void storedContentIsExactlyWhatWasSentAfterTheReceivedHeader() throws IOException {
        byte[] body = new byte[256 * 40];
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            for (int j = 0; j < 100; j++) {
                sb.append((char) (' ' + (i * 7 + j) % 90));
            }
            sb.append("\r\n");
        }
        body = sb.toString().getBytes(StandardCharsets.US_ASCII);
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            RawSmtpClient.expect(c.command("MAIL FROM:<a@example.org>"), 250);
            RawSmtpClient.expect(c.command("RCPT TO:<b@example.com>"), 250);
            RawSmtpClient.expect(c.command("DATA"), 354);
            c.sendBytes(dotStuff(body));
            String id = queuedId(c.send(".\r\n").reply());
            byte[] stored = Files.readAllBytes(f.spoolFile("incoming", id + ".eml"));
            byte[] tail =
                    java.util.Arrays.copyOfRange(
                            stored, stored.length - body.length, stored.length);
            assertArrayEquals(body, tail);
        }
    }

    static byte[] dotStuff(byte[] content) {
        String s = new String(content, StandardCharsets.ISO_8859_1);
        s = (s.startsWith(".") ? "." : "") + s.replace("\r\n.", "\r\n..");
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void concurrentSessionsAllGetTheirOwnQueueIds() throws Exception {
        try (InboundFixture f = InboundFixture.builder().start(dir)) {
            List<CompletableFuture<String>> runs = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int n = i;
                runs.add(
                        CompletableFuture.supplyAsync(
                                () -> {
                                    try (RawSmtpClient c = f.ehlo()) {
                                        return queuedId(
                                                c.sendMessage(
                                                        "a@example.org",
                                                        List.of("b" + n + "@example.com"),
                                                        "Subject: " + n + "\r\n\r\n"));
                                    } catch (IOException e) {
                                        throw new java.io.UncheckedIOException(e);
                                    }
                                }));
            }
            Set<String> ids = new java.util.HashSet<>();
            for (CompletableFuture<String> r : runs) {
                ids.add(r.get(30, TimeUnit.SECONDS));
            }
            assertEquals(8, ids.size());
            assertEquals(16, f.files("incoming").size());
        }
    }
}
