package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.net.InetAddress;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.smtp.outbound.DeliveryTarget;

/** The pieces of the per-recipient line that are arithmetic or choice, not plumbing. */
class DeliveryLogTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @ParameterizedTest(name = "{0} ms -> {1}")
    @CsvSource({
        "0, 0",
        "3, 0.003",
        "10, 0.01",
        "300, 0.3",
        "567, 0.57",
        "1000, 1",
        "1249, 1.2",
        "9999, 10",
        "9949, 9.9",
        "9950, 10",
        "1250, 1.3",
        "1050, 1.1",
        "995, 1",
        "994, 0.99",
        "15, 0.02",
        "105, 0.11",
        "9, 0.009",
        "12345, 12",
        "3600000, 3600",
        "-5, 0"
    })
    void printsSecondsAsPostfixDoes(long millis, String text) {
        assertEquals(text, DeliveryLog.seconds(T0, T0.plusMillis(millis)));
    }

    @ParameterizedTest(name = "RCPT TO:<{0}> ORCPT={1} -> orcpt={2}")
    @CsvSource({
        "bob@example.com, '',                           ''",
        "bob@example.com, rfc822;bob@example.com,       ''",
        "bob@example.com, RFC822;bobby@alias.example,   <bobby@alias.example>",
        "bob@example.com, utf-8;bøb@example.com,        utf-8;bøb@example.com",
    })
    void namesTheOriginalRecipientOnlyWhenItDiffers(String to, String orcpt, String shown) {
        RecipientStatus rs = RecipientStatus.pending(to, Set.of(), orcpt, T0);
        assertEquals(shown, DeliveryLog.orcpt(rs));
    }

    @Test
    void anMxReplyCannotForgeALogLine() throws Exception {
        Logger log = (Logger) LoggerFactory.getLogger(DeliveryLog.class);
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        events.start();
        log.addAppender(events);
        try {
            DeliveryTarget mx =
                    new DeliveryTarget("mx.example.com", InetAddress.getByName("192.0.2.10"), 25);
            DomainResult.Outcome o =
                    new DomainResult.Outcome(
                            RecipientStatus.pending("bob@example.com", Set.of(), "", T0),
                            RecipientStatus.State.DELIVERED,
                            "250 ok\r\nQ2: to=<eve@example.com>, status=sent \u001b[2J",
                            "mx.example.com",
                            false,
                            new Trace(new Trace.Relay.Mx(mx, "none"), "none", T0, T0, T0, T0));
            DeliveryLog.recipient("Q1", T0, o, Settlement.Status.SENT);
            ILoggingEvent e = events.list.get(0);
            assertEquals(
                    "Q1: to=<bob@example.com>, relay=mx.example.com[192.0.2.10]:25, delay=0, delays=0/0/0/0,"
                            + " tls=none, policy=none, dsn=2.0.0, status=sent"
                            + " (250 ok??Q2: to=<eve@example.com>, status=sent ?[2J)",
                    e.getFormattedMessage());
            assertEquals(
                    "250 ok??Q2: to=<eve@example.com>, status=sent ?[2J",
                    e.getMDCPropertyMap().get("reply"));
        } finally {
            log.detachAppender(events);
        }
    }
}
