package org.tlsrelay.core.report;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonInclude.Include;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * One aggregate report (RFC 8460 §4.4), field names exactly as the RFC spells them; {@link ReportJson} writes and
 * reads it. Optional fields that have no value are left out rather than written empty.
 *
 * @param organizationName who sends the report ({@code reports.organization})
 * @param dateRange the UTC day it covers (§4.1)
 * @param contactInfo how to reach the sender ({@code reports.contact}); optional
 * @param reportId unique per report, also in the file name and the mail subject (§5.1, §5.3)
 * @param policies one entry per policy that applied to the domain that day
 */
@JsonPropertyOrder({"organization-name", "date-range", "contact-info", "report-id", "policies"})
public record TlsReport(
        @JsonProperty("organization-name") String organizationName,
        @JsonProperty("date-range") DateRange dateRange,
        @JsonProperty("contact-info") @JsonInclude(Include.NON_EMPTY) String contactInfo,
        @JsonProperty("report-id") String reportId,
        @JsonProperty("policies") List<PolicyResult> policies) {

    /** The policy type of an MTA-STS policy (§4.4). */
    public static final String STS = "sts";

    /** The policy type of a DANE policy: the TLSA records of one MX host (§4.4). */
    public static final String TLSA = "tlsa";

    /** The policy type when no MTA-STS or DANE policy applied (§4.4). */
    public static final String NO_POLICY_FOUND = "no-policy-found";

    public TlsReport {
        contactInfo = contactInfo == null ? "" : contactInfo;
        policies = policies == null ? List.of() : List.copyOf(policies);
    }

    /** The policy domain all entries are about. */
    public String policyDomain() {
        return policies.isEmpty() ? "" : policies.get(0).policy().policyDomain();
    }

    /** {@code date-range}: RFC 3339 date-times in UTC. */
    @JsonPropertyOrder({"start-datetime", "end-datetime"})
    public record DateRange(
            @JsonProperty("start-datetime") String startDatetime,
            @JsonProperty("end-datetime") String endDatetime) {}

    /** One element of {@code policies}. */
    @JsonPropertyOrder({"policy", "summary", "failure-details"})
    public record PolicyResult(
            @JsonProperty("policy") PolicyInfo policy,
            @JsonProperty("summary") Summary summary,
            @JsonProperty("failure-details") List<FailureDetail> failureDetails) {
        public PolicyResult {
            failureDetails = failureDetails == null ? List.of() : List.copyOf(failureDetails);
        }
    }

    /**
     * {@code policy}: which policy the counts are about.
     *
     * @param policyType {@value #STS}, {@value #TLSA} or {@value #NO_POLICY_FOUND}
     * @param policyString the MTA-STS policy, one line per element; left out for {@code no-policy-found}
     * @param mxHost the policy's {@code mx} patterns; left out for {@code no-policy-found}
     */
    @JsonPropertyOrder({"policy-type", "policy-string", "policy-domain", "mx-host"})
    public record PolicyInfo(
            @JsonProperty("policy-type") String policyType,
            @JsonProperty("policy-string") @JsonInclude(Include.NON_EMPTY)
                    List<String> policyString,
            @JsonProperty("policy-domain") String policyDomain,
            @JsonProperty("mx-host") @JsonInclude(Include.NON_EMPTY) List<String> mxHost) {
        public PolicyInfo {
            policyString = policyString == null ? List.of() : List.copyOf(policyString);
            mxHost = mxHost == null ? List.of() : List.copyOf(mxHost);
        }
    }

    /** {@code summary} (§4.2). */
    @JsonPropertyOrder({"total-successful-session-count", "total-failure-session-count"})
    public record Summary(
            @JsonProperty("total-successful-session-count") long totalSuccessfulSessionCount,
            @JsonProperty("total-failure-session-count") long totalFailureSessionCount) {}

    /** One element of {@code failure-details}: sessions that failed the same way at the same place (§4.3, §4.4). */
    @JsonPropertyOrder({
        "result-type",
        "sending-mta-ip",
        "receiving-mx-hostname",
        "receiving-mx-helo",
        "receiving-ip",
        "failed-session-count",
        "additional-information",
        "failure-reason-code"
    })
    public record FailureDetail(
            @JsonProperty("result-type") String resultType,
            @JsonProperty("sending-mta-ip") @JsonInclude(Include.NON_EMPTY) String sendingMtaIp,
            @JsonProperty("receiving-mx-hostname") @JsonInclude(Include.NON_EMPTY)
                    String receivingMxHostname,
            @JsonProperty("receiving-mx-helo") @JsonInclude(Include.NON_EMPTY)
                    String receivingMxHelo,
            @JsonProperty("receiving-ip") @JsonInclude(Include.NON_EMPTY) String receivingIp,
            @JsonProperty("failed-session-count") long failedSessionCount,
            @JsonProperty("additional-information") @JsonInclude(Include.NON_EMPTY)
                    String additionalInformation,
            @JsonProperty("failure-reason-code") @JsonInclude(Include.NON_EMPTY)
                    String failureReasonCode) {
        public FailureDetail {
            sendingMtaIp = sendingMtaIp == null ? "" : sendingMtaIp;
            receivingMxHostname = receivingMxHostname == null ? "" : receivingMxHostname;
            receivingMxHelo = receivingMxHelo == null ? "" : receivingMxHelo;
            receivingIp = receivingIp == null ? "" : receivingIp;
            additionalInformation = additionalInformation == null ? "" : additionalInformation;
            failureReasonCode = failureReasonCode == null ? "" : failureReasonCode;
        }
    }
}
