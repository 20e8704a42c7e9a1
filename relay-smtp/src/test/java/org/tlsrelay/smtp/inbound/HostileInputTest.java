package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.tlsrelay.testkit.Await;

/**
 * Every byte from the network is hostile: 300 sessions of seeded random junk (commands, control bytes, invalid
 * UTF-8, long lines, pipelined bodies, abrupt resets) leave the server serving, every connection closed, and no
 * warning or stack trace in the log.
 */
class HostileInputTest {
    static final String[] WORDS = {
        "EHLO x.test",
        "HELO",
        "MAIL FROM:<a@example.org>",
        "MAIL FROM:<>",
        "RCPT TO:<b@example.com>",
        "RCPT TO:<postmaster>",
        "DATA",
        "BDAT 5",
        "RSET",
        "NOOP",
        "STARTTLS",
        "AUTH PLAIN AAAA",
        "AUTH LOGIN",
        "VRFY x",
        "QUIT",
        ".",
        "MAIL FROM:<a@example.org> SIZE=99999999999999999999",
        "RCPT TO:<\"a@b\"@example.com>",
        "MAIL FROM:<@a,@b:c@d>",
        "",
        " ",
        "DATA\r\nx\r\n.",
    };

    @TempDir Path dir;

    @Test
    void randomJunkNeverCrashesOrLeaksAndTheNextClientIsServed() throws Exception {
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        events.start();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(events);
        Random random = new Random(20261211);
        try (InboundFixture f =
                InboundFixture.builder()
                        .maxConnections(400)
                        .exempt("127.0.0.0/8")
                        .timeouts(Duration.ofSeconds(2), Duration.ofSeconds(5))
                        .start(dir)) {
            for (int s = 0; s < 300; s++) {
                try (RawSmtpClient c = new RawSmtpClient(f.address())) {
                    c.sendBytes(junk(random));
                    if (random.nextBoolean()) {
                        c.socket().setSoLinger(true, 0); // a reset instead of a goodbye
                    }
                } catch (IOException e) {
                    // the server may well have closed on us: that is its right
                }
            }
            Await.until(
                    () -> f.server.connections() == 0,
                    Duration.ofSeconds(30),
                    "every hostile session to end");
            try (RawSmtpClient c = f.ehlo()) {
                assertEquals(
                        250,
                        c.sendMessage(
                                        "a@example.org",
                                        List.of("b@example.com"),
                                        "Subject: after the storm\r\n\r\n")
                                .code());
            }
        } finally {
            root.detachAppender(events);
        }
        for (ILoggingEvent e : events.list) {
            if (e.getLoggerName().startsWith("org.tlsrelay.smtp.inbound")
                    || e.getLoggerName().startsWith("org.subethamail")) {
                assertNull(e.getThrowableProxy(), "a stack trace: " + e);
                assertFalse(e.getLevel().isGreaterOrEqual(Level.WARN), e.toString());
            }
        }
    }

    private static byte[] junk(Random r) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int parts = 1 + r.nextInt(30);
        for (int i = 0; i < parts; i++) {
            switch (r.nextInt(6)) {
                case 0, 1, 2 ->
                        b.writeBytes(
                                (WORDS[r.nextInt(WORDS.length)] + "\r\n")
                                        .getBytes(StandardCharsets.UTF_8));
                case 3 -> {
                    byte[] x = new byte[r.nextInt(200)];
                    r.nextBytes(x); // NUL, bare CR and LF, 0xff...
                    b.writeBytes(x);
                }
                case 4 -> b.writeBytes(("NOOP " + "z".repeat(r.nextInt(3000)) + "\r\n").getBytes());
                default -> b.writeBytes("\n.\n\r.\r\r\n.\r\n".getBytes(StandardCharsets.US_ASCII));
            }
        }
        return b.toByteArray();
    }
}
