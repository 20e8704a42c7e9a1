package org.tlsrelay.smtp.report;

import jakarta.mail.MessagingException;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dkim.OwnMailSigner;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.report.PreparedReport;
import org.tlsrelay.core.report.ReportTransport;
import org.tlsrelay.core.report.Rua;
import org.tlsrelay.core.report.TlsExemption;

/**
 * Sends a report to a {@code mailto:} endpoint by queueing the {@link ReportMessage} in the relay's own spool: the
 * delivery engine then sends it like any message, with retries and bounces, but exempt from the recipient domain's
 * TLS policy ({@link TlsExemption}: envelope source {@code local} and the exemption note). Queued durably counts as
 * sent. A message larger than the endpoint's {@code !size} limit is refused and not retried.
 */
public final class SpoolMailTransport implements ReportTransport {
    private final Spool spool;
    private final String from;
    private final Clock clock;
    private final OwnMailSigner signer;

    /**
     * @param spool the spool opened by the relay ({@link Spool#open}); mail is only queued, never sent from here
     * @param from the reports' sender ({@link #senderFor})
     */
    public SpoolMailTransport(Spool spool, String from, Clock clock) {
        this(spool, from, clock, OwnMailSigner.none());
    }

    /**
     * As {@link #SpoolMailTransport(Spool, String, Clock)}, with the report mails DKIM-signed by {@code signer}
     * (RFC 8460 §3 asks for a signature of the reporting domain).
     */
    public SpoolMailTransport(Spool spool, String from, Clock clock, OwnMailSigner signer) {
        this.spool = spool;
        this.from = from;
        this.clock = clock;
        this.signer = signer;
    }

    /**
     * A transport for a process that cannot queue because the running relay holds the spool ({@code tlsrelay report
     * send}): mail reports stay pending for the relay's own report job.
     */
    public static ReportTransport handOffToRunningRelay() {
        return new ReportTransport() {
            @Override
            public boolean accepts(Rua rua) {
                return rua instanceof Rua.Mailto;
            }

            @Override
            public Result send(Rua rua, PreparedReport report) {
                return new Result.Deferred(
                        "the running relay holds the spool; its report job queues this mail");
            }
        };
    }

    /**
     * The reports' sender: the {@code reports.contact} address when it is a mail address (bounces of reports reach
     * the people who read them), else {@code tlsrpt-noreply@SUBMITTER}.
     */
    public static String senderFor(RelayConfig.Reports reports) {
        String contact = reports.contactInfo().orElse("").trim();
        if (contact.regionMatches(true, 0, "mailto:", 0, 7)) {
            contact = contact.substring(7);
        }
        if (contact.matches("[^@\\s<>,;:\"]+@[A-Za-z0-9.-]+\\.[A-Za-z0-9-]+")) {
            return contact;
        }
        return "tlsrpt-noreply@" + reports.submitter().toLowerCase(Locale.ROOT);
    }

    @Override
    public boolean accepts(Rua rua) {
        return rua instanceof Rua.Mailto;
    }

    @Override
    public Result send(Rua rua, PreparedReport report) {
        Rua.Mailto mailto = (Rua.Mailto) rua;
        Instant now = clock.instant();
        byte[] message;
        try {
            message =
                    signer.sign(
                            ReportMessage.bytes(
                                    ReportMessage.build(report, from, mailto.address(), now)));
        } catch (MessagingException | RuntimeException e) {
            return new Result.Refused(
                    "cannot build the report mail for " + mailto.address() + ": " + e.getMessage());
        }
        if (mailto.limit().isPresent() && message.length > mailto.limit().getAsLong()) {
            return new Result.Refused(
                    "the report mail has "
                            + message.length
                            + " bytes, more than the "
                            + mailto.limit().getAsLong()
                            + " that "
                            + mailto.uri()
                            + " accepts");
        }
        try (Spool.Reception r = spool.receive()) {
            r.body().write(message);
            Envelope envelope =
                    TlsExemption.mark(
                            Envelope.accepted(
                                    r.id(),
                                    now,
                                    from,
                                    List.of(
                                            RecipientStatus.pending(
                                                    mailto.address(), Set.of(), "", now)),
                                    Envelope.BodyType.SEVEN_BIT,
                                    false,
                                    Envelope.Ret.HDRS,
                                    "",
                                    Envelope.Source.local()));
            QueuedMessage queued = r.commit(envelope);
            return new Result.Sent("queued as " + queued.id() + " for " + mailto.address());
        } catch (IOException | RuntimeException e) {
            return new Result.Failed(
                    "cannot queue the report mail for " + mailto.address() + ": " + e.getMessage());
        }
    }
}
