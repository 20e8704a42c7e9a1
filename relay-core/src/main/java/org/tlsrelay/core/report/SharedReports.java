package org.tlsrelay.core.report;

import java.io.IOException;
import java.time.LocalDate;
import java.util.List;
import java.util.Set;

/**
 * Where the relays of a cluster pool their TLS-RPT counts (issue 18), so that a domain gets one report per day with
 * the sum over all relays, sent by one of them. Each relay keeps its own outcome log (the durable record) and
 * publishes its day's totals per policy domain; a relay's totals replace its previous ones, so publishing again never
 * counts twice. One relay claims a (domain, day) with a lock that expires, builds the report from every relay's part
 * and leaves a marker under the report's id, so that no other relay sends it again.
 *
 * <p>Every method may block for a short, bounded time (the implementation's timeouts) and throws {@link IOException}
 * when the shared store cannot be reached: the caller then falls back to what it knows locally or tries later.
 */
public interface SharedReports {

    /**
     * Publishes this relay's totals for {@code day}, one report per policy domain, replacing what it published before.
     *
     * @param complete the day is over and the totals are final (the outcome log of the day is complete)
     */
    void publish(LocalDate day, List<TlsReport> local, boolean complete) throws IOException;

    /** The policy domains any relay published totals for on {@code day}. */
    Set<String> domains(LocalDate day) throws IOException;

    /** Every relay's part of (day, domain), by node id: for {@code report show}. */
    java.util.Map<String, TlsReport> parts(LocalDate day, String domain) throws IOException;

    /**
     * Tries to become the relay that reports (day, domain).
     *
     * @param proposedId the report id to use if no relay chose one yet
     */
    Claim claim(LocalDate day, String domain, String proposedId) throws IOException;

    /** The report of a {@link Claim.Mine} is in this relay's outbox: no other relay builds it. Releases the lock. */
    void built(LocalDate day, String domain, Claim.Mine claim) throws IOException;

    /** Gives up a claim without building (e.g. the TLSRPT look-up failed): another run or relay tries again. */
    void release(LocalDate day, String domain) throws IOException;

    /** What {@link #claim} found. */
    sealed interface Claim {
        /**
         * This relay reports: the cluster-wide report id and every relay's part.
         *
         * @param parts the published totals by node id
         */
        record Mine(String reportId, java.util.Map<String, TlsReport> parts) implements Claim {
            public Mine {
                parts = java.util.Map.copyOf(parts);
            }
        }

        /** Another relay has built it: its marker names the relay and the report id. */
        record Elsewhere(String node, String reportId) implements Claim {}

        /** Not yet: some relay has not published its final totals for the day, and the wait is not over. */
        record NotYet(String why) implements Claim {}
    }
}
