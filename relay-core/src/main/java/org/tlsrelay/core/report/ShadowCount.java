package org.tlsrelay.core.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Map;
import java.util.TreeMap;

/**
 * The local "shadow report" of one domain under a {@code testing} policy: how many of its sessions would have been
 * refused had the policy been {@code enforce} (every session whose TLS result was a failure: under {@code testing}
 * the message went anyway). Shown by {@code tlsrelay report show}; never sent.
 *
 * @param policyDomain the domain
 * @param testingSessions sessions made under a {@code testing} policy
 * @param wouldRefuse of those, the ones that failed and would have been refused under {@code enforce}
 * @param byResultType {@code wouldRefuse} broken down by RFC 8460 result type
 */
@JsonPropertyOrder({"policy-domain", "testing-sessions", "would-refuse", "by-result-type"})
public record ShadowCount(
        @JsonProperty("policy-domain") String policyDomain,
        @JsonProperty("testing-sessions") long testingSessions,
        @JsonProperty("would-refuse") long wouldRefuse,
        @JsonProperty("by-result-type") Map<String, Long> byResultType) {
    public ShadowCount {
        byResultType =
                byResultType == null
                        ? Map.of()
                        : java.util.Collections.unmodifiableMap(new TreeMap<>(byResultType));
    }
}
