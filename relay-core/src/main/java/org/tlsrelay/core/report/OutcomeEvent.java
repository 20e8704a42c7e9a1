package org.tlsrelay.core.report;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.tls.TlsResult;

/**
 * One line of the outcome log: a TLS session outcome or an MTA-STS policy fetch failure, with everything a report
 * needs to aggregate it, and nothing that depends on this process (so a restart reads what an earlier run wrote).
 *
 * @param time when it happened (ISO-8601 instant)
 * @param kind {@link #SESSION} or {@link #STS_FAILURE}
 * @param domain the policy (recipient) domain, lower case
 * @param source {@code mta-sts}, {@code dane}, {@code list}, {@code override} or {@code none}
 * @param sourceName the list's name for {@code list}; free text otherwise; may be empty
 * @param mode the policy mode: {@code enforce}, {@code testing} or {@code none}
 * @param policyString the MTA-STS policy lines (RFC 8460 §4.4 {@code policy-string}); empty otherwise
 * @param mx the policy's MX patterns as written
 * @param mxHost the MX host name ({@code receiving-mx-hostname}); empty for a fetch failure
 * @param mxHelo the MX's greeting name ({@code receiving-mx-helo}); may be empty
 * @param sendingIp our address ({@code sending-mta-ip}); may be empty
 * @param receivingIp the MX address ({@code receiving-ip}); may be empty
 * @param result {@code success} or an RFC 8460 §4.3 result type
 * @param detail why it failed (the {@code failure-reason-code}); empty for a success
 * @param verdict {@code deliver-tls}, {@code deliver-clear}, {@code refuse}, or empty for a fetch failure
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record OutcomeEvent(
        @JsonProperty("time") String time,
        @JsonProperty("kind") String kind,
        @JsonProperty("domain") String domain,
        @JsonProperty("source") String source,
        @JsonProperty("source-name") String sourceName,
        @JsonProperty("mode") String mode,
        @JsonProperty("policy-string") List<String> policyString,
        @JsonProperty("mx") List<String> mx,
        @JsonProperty("mx-host") String mxHost,
        @JsonProperty("mx-helo") String mxHelo,
        @JsonProperty("sending-ip") String sendingIp,
        @JsonProperty("receiving-ip") String receivingIp,
        @JsonProperty("result") String result,
        @JsonProperty("detail") String detail,
        @JsonProperty("verdict") String verdict) {

    public static final String SESSION = "session";
    public static final String STS_FAILURE = "sts-failure";
    public static final String SUCCESS = "success";

    /** The {@link #source()} of MTA-STS policies and of their fetch failures. */
    static final String MTA_STS = "mta-sts";

    @JsonCreator
    public OutcomeEvent {
        time = require(time, "time");
        Instant.parse(time); // refuse a line whose time is not an instant
        kind = require(kind, "kind");
        if (!kind.equals(SESSION) && !kind.equals(STS_FAILURE)) {
            throw new IllegalArgumentException("unknown kind \"" + kind + "\"");
        }
        domain = require(domain, "domain").toLowerCase(Locale.ROOT);
        source = orEmpty(source);
        sourceName = orEmpty(sourceName);
        mode =
                PolicyMode.parse(orEmpty(mode))
                        .map(PolicyMode::label)
                        .orElse(PolicyMode.NONE.label());
        policyString = policyString == null ? List.of() : List.copyOf(policyString);
        mx = mx == null ? List.of() : List.copyOf(mx);
        mxHost = orEmpty(mxHost);
        mxHelo = orEmpty(mxHelo);
        sendingIp = orEmpty(sendingIp);
        receivingIp = orEmpty(receivingIp);
        result = require(result, "result");
        detail = orEmpty(detail);
        verdict = orEmpty(verdict);
    }

    /** The event for one session outcome. */
    public static OutcomeEvent of(TlsOutcome o) {
        MxPolicy p = o.policy();
        String result = o.result() instanceof TlsResult.Failure f ? f.type().resultType() : SUCCESS;
        String detail = o.result() instanceof TlsResult.Failure f ? f.detail() : "";
        return new OutcomeEvent(
                o.time().toString(),
                SESSION,
                p.domain(),
                sourceLabel(p),
                p.sourceName(),
                p.mode().label(),
                p.isMtaSts() || p.daneApplies() ? p.policyText() : List.of(),
                // RFC 8460 §4.4: a tlsa policy names the MX host its TLSA records are for
                p.daneApplies()
                        ? List.of(o.mxHost())
                        : p.policy().mxs().stream().map(MxPattern::text).toList(),
                o.mxHost(),
                o.mxHelo(),
                o.sendingIp(),
                o.receivingIp(),
                result,
                detail,
                o.verdict());
    }

    /** The event for a failed MTA-STS policy fetch (RFC 8460 §4.3.2.2), with the policy URL in the detail. */
    public static OutcomeEvent stsFailure(
            Instant time, String domain, String resultType, String detail) {
        return new OutcomeEvent(
                time.toString(),
                STS_FAILURE,
                domain,
                MTA_STS,
                "",
                PolicyMode.NONE.label(),
                List.of(),
                List.of(),
                "",
                "",
                "",
                "",
                resultType,
                detail,
                "");
    }

    /** {@code dane} where DANE decides for the MX host, else the kind of the domain's policy source. */
    static String sourceLabel(MxPolicy p) {
        if (p.daneApplies()) {
            return "dane";
        }
        return switch (p.domainPolicy().source()) {
            case MTA_STS_LIVE, MTA_STS_CACHED -> MTA_STS;
            case LIST -> "list";
            case OVERRIDE -> "override";
            case NONE, TLSRPT_EXEMPT -> "none";
        };
    }

    public Instant instant() {
        return Instant.parse(time);
    }

    /** The UTC day the event belongs to (RFC 8460 §4.1: reports cover UTC days). */
    public LocalDate day() {
        return LocalDate.ofInstant(instant(), ZoneOffset.UTC);
    }

    public boolean success() {
        return result.equals(SUCCESS);
    }

    public boolean isSession() {
        return kind.equals(SESSION);
    }

    public PolicyMode policyMode() {
        return PolicyMode.parse(mode).orElse(PolicyMode.NONE);
    }

    private static String require(String value, String name) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("missing " + name);
        }
        return value;
    }

    private static String orEmpty(String value) {
        return value == null ? "" : value;
    }
}
