package org.tlsrelay.smtp.delivery;

import jakarta.activation.DataHandler;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.ContentType;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.internet.ParseException;
import jakarta.mail.util.ByteArrayDataSource;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;

/**
 * Builds delivery status notifications: RFC 3464 {@code multipart/report; report-type=delivery-status} (RFC 6522)
 * with a human-readable part, the {@code message/delivery-status} fields, and the original message or its header
 * (RFC 3461 §4.3 RET), sent to the envelope sender with the null reverse-path (RFC 5321 §4.5.5).
 */
final class Dsn {
    /** Without RET, the whole message comes back only up to this size (Postfix: bounce_size_limit). */
    static final long UNSPECIFIED_RETURN_LIMIT = 1024 * 1024;

    /** Even with RET=FULL, a larger message comes back as its header only, so a DSN stays deliverable. */
    static final long FULL_RETURN_LIMIT = 10 * 1024 * 1024;

    private static final int MAX_HEADER_BYTES = 256 * 1024;
    private static final Pattern REPLY =
            Pattern.compile("^([245])\\d\\d(?:[ -]([245]\\.\\d{1,3}\\.\\d{1,3}))?(?=\\s|$)");
    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT)
                    .withZone(ZoneOffset.UTC);

    /** RFC 3464 §2.3.3 actions this relay reports. */
    enum Action {
        /** Could not be delivered and will not be tried again. */
        FAILED,
        /** Handed to an MX that does not offer DSN, so no further notification will come (RFC 3461 §5.2.2). */
        RELAYED;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One recipient in the report.
     *
     * @param recipient the recipient as queued (address, ORCPT)
     * @param action what happened
     * @param reply the reply or reason, as an SMTP reply line; its enhanced code becomes {@code Status}
     * @param remoteMta the MX that gave the reply; empty when the reason is local
     * @param expired the retry time ran out (then the status says so when the reply has no better one)
     */
    record Entry(
            RecipientStatus recipient,
            Action action,
            String reply,
            String remoteMta,
            boolean expired) {
        public Entry {
            Objects.requireNonNull(recipient, "recipient");
            Objects.requireNonNull(action, "action");
            reply = reply == null ? "" : reply;
            remoteMta = remoteMta == null ? "" : remoteMta;
        }

        /** RFC 3464 §2.3.4: the enhanced status code (RFC 3463) of the reply, or one made from its class. */
        String status() {
            return statusOf(
                    reply,
                    action == Action.RELAYED
                            ? "2.0.0"
                            : expired ? "4.4.7" : "5.0.0"); // X.4.7: delivery time expired
        }
    }

    /**
     * The enhanced status code (RFC 3463) of a reply line ({@code 550 5.1.1 ...}), or {@code X.0.0} of its class when
     * it has none; {@code fallback} when it is no reply line. What a DSN's {@code Status} and the log's {@code dsn=}
     * say.
     */
    static String statusOf(String reply, String fallback) {
        Matcher m = REPLY.matcher(reply);
        if (m.find()) {
            return m.group(2) != null ? m.group(2) : m.group(1) + ".0.0";
        }
        return fallback;
    }

    private Dsn() {}

    /**
     * The DSN for {@code envelope}, whose content is in {@code body}, as the bytes of a complete message (CRLF line
     * endings).
     *
     * @param reportingMta this relay's host name ({@code Reporting-MTA}, {@code From: MAILER-DAEMON@...})
     */
    static byte[] build(
            String reportingMta, Envelope envelope, Path body, List<Entry> entries, Instant now)
            throws IOException {
        if (envelope.nullSender()) {
            throw new IllegalArgumentException(
                    "queue " + envelope.id() + ": no DSN for the null sender");
        }
        if (entries.isEmpty()) {
            throw new IllegalArgumentException(
                    "queue " + envelope.id() + ": a DSN needs at least one recipient");
        }
        boolean failure = entries.stream().anyMatch(e -> e.action() == Action.FAILED);
        try {
            Properties props = new Properties();
            props.setProperty(
                    "mail.from",
                    "MAILER-DAEMON@" + reportingMta); // no local host look-up for Message-ID
            Session session = Session.getInstance(props);
            MimeMessage msg = new DsnMessage(session, reportingMta, envelope.id(), now);
            msg.setFrom(
                    new InternetAddress(
                            "MAILER-DAEMON@" + reportingMta, "Mail Delivery System", "UTF-8"));
            msg.setHeader("To", "<" + envelope.sender() + ">");
            msg.setSubject(
                    failure
                            ? "Undelivered Mail Returned to Sender"
                            : "Successful Mail Delivery Report",
                    "UTF-8");
            msg.setSentDate(Date.from(now));
            msg.setHeader("Auto-Submitted", "auto-replied"); // RFC 3834 §5: no auto-replies to this

            MimeMultipart report = new ReportMultipart();
            MimeBodyPart text = new MimeBodyPart();
            text.setText(humanReadable(reportingMta, envelope, entries, failure), "UTF-8");
            report.addBodyPart(text);

            byte[] status = deliveryStatus(reportingMta, envelope, entries, now);
            boolean utf8 = !isAscii(status);
            // RFC 6533 §6.2: fields with UTF-8 addresses go in message/global-delivery-status
            report.addBodyPart(
                    part(
                            status,
                            utf8 ? "message/global-delivery-status" : "message/delivery-status"));

            report.addBodyPart(original(envelope, body, failure));
            msg.setContent(report);
            msg.saveChanges();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            msg.writeTo(out);
            return out.toByteArray();
        } catch (MessagingException e) {
            throw new IOException(
                    "queue " + envelope.id() + ": cannot build the DSN: " + e.getMessage(), e);
        }
    }

    /**
     * RFC 3461 §4.3: the whole message (RET=FULL or unspecified, within limits) or only its header section; only the
     * header section for a REQUIRETLS message (RFC 8689 §5).
     */
    private static MimeBodyPart original(Envelope envelope, Path body, boolean failure)
            throws IOException, MessagingException {
        long size = Files.size(body);
        // RFC 8689 §5: the bounce of a REQUIRETLS message goes without REQUIRETLS, so it returns
        // the header only
        boolean full =
                failure
                        && !envelope.requireTls()
                        && switch (envelope.ret()) {
                            case FULL -> size <= FULL_RETURN_LIMIT;
                            case UNSPECIFIED -> size <= UNSPECIFIED_RETURN_LIMIT;
                            case HDRS ->
                                    false; // RFC 3461 §4.3; success reports carry the header only
                                // as well
                        };
        byte[] content = full ? Files.readAllBytes(body) : header(body);
        // RFC 6522 §3: message/rfc822 or text/rfc822-headers; RFC 6532 §3.7: message/global for
        // UTF-8 headers
        String type =
                full
                        ? (isAscii(content) ? "message/rfc822" : "message/global")
                        : "text/rfc822-headers";
        return part(content, type);
    }

    /** A part whose content is written as given: never re-encoded (RFC 2046 §5.2.1 allows no base64 for message/*). */
    private static MimeBodyPart part(byte[] content, String type) throws MessagingException {
        MimeBodyPart part = new MimeBodyPart();
        part.setDataHandler(new DataHandler(new ByteArrayDataSource(content, type)));
        part.setHeader("Content-Type", type);
        part.setHeader("Content-Transfer-Encoding", isAscii(content) ? "7bit" : "8bit");
        return part;
    }

    private static String humanReadable(
            String mta, Envelope envelope, List<Entry> entries, boolean failure) {
        StringBuilder b = new StringBuilder();
        b.append("This is the mail system at host ").append(mta).append(".\r\n\r\n");
        if (failure) {
            b.append(
                    "Your message could not be delivered to one or more recipients. It is attached below.\r\n");
            b.append("The mail system says why for each of them:\r\n\r\n");
        } else {
            b.append(
                    "Your message was handed on to the recipients' mail servers listed below. They do not\r\n");
            b.append(
                    "support delivery notifications, so you will hear nothing more about it.\r\n\r\n");
        }
        for (Entry e : entries) {
            b.append('<').append(e.recipient().address()).append(">: ");
            if (e.action() == Action.RELAYED) {
                b.append("relayed to ")
                        .append(e.remoteMta())
                        .append(" (")
                        .append(e.reply())
                        .append(')');
            } else {
                if (!e.remoteMta().isEmpty()) {
                    b.append("host ").append(e.remoteMta()).append(" said: ");
                }
                b.append(e.reply());
                if (e.expired()) {
                    b.append(" (gave up: the message was queued too long)");
                }
            }
            b.append("\r\n");
        }
        b.append("\r\nQueue id: ").append(envelope.id()).append("\r\n");
        return b.toString();
    }

    /** RFC 3464 §2.2 per-message fields, then §2.3 per-recipient fields, each group after a blank line. */
    private static byte[] deliveryStatus(
            String mta, Envelope envelope, List<Entry> entries, Instant now) {
        StringBuilder b = new StringBuilder();
        b.append("Reporting-MTA: dns; ").append(mta).append("\r\n");
        b.append("X-Queue-ID: ").append(envelope.id()).append("\r\n");
        if (!envelope.envid().isEmpty()) {
            b.append("Original-Envelope-Id: ").append(oneLine(envelope.envid())).append("\r\n");
        }
        b.append("Arrival-Date: ").append(DATE.format(envelope.arrival())).append("\r\n");
        for (Entry e : entries) {
            b.append("\r\n");
            RecipientStatus r = e.recipient();
            if (!r.orcpt().isEmpty()) {
                b.append("Original-Recipient: ").append(oneLine(r.orcpt())).append("\r\n");
            }
            b.append("Final-Recipient: rfc822; ").append(oneLine(r.address())).append("\r\n");
            b.append("Action: ").append(e.action().label()).append("\r\n");
            b.append("Status: ").append(e.status()).append("\r\n");
            if (!e.remoteMta().isEmpty()) {
                b.append("Remote-MTA: dns; ").append(e.remoteMta()).append("\r\n");
            }
            if (!e.reply().isEmpty()) {
                boolean smtp = REPLY.matcher(e.reply()).find();
                b.append("Diagnostic-Code: ")
                        .append(smtp ? "smtp; " : "X-tlsrelay; ")
                        .append(oneLine(e.reply()))
                        .append("\r\n");
            }
            b.append("Last-Attempt-Date: ").append(DATE.format(now)).append("\r\n");
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The header section of the message: up to the first empty line. */
    private static byte[] header(Path body) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(body))) {
            int prev = -1;
            int prev2 = -1;
            int c;
            while ((c = in.read()) >= 0 && out.size() < MAX_HEADER_BYTES) {
                out.write(c);
                if (c == '\n' && (prev == '\n' || prev == '\r' && prev2 == '\n')) {
                    break;
                }
                prev2 = prev;
                prev = c;
            }
        }
        return out.toByteArray();
    }

    /** Field values come from the network: no line breaks or control characters in a header field. */
    private static String oneLine(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return b.toString();
    }

    private static boolean isAscii(byte[] bytes) {
        for (byte x : bytes) {
            if (x < 0) {
                return false;
            }
        }
        return true;
    }

    /** {@code multipart/report; report-type=delivery-status} (RFC 6522 §3). */
    private static final class ReportMultipart extends MimeMultipart {
        ReportMultipart() throws ParseException {
            super("report");
            ContentType ct = new ContentType(contentType);
            ct.setParameter("report-type", "delivery-status");
            contentType = ct.toString();
        }
    }

    /** A message whose Message-ID names this relay and the queue id, without looking up the local host. */
    private static final class DsnMessage extends MimeMessage {
        private final String messageId;

        DsnMessage(Session session, String mta, String queueId, Instant now) {
            super(session);
            this.messageId = "<" + now.toEpochMilli() + "." + queueId + ".dsn@" + mta + ">";
        }

        @Override
        protected void updateMessageID() throws MessagingException {
            setHeader("Message-ID", messageId);
        }
    }
}
