package org.tlsrelay.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.testkit.Await;

/** The durable outcome log: per UTC day, append-only, across restarts and torn writes. */
class OutcomeRecorderTest {
    static final Instant T = Instant.parse("2025-06-01T10:00:00Z");
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir Path dir;

    MxPolicy sts = Outcomes.sts("example.com", PolicyMode.ENFORCE, "mx1.example.com");

    @Test
    void writesEachOutcomeToItsUtcDayFile() throws Exception {
        OutcomeLog log = new OutcomeLog(dir);
        try (OutcomeRecorder r = OutcomeRecorder.start(log, OutcomeRecorder.Settings.defaults())) {
            r.record(Outcomes.success(T, sts, "mx1.example.com", "198.51.100.1"));
            r.record(
                    Outcomes.success(
                            Instant.parse("2025-06-01T23:59:59.999Z"),
                            sts,
                            "mx1.example.com",
                            "x"));
            r.record(
                    Outcomes.success(
                            Instant.parse("2025-06-02T00:00:00Z"), sts, "mx1.example.com", "x"));
            assertTrue(r.flush(WAIT));
        }
        assertEquals(2, log.read(LocalDate.parse("2025-06-01")).size());
        assertEquals(1, log.read(LocalDate.parse("2025-06-02")).size());
        assertTrue(Files.exists(dir.resolve("outcomes-2025-06-01.jsonl")));
        assertEquals(
                List.of(LocalDate.parse("2025-06-01"), LocalDate.parse("2025-06-02")), log.days());
        OutcomeEvent e = log.read(LocalDate.parse("2025-06-01")).get(0);
        assertEquals("example.com", e.domain());
        assertEquals("mta-sts", e.source());
        assertEquals("success", e.result());
        assertEquals("198.51.100.1", e.receivingIp());
        assertEquals(sts.policyText(), e.policyString());
    }

    @Test
    void outcomesReachTheFileWithoutAnExplicitFlush() throws Exception {
        OutcomeLog log = new OutcomeLog(dir);
        try (OutcomeRecorder r =
                OutcomeRecorder.start(
                        log, new OutcomeRecorder.Settings(1000, Duration.ofMillis(50), 100))) {
            r.record(Outcomes.success(T, sts, "mx1.example.com", "x"));
            Await.until(
                    () -> {
                        try {
                            return log.read(LocalDate.parse("2025-06-01")).size() == 1;
                        } catch (java.io.IOException e) {
                            return false;
                        }
                    },
                    WAIT,
                    "the outcome in the day's file");
        }
    }

    @Test
    void aRestartInTheMiddleOfTheDayKeepsTheCounts() throws Exception {
        OutcomeLog log = new OutcomeLog(dir);
        try (OutcomeRecorder first =
                OutcomeRecorder.start(log, OutcomeRecorder.Settings.defaults())) {
            for (int i = 0; i < 3; i++) {
                first.record(Outcomes.success(T.plusSeconds(i), sts, "mx1.example.com", "x"));
            }
        }
        try (OutcomeRecorder second =
                OutcomeRecorder.start(log, OutcomeRecorder.Settings.defaults())) {
            second.record(
                    Outcomes.failure(
                            T.plusSeconds(60),
                            sts,
                            TlsFailureType.CERTIFICATE_EXPIRED,
                            "mx1.example.com",
                            "x"));
            assertTrue(second.flush(WAIT));
        }
        TlsReport.Summary s =
                Aggregator.aggregate(
                                LocalDate.parse("2025-06-01"),
                                log.read(LocalDate.parse("2025-06-01")),
                                AggregatorTest.ID,
                                d -> "x@y")
                        .reports()
                        .get(0)
                        .policies()
                        .get(0)
                        .summary();
        assertEquals(3, s.totalSuccessfulSessionCount());
        assertEquals(1, s.totalFailureSessionCount());
    }

    @Test
    void aLineTornByACrashIsSkippedAndTheNextEventStartsAFreshLine() throws Exception {
        OutcomeLog log = new OutcomeLog(dir);
        try (OutcomeRecorder r = OutcomeRecorder.start(log, OutcomeRecorder.Settings.defaults())) {
            r.record(Outcomes.success(T, sts, "mx1.example.com", "x"));
        }
        Path file = log.file(LocalDate.parse("2025-06-01"));
        Files.writeString(
                file,
                "{\"time\":\"2025-06-01T10:00:01Z\",\"kind\":\"sess",
                StandardCharsets.UTF_8,
                StandardOpenOption.APPEND);
        assertEquals(
                1, log.read(LocalDate.parse("2025-06-01")).size(), "a torn last line is not read");
        try (OutcomeRecorder r = OutcomeRecorder.start(log, OutcomeRecorder.Settings.defaults())) {
            r.record(Outcomes.success(T.plusSeconds(2), sts, "mx1.example.com", "x"));
        }
        assertEquals(
                2,
                log.read(LocalDate.parse("2025-06-01")).size(),
                "the torn line is skipped, nothing else");
    }

    @Test
    void leavesOutTheSessionsThatCarriedReports() throws Exception {
        OutcomeLog log = new OutcomeLog(dir);
        try (OutcomeRecorder r = OutcomeRecorder.start(log, OutcomeRecorder.Settings.defaults())) {
            r.record(
                    Outcomes.failure(
                            T,
                            MxPolicy.domainWide(TlsExemption.policyFor("example.com")),
                            TlsFailureType.STARTTLS_NOT_SUPPORTED,
                            "mx1.example.com",
                            "x"));
            r.record(Outcomes.success(T, sts, "mx1.example.com", "x"));
            assertTrue(r.flush(WAIT));
        }
        List<OutcomeEvent> events = log.read(LocalDate.parse("2025-06-01"));
        assertEquals(1, events.size());
        assertEquals("success", events.get(0).result());
    }

    @Test
    void recordsPolicyFetchFailures() throws Exception {
        OutcomeLog log = new OutcomeLog(dir);
        try (OutcomeRecorder r = OutcomeRecorder.start(log, OutcomeRecorder.Settings.defaults())) {
            r.recordStsFailure(
                    T, "example.com", TlsFailureType.STS_WEBPKI_INVALID, "certificate not trusted");
            assertTrue(r.flush(WAIT));
        }
        OutcomeEvent e = log.read(LocalDate.parse("2025-06-01")).get(0);
        assertEquals(OutcomeEvent.STS_FAILURE, e.kind());
        assertEquals("sts-webpki-invalid", e.result());
    }

    @Test
    void dropsOutcomesRatherThanBlockWhenTheQueueIsFull() throws Exception {
        OutcomeLog log = new OutcomeLog(dir.resolve("not-a-dir-yet"));
        try (OutcomeRecorder r =
                OutcomeRecorder.start(
                        log, new OutcomeRecorder.Settings(1, Duration.ofSeconds(1), 1))) {
            long start = System.nanoTime();
            for (int i = 0; i < 10_000; i++) {
                r.record(Outcomes.success(T, sts, "mx1.example.com", "x"));
            }
            assertTrue(
                    System.nanoTime() - start < Duration.ofSeconds(5).toNanos(),
                    "record() never waits");
            assertTrue(r.dropped() > 0);
            assertTrue(r.flush(WAIT));
            assertEquals(10_000 - r.dropped(), log.read(LocalDate.parse("2025-06-01")).size());
        }
    }
}
