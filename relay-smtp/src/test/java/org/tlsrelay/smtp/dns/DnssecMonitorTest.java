package org.tlsrelay.smtp.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.tlsrelay.testkit.DnsProxy;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.MutableClock;
import org.tlsrelay.testkit.SignedZone;

/** What the relay says about answers it cannot validate: one WARN line per name, one ERROR for a broken resolver. */
class DnssecMonitorTest {
    private DnsStubServer dns;
    private SignedZone root;
    private ListAppender<ILoggingEvent> logs;
    private Logger logger;

    @BeforeEach
    void start() throws Exception {
        dns = DnsStubServer.start();
        root = SignedZone.signed("test");
        dns.serve(root);
        logger = (Logger) LoggerFactory.getLogger(DnssecMonitor.class);
        logs = new ListAppender<>();
        logs.start();
        logger.addAppender(logs);
    }

    @AfterEach
    void stop() {
        logger.detachAppender(logs);
        dns.close();
    }

    private DnssecMonitor monitor(org.tlsrelay.core.config.HostPort server, Clock clock) {
        return new DnssecMonitor(
                new DnssecProbe(
                        List.of(server.toSocketAddress()),
                        Duration.ofSeconds(2),
                        new TrustAnchors(root.trustAnchor(), "test anchors"),
                        clock),
                clock);
    }

    private List<ILoggingEvent> at(Level level) {
        return logs.list.stream().filter(e -> e.getLevel() == level).toList();
    }

    @Test
    void eachNameThatCannotBeValidatedIsOneWarnLinePerQuietPeriodAndCounts() {
        MutableClock clock = new MutableClock(java.time.Instant.parse("2026-12-01T00:00:00Z"));
        try (DnssecMonitor m = monitor(dns.address(), clock)) {
            m.failed("mx.bogus.test/A", "bogus: signature invalid");
            m.failed("mx.bogus.test/A", "bogus: signature invalid");
            m.failed("other.test/MX", "bogus: no signatures");
            assertEquals(3, m.failures());
            List<ILoggingEvent> warns = at(Level.WARN);
            assertEquals(2, warns.size(), warns.toString());
            assertTrue(
                    warns.get(0)
                            .getFormattedMessage()
                            .contains("mx.bogus.test/A cannot be validated"));
            assertTrue(
                    warns.stream().allMatch(e -> e.getThrowableProxy() == null), "no stack trace");
            assertFalse(warns.get(0).getFormattedMessage().contains("\n"));

            clock.advance(DnssecMonitor.QUIET);
            m.failed("mx.bogus.test/A", "bogus: signature invalid");
            assertEquals(3, at(Level.WARN).size());
        }
    }

    @Test
    void aResolverThatCannotBeCheckedAtStartIsOneErrorAndTheGaugeIsDown() throws Exception {
        try (DnsProxy refusing =
                        DnsProxy.start(
                                dns.address(), DnsProxy.Rule.always(DnsProxy.Action.REFUSED));
                DnssecMonitor m = monitor(refusing.address(), Clock.systemUTC())) {
            DnssecProbe.Result r = m.start();
            assertTrue(r.misconfiguration().isEmpty());
            assertFalse(m.validating());
            List<ILoggingEvent> errors = at(Level.ERROR);
            assertEquals(1, errors.size(), errors.toString());
            assertTrue(errors.get(0).getFormattedMessage().contains("Validation stays on"));
        }
        try (DnssecMonitor ok = monitor(dns.address(), Clock.systemUTC())) {
            assertTrue(ok.start().validates());
            assertTrue(ok.validating());
        }
    }
}
