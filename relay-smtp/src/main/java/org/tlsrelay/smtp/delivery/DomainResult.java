package org.tlsrelay.smtp.delivery;

import java.util.List;
import org.tlsrelay.core.queue.RecipientResult;
import org.tlsrelay.core.queue.RecipientStatus;

/**
 * What one attempt for one (message, domain) achieved, per recipient.
 *
 * @param domain the recipient domain
 * @param outcomes one per recipient of the domain that was pending, in envelope order
 * @param policyRefused no transaction took place because the policy refused every MX that was tried: the recipients
 *     are pending with a {@code 4.7.5} reason (RFC 8461 §5.1 makes that temporary)
 * @param interruption whether the relay, stopping, cut the attempt short
 */
record DomainResult(
        String domain, List<Outcome> outcomes, boolean policyRefused, Interruption interruption) {
    public DomainResult {
        outcomes = List.copyOf(outcomes);
    }

    DomainResult(String domain, List<Outcome> outcomes, boolean policyRefused) {
        this(domain, outcomes, policyRefused, Interruption.NONE);
    }

    /** Whether the relay, stopping, ended the attempt itself. */
    enum Interruption {
        /** It ran its course. */
        NONE,
        /** It never connected anywhere: due again as it was, no attempt counted. */
        NOT_STARTED,
        /** Cut while connected, before the end of data: nothing delivered, due again at once. */
        CUT,
        /** Cut after the end of data, before the MX's reply: the MX may have it (RFC 1047), a possible duplicate. */
        CUT_AFTER_DATA
    }

    /**
     * One recipient after the attempt.
     *
     * @param recipient the recipient as the envelope had it before the attempt
     * @param state delivered, still pending, or failed for good
     * @param reply the MX's reply or the reason, as an SMTP reply line ({@code 550 5.1.1 ...})
     * @param remoteMta the MX host that gave the reply; empty when the reason is local
     * @param mxOfferedDsn whether that MX offered DSN (RFC 3461): then it, not this relay, reports success
     * @param trace where the attempt went and how long it took, for the recipient's log line
     */
    record Outcome(
            RecipientStatus recipient,
            RecipientStatus.State state,
            String reply,
            String remoteMta,
            boolean mxOfferedDsn,
            Trace trace) {

        RecipientResult toResult() {
            return new RecipientResult(recipient.address(), state, reply);
        }

        Outcome withState(RecipientStatus.State s) {
            return new Outcome(recipient, s, reply, remoteMta, mxOfferedDsn, trace);
        }
    }

    /** Every recipient with the same outcome (a DNS verdict, an internal error), none given by an MX. */
    static DomainResult all(
            String domain,
            List<RecipientStatus> recipients,
            RecipientStatus.State state,
            String reply,
            Trace trace) {
        return new DomainResult(
                domain,
                recipients.stream()
                        .map(r -> new Outcome(r, state, reply, "", false, trace))
                        .toList(),
                false);
    }
}
