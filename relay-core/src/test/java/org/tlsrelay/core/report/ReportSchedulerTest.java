package org.tlsrelay.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.FakeDnsResolver;
import org.tlsrelay.testkit.MutableClock;

/** The daily job: when it runs, and the catch-up of a relay that was down at midnight. */
class ReportSchedulerTest {
    @TempDir Path dir;

    ReportService service(MutableClock clock, ReportServiceTest.FakeTransport transport) {
        FakeDnsResolver dns =
                new FakeDnsResolver()
                        .txt("_smtp._tls.example.com", "v=TLSRPTv1; rua=https://r.example.com/x");
        return new ReportService(
                new OutcomeLog(dir),
                new ReportOutbox(dir),
                new TlsRptLookup(dns),
                List.of(transport),
                ReportService.Settings.defaults(AggregatorTest.ID),
                clock);
    }

    @Test
    void theDailyRunStartsAfterMidnightUtcWithinTheJitter() {
        MutableClock clock = new MutableClock(Instant.parse("2025-06-01T13:45:00Z"));
        ReportScheduler s =
                new ReportScheduler(
                        service(clock, new ReportServiceTest.FakeTransport()),
                        Duration.ofMinutes(30),
                        Duration.ofMinutes(1));
        Instant midnight = Instant.parse("2025-06-02T00:00:00Z");
        for (int i = 0; i < 200; i++) {
            Instant next = s.nextDailyRun(clock.instant());
            assertFalse(next.isBefore(midnight.plus(ReportScheduler.MIN_DELAY)), next.toString());
            assertFalse(next.isAfter(midnight.plus(Duration.ofMinutes(30))), next.toString());
        }
        assertThrows(
                IllegalArgumentException.class,
                () ->
                        new ReportScheduler(
                                service(clock, new ReportServiceTest.FakeTransport()),
                                Duration.ofSeconds(10),
                                Duration.ofMinutes(1)));
    }

    @Test
    void startingSendsYesterdaysReportsThatWereNotSentYet() throws Exception {
        try (OutcomeRecorder r =
                OutcomeRecorder.start(new OutcomeLog(dir), OutcomeRecorder.Settings.defaults())) {
            r.record(
                    Outcomes.success(
                            Instant.parse("2025-06-01T10:00:00Z"),
                            Outcomes.sts("example.com", PolicyMode.ENFORCE, "mx1.example.com"),
                            "mx1.example.com",
                            "x"));
        }
        MutableClock clock = new MutableClock(Instant.parse("2025-06-02T09:00:00Z"));
        ReportServiceTest.FakeTransport transport = new ReportServiceTest.FakeTransport();
        ReportScheduler scheduler =
                new ReportScheduler(
                        service(clock, transport), Duration.ofMinutes(30), Duration.ofHours(1));
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
        try {
            scheduler.start(executor);
            Await.until(
                    () -> transport.sent.size() == 1,
                    Duration.ofSeconds(10),
                    "yesterday's report sent");
            scheduler.stop();
            executor.shutdown(); // lets the run in progress record what it sent
            assertTrue(executor.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            executor.shutdownNow();
        }
        assertEquals(List.of("https://r.example.com/x"), transport.sent);
        assertEquals(
                OutboxEntry.State.SENT,
                new ReportOutbox(dir)
                        .load(java.time.LocalDate.parse("2025-06-01"), "example.com")
                        .orElseThrow()
                        .deliveries()
                        .get(0)
                        .state());
    }
}
