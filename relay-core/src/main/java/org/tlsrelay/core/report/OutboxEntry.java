package org.tlsrelay.core.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What the outbox knows about one domain's report of one day: whether the domain asked for reports, the report's id,
 * and the state of its delivery to each {@code rua}. Written after every change, so a restart neither loses a report
 * nor sends one twice.
 *
 * @param policyDomain the domain
 * @param day the UTC day (ISO date)
 * @param reportId the report's id; empty when the domain publishes no TLSRPT record
 * @param tlsrpt the TLSRPT record that was used, or why there is none
 * @param created when the entry was made (ISO instant)
 * @param deliveries one per usable {@code rua} URI, in the record's order
 */
@JsonPropertyOrder({"policy-domain", "day", "report-id", "tlsrpt", "created", "deliveries"})
public record OutboxEntry(
        @JsonProperty("policy-domain") String policyDomain,
        @JsonProperty("day") String day,
        @JsonProperty("report-id") String reportId,
        @JsonProperty("tlsrpt") String tlsrpt,
        @JsonProperty("created") String created,
        @JsonProperty("deliveries") List<Delivery> deliveries) {

    public OutboxEntry {
        reportId = reportId == null ? "" : reportId;
        tlsrpt = tlsrpt == null ? "" : tlsrpt;
        deliveries = deliveries == null ? List.of() : List.copyOf(deliveries);
    }

    /** Where delivery to one {@code rua} stands. */
    public enum State {
        PENDING,
        SENT,
        FAILED,
        REFUSED;

        @com.fasterxml.jackson.annotation.JsonValue
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * @param uri the {@code rua} URI as published
     * @param state where it stands
     * @param attempts attempts made
     * @param firstAttempt when the first attempt was made (ISO instant); empty before it
     * @param nextAttempt when a pending delivery is due (ISO instant)
     * @param lastResult what the last attempt said
     */
    @JsonPropertyOrder({"uri", "state", "attempts", "first-attempt", "next-attempt", "last-result"})
    public record Delivery(
            @JsonProperty("uri") String uri,
            @JsonProperty("state") State state,
            @JsonProperty("attempts") int attempts,
            @JsonProperty("first-attempt") String firstAttempt,
            @JsonProperty("next-attempt") String nextAttempt,
            @JsonProperty("last-result") String lastResult) {
        public Delivery {
            state = state == null ? State.PENDING : state;
            firstAttempt = firstAttempt == null ? "" : firstAttempt;
            nextAttempt = nextAttempt == null ? "" : nextAttempt;
            lastResult = lastResult == null ? "" : lastResult;
        }

        static Delivery pending(String uri, Instant due) {
            return new Delivery(uri, State.PENDING, 0, "", due.toString(), "");
        }

        public boolean dueAt(Instant now) {
            return state == State.PENDING
                    && (nextAttempt.isEmpty() || !Instant.parse(nextAttempt).isAfter(now));
        }
    }

    /** Whether the domain asked for reports (and so there is a report file). */
    public boolean reporting() {
        return !reportId.isEmpty();
    }

    OutboxEntry with(int index, Delivery d) {
        List<Delivery> all = new ArrayList<>(deliveries);
        all.set(index, d);
        return new OutboxEntry(policyDomain, day, reportId, tlsrpt, created, all);
    }
}
