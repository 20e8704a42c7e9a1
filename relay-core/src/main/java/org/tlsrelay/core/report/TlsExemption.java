package org.tlsrelay.core.report;

import java.util.List;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.queue.Envelope;

/**
 * The exemption of TLS-RPT report messages from TLS enforcement. RFC 8460 §3: "When sending failure reports via
 * SMTP, sending MTAs MUST deliver reports despite any TLS-related failures and SHOULD NOT include this SMTP session in
 * the next report" — a domain whose TLS is broken must still hear about it.
 *
 * <p>A report queued in the spool carries {@link #NOTE} among its envelope notes, and only the relay itself can put
 * it there: the envelope's source is {@code local} ({@link Envelope.Source#local()}), which no SMTP client can
 * produce. The delivery engine asks {@link #isExempt(Envelope)} and, when true, delivers the message under
 * {@link #policyFor(String)} instead of the domain's resolved policy: opportunistic TLS (STARTTLS when offered, any
 * certificate, clear text when TLS fails), and the {@link OutcomeRecorder} leaves that session out of the reports.
 */
public final class TlsExemption {
    /** The envelope note that marks a locally generated TLS-RPT report. */
    public static final String NOTE = "tls-policy-exempt: TLS-RPT report (RFC 8460 §3)";

    private TlsExemption() {}

    /** Whether delivery must ignore the recipient domain's TLS policy for this message. */
    public static boolean isExempt(Envelope envelope) {
        return "local".equals(envelope.source().protocol()) && envelope.notes().contains(NOTE);
    }

    /** {@code envelope} with the exemption note (for a locally generated report). */
    public static Envelope mark(Envelope envelope) {
        if (!"local".equals(envelope.source().protocol())) {
            throw new IllegalArgumentException(
                    "only messages the relay generates itself can be exempt");
        }
        return envelope.notes().contains(NOTE) ? envelope : envelope.withNotes(List.of(NOTE));
    }

    /** The policy an exempt message is delivered under: mode {@code none}, not reported. */
    public static ResolvedPolicy policyFor(String domain) {
        return ResolvedPolicy.tlsRptExempt(domain);
    }

    /** Whether an outcome was produced under {@link #policyFor}: the recorder skips it. */
    public static boolean isExempt(MxPolicy policy) {
        return policy.isTlsRptExempt();
    }
}
