package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.auth.PasswordHash;
import org.tlsrelay.core.config.RelayConfig;

/**
 * Issue 13: at accept, one INFO line per message in Postfix's shape, led by the queue id, with the same fields as MDC
 * keys for the JSON log format. And issue 11 §4: a client that goes away is one INFO line, never a stack trace.
 */
class AcceptLogTest {
    static final RelayConfig.User APP =
            new RelayConfig.User("app", PasswordHash.bcrypt("app-secret".toCharArray(), 4));

    @TempDir Path dir;

    final ListAppender<ILoggingEvent> events = new ListAppender<>();
    final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    final Logger subetha = (Logger) LoggerFactory.getLogger("org.subethamail");
    Level subethaLevel;

    @BeforeEach
    void capture() {
        events.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        events.start();
        root.addAppender(events);
        subethaLevel = subetha.getLevel();
        subetha.setLevel(Level.INFO); // to see a WARN with a trace if it still came
    }

    @AfterEach
    void release() {
        root.detachAppender(events);
        subetha.setLevel(subethaLevel);
    }

    @Test
    void oneLineAtAcceptLedByTheQueueIdInTextAndAsKeysInJson() throws Exception {
        String id;
        try (InboundFixture f =
                        InboundFixture.builder()
                                .networks("10.0.0.0/8")
                                .tls()
                                .users(APP)
                                .start(dir);
                RawSmtpClient c = f.connect()) {
            c.command("EHLO mta.example.org");
            RawSmtpClient.expect(c.command("STARTTLS"), 220);
            c.startTls(f.clientTls(), "localhost");
            c.command("EHLO mta.example.org");
            String auth =
                    Base64.getEncoder()
                            .encodeToString("\0app\0app-secret".getBytes(StandardCharsets.UTF_8));
            RawSmtpClient.expect(c.command("AUTH PLAIN " + auth), 235);
            RawSmtpClient.Reply r =
                    c.sendMessage(
                            "a@example.org",
                            List.of("b@example.com", "c@example.net"),
                            "Subject: logged\r\nMessage-ID:\r\n <x.1@example.org>\r\n\r\nbody\r\n");
            id = InboundServerTest.queuedId(r);
            c.command("QUIT");
        }
        List<ILoggingEvent> lines =
                events.list.stream()
                        .filter(e -> e.getFormattedMessage().startsWith(id + ": "))
                        .toList();
        assertEquals(1, lines.size(), events.list.toString());
        ILoggingEvent e = lines.get(0);
        assertEquals(Level.INFO, e.getLevel());
        String size = e.getMDCPropertyMap().get("size");
        assertEquals(
                id
                        + ": client=mta.example.org[127.0.0.1], sasl_username=app, tls=TLSv1.3,"
                        + " from=<a@example.org>, size="
                        + size
                        + ", nrcpt=2, message-id=<x.1@example.org>",
                e.getFormattedMessage());
        assertTrue(Long.parseLong(size) > 100);

        JsonEncoder json = new JsonEncoder(); // as the relay's logback.xml sets it up
        json.setContext(events.getContext());
        json.setWithFormattedMessage(true);
        json.setWithMessage(false);
        json.setWithArguments(false);
        json.start();
        JsonNode mdc =
                new ObjectMapper()
                        .readTree(new String(json.encode(e), StandardCharsets.UTF_8))
                        .get("mdc");
        assertEquals(id, mdc.get("queueId").asText());
        assertEquals("mta.example.org[127.0.0.1]", mdc.get("client").asText());
        assertEquals("app", mdc.get("sasl_username").asText());
        assertEquals("TLSv1.3", mdc.get("tls").asText());
        assertEquals("a@example.org", mdc.get("from").asText());
        assertEquals(size, mdc.get("size").asText());
        assertEquals("2", mdc.get("nrcpt").asText());
        assertEquals("x.1@example.org", mdc.get("message-id").asText());
    }

    @Test
    void withoutTlsAuthOrMessageIdThoseFieldsAreLeftOut() throws Exception {
        String id;
        try (InboundFixture f = InboundFixture.builder().start(dir);
                RawSmtpClient c = f.ehlo()) {
            id =
                    InboundServerTest.queuedId(
                            c.sendMessage("", List.of("b@example.com"), "Subject: bounce\r\n\r\n"));
        }
        String line =
                events.list.stream()
                        .map(ILoggingEvent::getFormattedMessage)
                        .filter(m -> m.startsWith(id + ": "))
                        .findFirst()
                        .orElseThrow();
        assertTrue(
                line.matches(
                        id
                                + ": client=client\\.test\\[127\\.0\\.0\\.1\\], from=<>, size=\\d+, nrcpt=1"),
                line);
    }

    @Test
    void aClientThatGoesAwayInTheMiddleOfAuthIsOneInfoLine() throws Exception {
        try (InboundFixture f =
                InboundFixture.builder().networks("10.0.0.0/8").tls().users(APP).start(dir)) {
            try (RawSmtpClient c = f.ehlo()) {
                RawSmtpClient.expect(c.command("STARTTLS"), 220);
                c.startTls(f.clientTls(), "localhost");
                c.command("EHLO mta.example.org");
                RawSmtpClient.expect(c.command("AUTH LOGIN"), 334);
            }
            org.tlsrelay.testkit.Await.until(
                    () -> f.server.connections() == 0,
                    java.time.Duration.ofSeconds(10),
                    "the server to see the client go");
        }
        assertTrue(
                events.list.stream()
                        .anyMatch(
                                e ->
                                        e.getFormattedMessage()
                                                .startsWith(
                                                        "lost connection after AUTH from mta.example.org[127.0.0.1]")),
                events.list.toString());
        assertQuiet();
    }

    @Test
    void clientsThatGoAwayAreLoggedAtInfoWithoutStackTraces() throws Exception {
        try (InboundFixture f = InboundFixture.builder().start(dir)) {
            try (RawSmtpClient c = f.ehlo()) {
                c.send("MAIL FROM:<a@exa"); // gone in the middle of a line
            }
            try (RawSmtpClient c = f.ehlo()) {
                c.command("MAIL FROM:<a@example.org>");
                c.command("RCPT TO:<b@example.com>");
                RawSmtpClient.expect(c.command("DATA"), 354);
                c.send("Subject: half\r\n");
                c.socket().setSoLinger(true, 0); // a reset, not a goodbye
            }
            try (RawSmtpClient c = f.connect()) {
                c.socket().setSoLinger(true, 0);
            }
            org.tlsrelay.testkit.Await.until(
                    () -> f.server.connections() == 0,
                    java.time.Duration.ofSeconds(10),
                    "the server to see every client go");
            assertEquals(List.of(), f.files("incoming"));
        }
        List<String> lost =
                events.list.stream()
                        .map(ILoggingEvent::getFormattedMessage)
                        .filter(m -> m.startsWith("lost connection after "))
                        .toList();
        assertEquals(3, lost.size(), lost.toString());
        for (String after :
                List.of(
                        "lost connection after EHLO from client.test[127.0.0.1]",
                        "lost connection after DATA from client.test[127.0.0.1]",
                        "lost connection after CONNECT from unknown[127.0.0.1]")) {
            assertTrue(lost.stream().anyMatch(l -> l.startsWith(after)), after + " in " + lost);
        }
        assertQuiet();
    }

    /** Nothing above INFO and no stack trace from the inbound server or SubEthaSMTP. */
    private void assertQuiet() {
        for (ILoggingEvent e : events.list) {
            boolean ours = e.getLoggerName().startsWith("org.tlsrelay.smtp.inbound");
            boolean theirs = e.getLoggerName().startsWith("org.subethamail");
            if (ours || theirs) {
                assertNull(e.getThrowableProxy(), "a stack trace: " + e);
                assertFalse(
                        e.getLevel().isGreaterOrEqual(Level.WARN),
                        "above INFO: " + e.getFormattedMessage());
            }
        }
    }
}
