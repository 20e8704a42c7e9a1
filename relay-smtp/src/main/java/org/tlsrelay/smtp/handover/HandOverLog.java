package org.tlsrelay.smtp.handover;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.log.LogFields;
import org.tlsrelay.core.queue.RecipientStatus;

/**
 * The drain's log, in the relay's Postfix-shaped lines, queue id first, so that {@code grep ID} over the log of the
 * drain tells where each message went, and {@code grep NEWID} over the other relay's log goes on from there: one line
 * per recipient ({@code status=handed-over} or {@code status=left}, the other relay's reply in parentheses), then
 * {@code handed over to RELAY as NEWID by USER} and {@code removed}. The JSON format has the same fields as keys.
 */
final class HandOverLog {
    private static final Logger LOG = LoggerFactory.getLogger(Drain.class);
    private static final Pattern QUEUED_AS =
            Pattern.compile("queued as ([A-Za-z0-9._-]+)", Pattern.CASE_INSENSITIVE);
    private static final Pattern ENHANCED =
            Pattern.compile("^\\d{3}[ -]([245]\\.\\d{1,3}\\.\\d{1,3})");

    private HandOverLog() {}

    static void start(String user, int messages, int alone, HandOverTarget target) {
        try (LogFields f = LogFields.of("action", "drain", "user", user)) {
            LOG.info(
                    "queue drain by {}: {} message(s) to hand over to {}{}",
                    user,
                    messages,
                    target.label(),
                    alone == 0 ? "" : ", " + alone + " held or damaged stay here");
        }
    }

    static void connected(SessionFacts s, HandOverTarget target) {
        LOG.info(
                "queue drain: connected to {}, tls={}{}{}",
                s.relay(),
                s.tls(),
                s.encrypted() ? (s.verified() ? " (verified)" : " (certificate not checked)") : "",
                target.credentials().present() ? ", AUTH as " + target.credentials().user() : "");
    }

    /** One recipient's line, Postfix-shaped. */
    static void recipient(
            String id,
            Instant arrival,
            Instant now,
            RecipientStatus r,
            SessionFacts s,
            String status,
            String reply) {
        String delay = seconds(arrival, now);
        String dsn = dsn(reply);
        String orcpt = orcpt(r);
        try (LogFields f =
                LogFields.of(
                        "queueId", id,
                        "to", r.address(),
                        "orcpt", orcpt,
                        "relay", s.relay(),
                        "delay", delay,
                        "tls", s.tls(),
                        "dsn", dsn,
                        "status", status,
                        "reply", reply)) {
            LOG.info(
                    "{}: to=<{}>{}, relay={}, delay={}, tls={}, dsn={}, status={} ({})",
                    id,
                    r.address(),
                    orcpt.isEmpty() ? "" : ", orcpt=" + orcpt,
                    s.relay(),
                    delay,
                    s.tls(),
                    dsn,
                    status,
                    reply);
        }
    }

    static void handedOver(String id, SessionFacts s, String queuedAs, String user, int n) {
        try (LogFields f =
                LogFields.of(
                        "queueId", id,
                        "relay", s.relay(),
                        "queuedAs", queuedAs,
                        "action", "drain",
                        "user", user)) {
            LOG.info(
                    "{}: handed over to {} as {} by {} ({} recipient(s))",
                    id,
                    s.relay(),
                    queuedAs,
                    user,
                    n);
        }
    }

    static void removed(String id) {
        try (LogFields f = LogFields.of("queueId", id)) {
            LOG.info("{}: removed", id);
        }
    }

    static void left(String id, String reason) {
        try (LogFields f = LogFields.of("queueId", id, "action", "drain")) {
            LOG.info("{}: left here: {}", id, reason);
        }
    }

    static void failed(String id, String reason) {
        try (LogFields f = LogFields.of("queueId", id, "action", "drain")) {
            LOG.warn("{}: not handed over, left here: {}", id, reason);
        }
    }

    static void notRecorded(String id, String queuedAs, String why) {
        try (LogFields f = LogFields.of("queueId", id, "queuedAs", queuedAs)) {
            LOG.error(
                    "{}: the other relay took it as {}, but the hand-over could not be recorded here ({}):"
                            + " delete it here (tlsrelay queue delete {}) before this node's spool is used"
                            + " again",
                    id,
                    queuedAs,
                    why,
                    id);
        }
    }

    static void done(String user, Drain.Summary sum) {
        try (LogFields f = LogFields.of("action", "drain", "user", user)) {
            LOG.info(
                    "queue drain by {}: handed over {}, left {}, failed {}{}",
                    user,
                    sum.handedOver(),
                    sum.left(),
                    sum.failed(),
                    sum.stopped().isEmpty() ? "" : "; stopped: " + sum.stopped());
        }
    }

    /** The other relay's queue id from its 250 ({@code queued as ID}, Postfix's and tlsrelay's words). */
    static String queuedAs(String reply) {
        Matcher m = QUEUED_AS.matcher(reply);
        return m.find() ? m.group(1) : reply;
    }

    private static String dsn(String reply) {
        Matcher m = ENHANCED.matcher(reply);
        if (m.find()) {
            return m.group(1);
        }
        return reply.isEmpty() ? "4.0.0" : reply.charAt(0) + ".0.0";
    }

    /** ORCPT when it says more than the address: {@code <orig@example.com>}, or {@code type;address}. */
    private static String orcpt(RecipientStatus r) {
        String o = r.orcpt();
        int semi = o.indexOf(';');
        if (semi <= 0) {
            return "";
        }
        String address = o.substring(semi + 1);
        if (!o.substring(0, semi).equalsIgnoreCase("rfc822")) {
            return o;
        }
        return address.equals(r.address()) ? "" : "<" + address + ">";
    }

    /** Seconds as Postfix prints them (as the delivery log does). */
    static String seconds(Instant from, Instant to) {
        long ms = Math.max(0, Duration.between(from, to).toMillis());
        if (ms >= 10_000) {
            return Long.toString(ms / 1000);
        }
        String text =
                String.format(
                        Locale.ROOT, ms >= 1000 ? "%.1f" : ms >= 10 ? "%.2f" : "%.3f", ms / 1000.0);
        text = text.replaceAll("0+$", "");
        return text.endsWith(".") ? text.substring(0, text.length() - 1) : text;
    }
}
