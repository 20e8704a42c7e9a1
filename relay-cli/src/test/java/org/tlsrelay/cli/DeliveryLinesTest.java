package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The delivery engine's per-recipient lines go through a background appender (logback.xml): none is dropped, not
 * even when they come faster than standard error takes them, they keep their order and their MDC fields, and a clean
 * stop (the relay stops the logger context last) writes every queued line.
 */
class DeliveryLinesTest {
    private static final String DELIVERY_LOG = "org.tlsrelay.smtp.delivery.DeliveryLog";

    private final PrintStream stderr = System.err;

    @AfterEach
    void restore() {
        System.setErr(stderr);
        LogFormat.TEXT.apply();
    }

    @Test
    void writesEveryLineInOrderByTheTimeTheLoggerContextStops() {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        LogFormat.TEXT.apply();
        Logger lines = LoggerFactory.getLogger(DELIVERY_LOG);
        int n = 20_000; // more than the queue holds
        for (int i = 0; i < n; i++) {
            MDC.put("queueId", "q" + i);
            try {
                if (i % 1000 == 999) {
                    lines.warn("q{}: no non-delivery notification", i);
                } else {
                    lines.info("q{}: to=<rcpt@example.test>, status=sent", i);
                }
            } finally {
                MDC.remove("queueId");
            }
        }

        RunCommand.flushLogs(); // what the relay does last at a clean stop

        List<String> out =
                captured.toString(StandardCharsets.UTF_8)
                        .lines()
                        .filter(l -> l.contains(" DeliveryLog "))
                        .toList();
        assertEquals(n, out.size(), "every line written");
        for (int i = 0; i < n; i++) {
            String line = out.get(i);
            assertTrue(
                    line.contains(" DeliveryLog q" + i + " ")
                            && line.endsWith(
                                    " q"
                                            + i
                                            + ": "
                                            + (i % 1000 == 999
                                                    ? "no non-delivery notification"
                                                    : "to=<rcpt@example.test>, status=sent")),
                    line);
            assertTrue(line.contains(i % 1000 == 999 ? " WARN " : " INFO "), line);
        }
    }
}
