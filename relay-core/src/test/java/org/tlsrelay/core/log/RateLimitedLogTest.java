package org.tlsrelay.core.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.tlsrelay.testkit.MutableClock;

class RateLimitedLogTest {
    private final MutableClock clock = MutableClock.atFixedStart();
    private Logger logger;
    private ListAppender<ILoggingEvent> lines;
    private RateLimitedLog log;

    @BeforeEach
    void capture() {
        logger = (Logger) LoggerFactory.getLogger(RateLimitedLogTest.class);
        lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        log = new RateLimitedLog(logger, Duration.ofMinutes(1), clock);
    }

    @AfterEach
    void release() {
        logger.detachAppender(lines);
    }

    private List<String> messages() {
        return lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void writesOneLinePerCausePerPeriodAndCountsWhatItHeldBack() {
        assertTrue(log.error("No space left on device", "queue {}: cannot record: {}", "q1", "x"));
        for (int i = 2; i <= 100; i++) {
            clock.advance(Duration.ofMillis(100));
            assertFalse(log.error("No space left on device", "queue {}: cannot record", "q" + i));
        }
        assertTrue(log.warn("Input/output error", "queue {}: cannot read", "q7"));
        assertEquals(List.of("queue q1: cannot record: x", "queue q7: cannot read"), messages());

        clock.advance(Duration.ofMinutes(1));
        assertTrue(log.error("No space left on device", "queue {}: cannot record", "q101"));
        assertEquals(
                "queue q101: cannot record (99 more like it since 2025-01-01T00:00:00Z)",
                messages().get(2));
        assertFalse(log.error("No space left on device", "queue {}: cannot record", "q102"));
        assertEquals(3, messages().size());
    }

    @Test
    void theCauseOfAnIoErrorLeavesOutTheFile() {
        IOException wrapped =
                new IOException(
                        "fsync of directory /spool/incoming failed: No space left on device",
                        new IOException("No space left on device"));
        assertEquals("No space left on device", RateLimitedLog.cause(wrapped));
        assertEquals(
                "No space left on device",
                RateLimitedLog.cause(
                        new FileSystemException(
                                "/spool/incoming/a.json.tmp", null, "No space left on device")));
        assertEquals("I/O error", RateLimitedLog.cause(new IOException()));
    }
}
