package org.tlsrelay.smtp.report;

import jakarta.activation.DataHandler;
import jakarta.mail.MessagingException;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.internet.ContentType;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.util.ByteArrayDataSource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Date;
import java.util.Properties;
import org.tlsrelay.core.report.Aggregator;
import org.tlsrelay.core.report.PreparedReport;
import org.tlsrelay.core.report.ReportJson;

/**
 * The mail that carries a report to a {@code mailto:} endpoint (RFC 8460 §5.3): a {@code multipart/report} with
 * {@code report-type="tlsrpt"} (RFC 6522) whose first part is a short text for people and whose second part is the
 * gzip report ({@code application/tlsrpt+gzip}) under its §5.1 file name; the {@code TLS-Report-Domain} and
 * {@code TLS-Report-Submitter} header fields; and the subject
 * {@code Report Domain: DOMAIN Submitter: SUBMITTER Report-ID: <ID>}. It also says {@code TLS-Required: No}
 * (RFC 8689 §5: deliver even if TLS to the recipient fails, as RFC 8460 §3 requires) and {@code Auto-Submitted:
 * auto-generated} (RFC 3834). RFC 8460 §3 requires a DKIM signature of the reporting domain: the
 * {@link SpoolMailTransport} signs the message before it queues it, when {@code dkim.keys} has a key for it.
 */
public final class ReportMessage {
    private static final Session SESSION = Session.getInstance(new Properties());

    private ReportMessage() {}

    /**
     * Builds the message.
     *
     * @param from the {@code From:} mailbox
     * @param to the {@code rua} mailbox
     * @param date the {@code Date:}
     */
    public static MimeMessage build(PreparedReport report, String from, String to, Instant date)
            throws MessagingException {
        MimeMessage msg = new ReportMimeMessage(report);
        msg.setFrom(new InternetAddress(from, true));
        msg.setRecipient(MimeMessage.RecipientType.TO, new InternetAddress(to, true));
        msg.setSentDate(Date.from(date));
        msg.setSubject(
                "Report Domain: "
                        + report.policyDomain()
                        + " Submitter: "
                        + report.submitter()
                        + " Report-ID: <"
                        + report.reportId()
                        + ">",
                "US-ASCII");
        msg.setHeader("TLS-Report-Domain", report.policyDomain());
        msg.setHeader("TLS-Report-Submitter", report.submitter());
        msg.setHeader("TLS-Required", "No");
        msg.setHeader("Auto-Submitted", "auto-generated");

        MimeBodyPart text = new MimeBodyPart();
        text.setText(
                "This is an aggregate TLS report (RFC 8460) from "
                        + report.submitter()
                        + " about "
                        + report.policyDomain()
                        + ".\r\nIt covers "
                        + Aggregator.start(report.day())
                        + " to "
                        + Aggregator.end(report.day())
                        + " and is attached as "
                        + report.fileName()
                        + ".\r\nReport-ID: <"
                        + report.reportId()
                        + ">\r\n",
                "US-ASCII");

        MimeBodyPart attachment = new MimeBodyPart();
        attachment.setDataHandler(
                new DataHandler(
                        new ByteArrayDataSource(report.gzip(), ReportJson.GZIP_MEDIA_TYPE)));
        // Written by hand so the file name stays one quoted parameter (no RFC 2231 splitting of a
        // long name).
        attachment.setHeader(
                "Content-Type",
                ReportJson.GZIP_MEDIA_TYPE + "; name=\"" + report.fileName() + "\"");
        attachment.setHeader(
                "Content-Disposition",
                Part.ATTACHMENT + "; filename=\"" + report.fileName() + "\"");
        attachment.setHeader("Content-Transfer-Encoding", "base64");

        MimeMultipart multipart = new ReportMultipart();
        multipart.addBodyPart(text);
        multipart.addBodyPart(attachment);
        msg.setContent(multipart);
        msg.saveChanges();
        return msg;
    }

    /** The message as it goes on the wire: CRLF line endings, 7-bit. */
    public static byte[] bytes(MimeMessage message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            message.writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (MessagingException e) {
            throw new IllegalStateException("cannot write the report message", e);
        }
        return out.toByteArray();
    }

    /** {@code multipart/report; report-type="tlsrpt"} (RFC 6522 §3, RFC 8460 §5.3). */
    private static final class ReportMultipart extends MimeMultipart {
        ReportMultipart() throws MessagingException {
            super("report");
            String boundary = new ContentType(contentType).getParameter("boundary");
            contentType = "multipart/report; report-type=\"tlsrpt\"; boundary=\"" + boundary + "\"";
        }
    }

    /** A message whose Message-ID is derived from the report id, so a retry of the same report is recognisable. */
    private static final class ReportMimeMessage extends MimeMessage {
        private final PreparedReport report;

        ReportMimeMessage(PreparedReport report) {
            super(SESSION);
            this.report = report;
        }

        @Override
        protected void updateMessageID() throws MessagingException {
            setHeader(
                    "Message-ID",
                    "<"
                            + report.uniqueId()
                            + "."
                            + report.policyDomain()
                            + "@"
                            + report.submitter()
                            + ">");
        }
    }
}
