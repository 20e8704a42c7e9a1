package org.tlsrelay.core.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/** Postfix-shaped lines: the text for people and grep, the same fields as MDC keys for the JSON format. */
class LogLineTest {
    @Test
    void theQueueIdLeadsAndFieldsKeepTheirOrder() {
        LogLine l =
                LogLine.of("1j1v7tv5ks0lsh")
                        .add("client", "mta.example.org[192.0.2.1]")
                        .addIfPresent("sasl_username", "")
                        .addIfPresent("tls", "TLSv1.3")
                        .path("from", "a@example.org")
                        .add("size", 10240)
                        .add("nrcpt", 2)
                        .path("message-id", "x@y");
        assertEquals(
                "1j1v7tv5ks0lsh: client=mta.example.org[192.0.2.1], tls=TLSv1.3, from=<a@example.org>,"
                        + " size=10240, nrcpt=2, message-id=<x@y>",
                l.text());
        assertEquals(
                Map.of(
                        "queueId", "1j1v7tv5ks0lsh",
                        "client", "mta.example.org[192.0.2.1]",
                        "tls", "TLSv1.3",
                        "from", "a@example.org",
                        "size", "10240",
                        "nrcpt", "2",
                        "message-id", "x@y"),
                l.keys());
        assertEquals(
                "Q: to=<>, status=sent (250 2.0.0 Ok)",
                LogLine.of("Q").path("to", "").add("status", "sent").note("250 2.0.0 Ok").text());
    }

    @Test
    void valuesFromTheNetworkCannotForgeLinesOrGrowWithoutBound() {
        String forged = LogLine.of("Q").path("message-id", "x@y>\r\nQ2: status=sent").text();
        assertEquals("Q: message-id=<x@y>??Q2: status=sent>", forged);
        String longOne = LogLine.of("Q").add("helo", "a".repeat(5000)).text();
        assertEquals("Q: helo=".length() + LogLine.MAX_VALUE + 3, longOne.length());
    }

    @Test
    void theFieldsAreMdcKeysWhileTheLineIsLoggedAndOnlyThen() {
        Logger log = (Logger) LoggerFactory.getLogger("org.tlsrelay.test.LogLineTest");
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        events.start();
        log.addAppender(events);
        MDC.put("queueId", "OUTER");
        try {
            LogLine.of("Q").path("from", "a@b").add("size", 1).info(log);
            assertEquals("OUTER", MDC.get("queueId"), "restored");
            assertNull(MDC.get("from"));
        } finally {
            MDC.remove("queueId");
            log.detachAppender(events);
        }
        ILoggingEvent e = events.list.get(0);
        assertEquals("Q: from=<a@b>, size=1", e.getFormattedMessage());
        assertEquals("Q", e.getMDCPropertyMap().get("queueId"));
        assertEquals("a@b", e.getMDCPropertyMap().get("from"));
        assertEquals("1", e.getMDCPropertyMap().get("size"));
    }
}
