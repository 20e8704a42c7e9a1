package org.tlsrelay.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Several relays' reports of one domain and day summed into one (issue 18), as the cluster's sender does. */
class AggregatorMergeTest {
    private static final LocalDate DAY = LocalDate.parse("2026-12-06");
    private static final Aggregator.Identity ID =
            new Aggregator.Identity(
                    "Example Org", "mailto:tlsrpt@example.org", "relay.example.org");
    private static final TlsReport.PolicyInfo STS =
            new TlsReport.PolicyInfo(
                    "sts",
                    List.of(
                            "version: STSv1",
                            "mode: enforce",
                            "mx: mx.example.com",
                            "max_age: 86400"),
                    "example.com",
                    List.of("mx.example.com"));
    private static final TlsReport.PolicyInfo NONE =
            new TlsReport.PolicyInfo("no-policy-found", List.of(), "example.com", List.of());

    private static TlsReport.FailureDetail failure(String type, String ip, long n) {
        return new TlsReport.FailureDetail(type, "192.0.2.1", "mx.example.com", "", ip, n, "", "");
    }

    private static TlsReport part(List<TlsReport.PolicyResult> results) {
        return new TlsReport("x", new TlsReport.DateRange("a", "b"), "", "", results);
    }

    @Test
    void addsSummariesAndCountsEqualFailureGroupsTogether() {
        TlsReport a =
                part(
                        List.of(
                                new TlsReport.PolicyResult(
                                        STS,
                                        new TlsReport.Summary(3, 1),
                                        List.of(failure("certificate-expired", "198.51.100.7", 1))),
                                new TlsReport.PolicyResult(
                                        NONE, new TlsReport.Summary(1, 0), List.of())));
        TlsReport b =
                part(
                        List.of(
                                new TlsReport.PolicyResult(
                                        STS,
                                        new TlsReport.Summary(2, 2),
                                        List.of(
                                                failure(
                                                        "starttls-not-supported",
                                                        "198.51.100.8",
                                                        1),
                                                failure(
                                                        "certificate-expired",
                                                        "198.51.100.7",
                                                        1)))));

        TlsReport sum = Aggregator.merge(List.of(a, b), ID, DAY, "r1@relay.example.org");

        assertEquals("r1@relay.example.org", sum.reportId());
        assertEquals("Example Org", sum.organizationName());
        assertEquals("2026-12-06T00:00:00Z", sum.dateRange().startDatetime());
        assertEquals("2026-12-06T23:59:59Z", sum.dateRange().endDatetime());
        assertEquals(2, sum.policies().size());
        TlsReport.PolicyResult none = sum.policies().get(0);
        assertEquals(NONE, none.policy());
        assertEquals(new TlsReport.Summary(1, 0), none.summary());
        TlsReport.PolicyResult sts = sum.policies().get(1);
        assertEquals(STS, sts.policy());
        assertEquals(new TlsReport.Summary(5, 3), sts.summary());
        assertEquals(
                List.of(
                        failure("certificate-expired", "198.51.100.7", 2),
                        failure("starttls-not-supported", "198.51.100.8", 1)),
                sts.failureDetails());
    }

    @Test
    void oneRelaysReportComesOutWithTheSameCounts() throws Exception {
        TlsReport a =
                part(
                        List.of(
                                new TlsReport.PolicyResult(
                                        STS,
                                        new TlsReport.Summary(7, 1),
                                        List.of(
                                                failure(
                                                        "validation-failure",
                                                        "198.51.100.7",
                                                        1)))));
        TlsReport again = ReportJson.parse(ReportJson.toJson(a)); // as read back from Redis
        TlsReport sum = Aggregator.merge(List.of(again), ID, DAY, "r2");
        assertEquals(a.policies(), sum.policies());
    }
}
