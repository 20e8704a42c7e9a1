package org.tlsrelay.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.testkit.FakeDnsResolver;
import org.tlsrelay.testkit.MutableClock;

/** Building, sending, remembering and retrying reports, with a fake DNS, fake transports and a hand-moved clock. */
class ReportServiceTest {
    static final LocalDate DAY = LocalDate.parse("2025-06-01");
    static final Instant T = Instant.parse("2025-06-01T10:00:00Z");

    /** Records what it is given and answers from a script (then Sent). */
    static final class FakeTransport implements ReportTransport {
        final List<String> sent = new CopyOnWriteArrayList<>();
        final List<PreparedReport> reports = new CopyOnWriteArrayList<>();
        final Deque<Result> script = new ArrayDeque<>();

        @Override
        public boolean accepts(Rua rua) {
            return true;
        }

        @Override
        public synchronized Result send(Rua rua, PreparedReport report) {
            sent.add(rua.uri());
            reports.add(report);
            return script.isEmpty() ? new Result.Sent("ok") : script.poll();
        }
    }

    @TempDir Path dir;
    MutableClock clock = new MutableClock(Instant.parse("2025-06-02T00:10:00Z"));
    FakeDnsResolver dns = new FakeDnsResolver();
    FakeTransport transport = new FakeTransport();
    AtomicInteger ids = new AtomicInteger();

    @BeforeEach
    void outcomes() throws Exception {
        MxPolicy sts = Outcomes.sts("example.com", PolicyMode.ENFORCE, "mx1.example.com");
        MxPolicy testing =
                Outcomes.sts("testing.example", PolicyMode.TESTING, "mx.testing.example");
        try (OutcomeRecorder r =
                OutcomeRecorder.start(new OutcomeLog(dir), OutcomeRecorder.Settings.defaults())) {
            r.record(Outcomes.success(T, sts, "mx1.example.com", "198.51.100.1"));
            r.record(
                    Outcomes.failure(
                            T,
                            sts,
                            TlsFailureType.CERTIFICATE_EXPIRED,
                            "mx1.example.com",
                            "198.51.100.1"));
            r.record(
                    Outcomes.failure(
                            T,
                            testing,
                            TlsFailureType.STARTTLS_NOT_SUPPORTED,
                            "mx.testing.example",
                            "198.51.100.9"));
            r.record(Outcomes.success(T, Outcomes.none("quiet.example"), "mx.quiet.example", "x"));
        }
        dns.txt(
                "_smtp._tls.example.com",
                "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://r.example.com/tlsrpt");
        dns.txt("_smtp._tls.unused.example", "v=TLSRPTv1; rua=mailto:tlsrpt@unused.example");
    }

    ReportService service() {
        return new ReportService(
                new OutcomeLog(dir),
                new ReportOutbox(dir),
                new TlsRptLookup(dns),
                List.of(transport),
                ReportService.Settings.defaults(AggregatorTest.ID),
                clock,
                () -> "r" + ids.incrementAndGet());
    }

    @Test
    void sendsTheReportToEveryRuaOnceAndNotAgainAfterARestart() throws Exception {
        ReportService.RunResult first = service().run(DAY, false);

        assertTrue(first.allSent(), first.toString());
        assertEquals(
                List.of("mailto:tlsrpt@example.com", "https://r.example.com/tlsrpt"),
                transport.sent);
        PreparedReport sent = transport.reports.get(0);
        assertEquals("example.com", sent.policyDomain());
        assertEquals("r1@relay.example.org", sent.reportId());
        TlsReport report = ReportJson.parseGzip(sent.gzip());
        assertEquals("r1@relay.example.org", report.reportId());
        assertEquals(1, report.policies().get(0).summary().totalSuccessfulSessionCount());
        assertEquals(1, report.policies().get(0).summary().totalFailureSessionCount());
        assertEquals(
                "relay.example.org!example.com!1748736000!1748822399!r1.json.gz", sent.fileName());
        assertTrue(first.notReporting().containsKey("testing.example"));
        assertTrue(first.notReporting().containsKey("quiet.example"));

        ReportService.RunResult again = service().run(DAY, false); // a restarted relay
        ReportService.RunResult forced = service().run(DAY, true); // tlsrelay report send
        assertEquals(2, transport.sent.size(), "nothing is sent twice");
        assertTrue(again.allSent());
        assertTrue(forced.allSent());
        assertTrue(
                forced.attempts().stream().allMatch(a -> a.detail().startsWith("already sent")),
                forced.toString());
    }

    @Test
    void looksUpOnlyDomainsThatHadSessionsThatDay() throws Exception {
        service().run(DAY, false);
        assertFalse(
                dns.queries().contains("TXT _smtp._tls.unused.example"), dns.queries().toString());
        assertTrue(dns.queries().contains("TXT _smtp._tls.example.com"));
        service().run(DAY, false);
        assertEquals(
                1,
                dns.queries().stream()
                        .filter(q -> q.equals("TXT _smtp._tls.quiet.example"))
                        .count(),
                "a domain without TLSRPT is remembered for the day, not looked up again");
    }

    @Test
    void noReportsForADayWithoutSessions() throws Exception {
        ReportService.RunResult r = service().run(DAY.minusDays(1), false);
        assertTrue(r.attempts().isEmpty());
        assertTrue(transport.sent.isEmpty());
    }

    @Test
    void retriesAFailedDeliveryWithGrowingWaitsForUpTo24Hours() throws Exception {
        for (int i = 0; i < 100; i++) {
            transport.script.add(new ReportTransport.Result.Failed("HTTP 503"));
        }
        dns.remove("_smtp._tls.example.com")
                .txt("_smtp._tls.example.com", "v=TLSRPTv1; rua=https://r.example.com/x");
        ReportService s = service();
        ReportService.RunResult r = s.run(DAY, false);
        assertFalse(r.allSent());
        assertEquals(1, transport.sent.size());

        clock.advance(Duration.ofMinutes(4));
        assertTrue(s.deliverDue().isEmpty(), "not before the first wait (5 minutes) is over");
        clock.advance(Duration.ofMinutes(1));
        assertEquals(1, s.deliverDue().size());
        assertEquals(2, transport.sent.size());
        clock.advance(Duration.ofMinutes(14));
        assertTrue(s.deliverDue().isEmpty(), "the second wait is 15 minutes");
        clock.advance(Duration.ofMinutes(1));
        assertEquals(1, s.deliverDue().size());

        for (int i = 0; i < 30; i++) {
            clock.advance(Duration.ofHours(1));
            service().deliverDue(); // restarts in between do not reset the schedule
        }
        OutboxEntry entry = new ReportOutbox(dir).load(DAY, "example.com").orElseThrow();
        OutboxEntry.Delivery d = entry.deliveries().get(0);
        assertEquals(OutboxEntry.State.FAILED, d.state(), d.toString());
        assertTrue(d.lastResult().contains("given up"), d.lastResult());
        int attempts = transport.sent.size();
        assertTrue(
                attempts >= 8 && attempts <= 12,
                "waits of 5m, 15m, 30m, 1h, 2h, 4h...: " + attempts);
        clock.advance(Duration.ofHours(5));
        assertTrue(service().deliverDue().isEmpty(), "given up");
        assertTrue(
                transport.reports.stream()
                        .allMatch(p -> p.reportId().equals("r1@relay.example.org")),
                "every retry sends the same report");
    }

    @Test
    void aRetrySucceedsAfterAFailedAttempt() throws Exception {
        transport.script.add(new ReportTransport.Result.Failed("HTTP 500"));
        dns.remove("_smtp._tls.example.com")
                .txt("_smtp._tls.example.com", "v=TLSRPTv1; rua=https://r.example.com/x");
        ReportService s = service();
        assertFalse(s.run(DAY, false).allSent());
        clock.advance(Duration.ofMinutes(5));
        List<ReportService.Attempt> retry = s.deliverDue();
        assertEquals(OutboxEntry.State.SENT, retry.get(0).state());
        assertEquals(
                2,
                new ReportOutbox(dir)
                        .load(DAY, "example.com")
                        .orElseThrow()
                        .deliveries()
                        .get(0)
                        .attempts());
    }

    @Test
    void aRefusedDeliveryIsNotRetried() throws Exception {
        transport.script.add(new ReportTransport.Result.Refused("too large"));
        dns.remove("_smtp._tls.example.com")
                .txt("_smtp._tls.example.com", "v=TLSRPTv1; rua=mailto:a@example.com!1k");
        ReportService s = service();
        assertFalse(s.run(DAY, false).allSent());
        clock.advance(Duration.ofHours(1));
        assertTrue(s.deliverDue().isEmpty());
        assertEquals(1, transport.sent.size());
    }

    @Test
    void aTxtLookupThatFailedIsTriedAgainOnTheNextRun() throws Exception {
        dns.servfail("_smtp._tls.example.com");
        ReportService.RunResult r = service().run(DAY, false);
        assertFalse(r.allSent());
        assertTrue(r.lookupFailed().containsKey("example.com"));
        assertTrue(transport.sent.isEmpty());

        dns.answerNormally("_smtp._tls.example.com");
        assertTrue(service().run(DAY, false).allSent());
        assertEquals(2, transport.sent.size());
    }

    @Test
    void previewShowsWhatWouldBeSentWithoutSendingOrStoring() throws Exception {
        ReportService.Preview p = service().preview(DAY, Optional.empty());
        assertEquals(
                List.of("example.com"),
                p.reportsToSend().stream().map(TlsReport::policyDomain).toList());
        assertEquals(3, p.aggregate().reports().size());
        assertEquals(
                ReportService.Target.Status.NOT_REPORTING,
                p.targets().get("quiet.example").status());
        assertEquals(1, p.aggregate().shadow().size());
        assertEquals("testing.example", p.aggregate().shadow().get(0).policyDomain());
        assertEquals(1, p.aggregate().shadow().get(0).wouldRefuse());
        assertTrue(transport.sent.isEmpty());
        assertTrue(new ReportOutbox(dir).entries(DAY).isEmpty());

        ReportService.Preview one = service().preview(DAY, Optional.of("testing.example"));
        assertEquals(1, one.aggregate().reports().size());
    }

    @Test
    void previewKeepsTheIdOfAReportAlreadyBuilt() throws Exception {
        service().run(DAY, false);
        ReportService.Preview p = service().preview(DAY, Optional.of("example.com"));
        assertEquals("r1@relay.example.org", p.reportsToSend().get(0).reportId());
    }
}
