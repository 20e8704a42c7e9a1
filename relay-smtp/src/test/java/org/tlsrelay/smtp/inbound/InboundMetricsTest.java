package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.metrics.RelayMetrics;

/** The inbound server counts what it queues and what it refuses, by reason. */
class InboundMetricsTest {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final RelayMetrics metrics = new RelayMetrics(registry, Clock.systemUTC());

    @TempDir Path dir;

    double count(String name, String... tags) {
        return registry.get(name).tags(tags).counter().count();
    }

    @Test
    void countsQueuedMessagesAndRefusalsByReason() throws Exception {
        try (InboundFixture f =
                        InboundFixture.builder().maxSize("1KB").metrics(metrics).start(dir);
                RawSmtpClient c = f.ehlo()) {
            RawSmtpClient.expect(
                    c.sendMessage(
                            "a@example.org",
                            List.of("b@example.com"),
                            "Subject: hi\r\n\r\nhello\r\n"),
                    250);
            RawSmtpClient.expect(c.command("MAIL FROM:<a@example.org> SIZE=999999"), 552);
            RawSmtpClient.expect(c.command("MAIL FROM:<a@example.org>"), 250);
            RawSmtpClient.expect(c.command("RCPT TO:<@route.example:b@example.com>"), 550);
            RawSmtpClient.expect(c.command("RCPT TO:<b@example.com>"), 250);
            RawSmtpClient.expect(c.command("DATA"), 354);
            c.send("Subject: bare\n\nsmuggled\n.\n");
            c.send("\r\n.\r\n");
            RawSmtpClient.expect(c.reply(), 550);

            assertEquals(1, count("tlsrelay.messages.accepted"));
            assertEquals(1, count("tlsrelay.messages.rejected", "reason", "message-size"));
            assertEquals(1, count("tlsrelay.messages.rejected", "reason", "bad-recipient"));
            assertEquals(1, count("tlsrelay.messages.rejected", "reason", "bare-newline"));
            assertEquals(0, count("tlsrelay.messages.rejected", "reason", "relay-denied"));
        }
        try (InboundFixture f =
                        InboundFixture.builder()
                                .networks("192.0.2.0/24")
                                .metrics(metrics)
                                .start(dir.resolve("closed"));
                RawSmtpClient c = f.ehlo()) {
            RawSmtpClient.expect(c.command("MAIL FROM:<a@example.org>"), 250);
            RawSmtpClient.expect(c.command("RCPT TO:<b@example.com>"), 554);
            assertEquals(1, count("tlsrelay.messages.rejected", "reason", "relay-denied"));
        }
    }
}
