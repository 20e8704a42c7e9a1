package org.tlsrelay.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.tls.TlsFailureType;

/** A day of outcome events into RFC 8460 §4.4 reports and shadow counts. */
class AggregatorTest {
    static final LocalDate DAY = LocalDate.parse("2025-06-01");
    static final Instant T = Instant.parse("2025-06-01T10:00:00Z");
    static final Aggregator.Identity ID =
            new Aggregator.Identity(
                    "Example Org", "mailto:tlsrpt@example.org", "relay.example.org");

    static Aggregator.DayAggregate aggregate(List<OutcomeEvent> events) {
        return Aggregator.aggregate(DAY, events, ID, d -> "id" + d.length() + "@relay.example.org");
    }

    @Test
    void writesOneReportPerDomainWithTheRfcFieldNames() throws Exception {
        MxPolicy sts =
                Outcomes.sts("example.com", PolicyMode.ENFORCE, "mx1.example.com", "*.example.net");
        List<OutcomeEvent> events =
                List.of(
                        OutcomeEvent.of(
                                Outcomes.success(T, sts, "mx1.example.com", "198.51.100.1")),
                        OutcomeEvent.of(
                                Outcomes.success(
                                        T.plusSeconds(5), sts, "mx1.example.com", "198.51.100.1")),
                        OutcomeEvent.of(
                                Outcomes.failure(
                                        T,
                                        sts,
                                        TlsFailureType.CERTIFICATE_EXPIRED,
                                        "a.example.net",
                                        "198.51.100.2")),
                        OutcomeEvent.of(
                                Outcomes.failure(
                                        T,
                                        sts,
                                        TlsFailureType.CERTIFICATE_EXPIRED,
                                        "a.example.net",
                                        "198.51.100.2")),
                        OutcomeEvent.of(
                                Outcomes.failure(
                                        T,
                                        sts,
                                        TlsFailureType.STARTTLS_NOT_SUPPORTED,
                                        "b.example.net",
                                        "198.51.100.3")));

        Aggregator.DayAggregate agg = aggregate(events);

        assertEquals(1, agg.reports().size());
        JsonNode r = ReportJson.mapper().readTree(ReportJson.toJson(agg.reports().get(0)));
        assertEquals("Example Org", r.get("organization-name").asText());
        assertEquals("2025-06-01T00:00:00Z", r.get("date-range").get("start-datetime").asText());
        assertEquals("2025-06-01T23:59:59Z", r.get("date-range").get("end-datetime").asText());
        assertEquals("mailto:tlsrpt@example.org", r.get("contact-info").asText());
        assertEquals("id11@relay.example.org", r.get("report-id").asText());
        JsonNode p = r.get("policies").get(0);
        assertEquals("sts", p.get("policy").get("policy-type").asText());
        assertEquals("example.com", p.get("policy").get("policy-domain").asText());
        assertEquals(
                "[\"version: STSv1\",\"mode: enforce\",\"mx: mx1.example.com\",\"mx: *.example.net\","
                        + "\"max_age: 86400\"]",
                p.get("policy").get("policy-string").toString());
        assertEquals(
                "[\"mx1.example.com\",\"*.example.net\"]",
                p.get("policy").get("mx-host").toString());
        assertEquals(2, p.get("summary").get("total-successful-session-count").asLong());
        assertEquals(3, p.get("summary").get("total-failure-session-count").asLong());
        JsonNode expired = p.get("failure-details").get(0);
        assertEquals("certificate-expired", expired.get("result-type").asText());
        assertEquals("192.0.2.1", expired.get("sending-mta-ip").asText());
        assertEquals("a.example.net", expired.get("receiving-mx-hostname").asText());
        assertEquals("198.51.100.2", expired.get("receiving-ip").asText());
        assertEquals(2, expired.get("failed-session-count").asLong());
        assertEquals(
                "certificate-expired at a.example.net",
                expired.get("failure-reason-code").asText());
        assertFalse(expired.has("receiving-mx-helo"), "an unknown greeting name is left out");
        assertFalse(expired.has("additional-information"), "nothing to add for an MTA-STS policy");
        assertEquals(
                "starttls-not-supported",
                p.get("failure-details").get(1).get("result-type").asText());
        assertEquals(2, p.get("failure-details").size());
    }

    @Test
    void reportsListAndNoPolicySessionsAsNoPolicyFoundWithTheListNamed() throws Exception {
        MxPolicy listed =
                Outcomes.list(
                        "partner.example", "partners", PolicyMode.ENFORCE, ".mx.partner.example");
        MxPolicy none = Outcomes.none("partner.example");
        Aggregator.DayAggregate agg =
                aggregate(
                        List.of(
                                OutcomeEvent.of(
                                        Outcomes.success(
                                                T, listed, "a.mx.partner.example", "198.51.100.5")),
                                OutcomeEvent.of(
                                        Outcomes.failure(
                                                T,
                                                listed,
                                                TlsFailureType.CERTIFICATE_NOT_TRUSTED,
                                                "a.mx.partner.example",
                                                "198.51.100.5")),
                                OutcomeEvent.of(
                                        Outcomes.failure(
                                                T,
                                                none,
                                                TlsFailureType.STARTTLS_NOT_SUPPORTED,
                                                "b.mx.partner.example",
                                                "198.51.100.6"))));

        TlsReport r = agg.reports().get(0);
        assertEquals(
                1,
                r.policies().size(),
                "one no-policy-found entry for list and no-policy sessions");
        TlsReport.PolicyResult p = r.policies().get(0);
        assertEquals("no-policy-found", p.policy().policyType());
        JsonNode policy =
                ReportJson.mapper()
                        .readTree(ReportJson.toJson(r))
                        .get("policies")
                        .get(0)
                        .get("policy");
        assertFalse(policy.has("policy-string"));
        assertFalse(policy.has("mx-host"));
        assertEquals(1, p.summary().totalSuccessfulSessionCount());
        assertEquals(2, p.summary().totalFailureSessionCount());
        TlsReport.FailureDetail untrusted = p.failureDetails().get(0);
        assertEquals("certificate-not-trusted", untrusted.resultType());
        assertTrue(
                untrusted.additionalInformation().contains("\"partners\""),
                untrusted.additionalInformation());
        assertTrue(
                untrusted.additionalInformation().contains("mode enforce"),
                untrusted.additionalInformation());
        assertEquals("", p.failureDetails().get(1).additionalInformation());
    }

    @Test
    void aPolicyChangeDuringTheDayGivesTwoPolicyEntries() {
        MxPolicy v1 = Outcomes.sts("example.com", PolicyMode.TESTING, "mx1.example.com");
        MxPolicy v2 = Outcomes.sts("example.com", PolicyMode.ENFORCE, "mx1.example.com");
        TlsReport r =
                aggregate(
                                List.of(
                                        OutcomeEvent.of(
                                                Outcomes.success(
                                                        T, v1, "mx1.example.com", "198.51.100.1")),
                                        OutcomeEvent.of(
                                                Outcomes.success(
                                                        T, v2, "mx1.example.com", "198.51.100.1"))))
                        .reports()
                        .get(0);
        assertEquals(2, r.policies().size());
    }

    @Test
    void countsAFailedPolicyFetchAsAFailedSessionUnderNoPolicyFound() {
        TlsReport r =
                aggregate(
                                List.of(
                                        OutcomeEvent.stsFailure(
                                                T,
                                                "example.com",
                                                "sts-policy-fetch-error",
                                                "https://mta-sts.example.com/.well-known/mta-sts.txt: HTTP 404")))
                        .reports()
                        .get(0);
        TlsReport.PolicyResult p = r.policies().get(0);
        assertEquals("no-policy-found", p.policy().policyType());
        assertEquals(1, p.summary().totalFailureSessionCount());
        assertEquals("sts-policy-fetch-error", p.failureDetails().get(0).resultType());
        assertTrue(p.failureDetails().get(0).failureReasonCode().contains("HTTP 404"));
    }

    @Test
    void leavesOutEventsOfOtherDaysAndDomainsWithoutSessions() {
        MxPolicy sts = Outcomes.sts("example.com", PolicyMode.ENFORCE, "mx1.example.com");
        Aggregator.DayAggregate agg =
                aggregate(
                        List.of(
                                OutcomeEvent.of(
                                        Outcomes.success(
                                                Instant.parse("2025-05-31T23:59:59Z"),
                                                sts,
                                                "mx1.example.com",
                                                "x")),
                                OutcomeEvent.of(
                                        Outcomes.success(
                                                Instant.parse("2025-06-02T00:00:00Z"),
                                                sts,
                                                "mx1.example.com",
                                                "x"))));
        assertTrue(agg.reports().isEmpty());
    }

    @Test
    void shadowCountsTheFailuresOfTestingPoliciesOnly() {
        MxPolicy testing = Outcomes.sts("t.example", PolicyMode.TESTING, "mx.t.example");
        MxPolicy enforce = Outcomes.sts("e.example", PolicyMode.ENFORCE, "mx.e.example");
        Aggregator.DayAggregate agg =
                aggregate(
                        List.of(
                                OutcomeEvent.of(Outcomes.success(T, testing, "mx.t.example", "x")),
                                OutcomeEvent.of(
                                        Outcomes.failure(
                                                T,
                                                testing,
                                                TlsFailureType.CERTIFICATE_EXPIRED,
                                                "mx.t.example",
                                                "x")),
                                OutcomeEvent.of(
                                        Outcomes.failure(
                                                T,
                                                testing,
                                                TlsFailureType.CERTIFICATE_EXPIRED,
                                                "mx.t.example",
                                                "x")),
                                OutcomeEvent.of(
                                        Outcomes.failure(
                                                T,
                                                testing,
                                                TlsFailureType.STARTTLS_NOT_SUPPORTED,
                                                "mx.t.example",
                                                "x")),
                                OutcomeEvent.of(
                                        Outcomes.failure(
                                                T,
                                                enforce,
                                                TlsFailureType.CERTIFICATE_EXPIRED,
                                                "mx.e.example",
                                                "x"))));
        assertEquals(1, agg.shadow().size());
        ShadowCount s = agg.shadow().get(0);
        assertEquals("t.example", s.policyDomain());
        assertEquals(4, s.testingSessions());
        assertEquals(3, s.wouldRefuse());
        assertEquals(
                Map.of("certificate-expired", 2L, "starttls-not-supported", 1L), s.byResultType());
    }

    @Test
    void reportJsonRoundTripsThroughGzip() throws Exception {
        MxPolicy sts = Outcomes.sts("example.com", PolicyMode.ENFORCE, "mx1.example.com");
        TlsReport r =
                aggregate(
                                List.of(
                                        OutcomeEvent.of(
                                                Outcomes.failure(
                                                        T,
                                                        sts,
                                                        TlsFailureType.CERTIFICATE_HOST_MISMATCH,
                                                        "mx1.example.com",
                                                        "198.51.100.1"))))
                        .reports()
                        .get(0);
        assertEquals(r, ReportJson.parseGzip(ReportJson.toGzip(r)));
    }
}
