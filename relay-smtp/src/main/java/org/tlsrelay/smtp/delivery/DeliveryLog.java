package org.tlsrelay.smtp.delivery;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.log.LogFields;
import org.tlsrelay.core.log.LogLine;
import org.tlsrelay.core.queue.RecipientStatus;

/**
 * What the delivery engine tells the operator about each message, in Postfix's shape, queue id first, so that
 * {@code grep QUEUEID} tells a message's story and {@code grep 'to=<bob@example.com>'} every delivery to bob:
 *
 * <pre>
 * 1j1v7tv5ks0lsh: to=&lt;bob@example.com&gt;, relay=mx1.example.com[192.0.2.10]:25, delay=1.2, delays=0.01/0.3/0.6/0.3,
 *     tls=TLSv1.3/TLS_AES_256_GCM_SHA384, policy=mta-sts/enforce, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4XzT)
 * 1j1v7tv5ks0lsh: sender non-delivery notification: 1j1v7u0ab3c4de
 * 1j1v7tv5ks0lsh: removed
 * </pre>
 *
 * One line per recipient and attempt; {@code delays=a/b/c/d} is queued / DNS and policy / connection and TLS /
 * transfer. The fields are in the MDC as well while a line is logged, so the JSON format carries them as keys. No
 * formatting happens when INFO is off.
 */
final class DeliveryLog {
    private static final Logger LOG = LoggerFactory.getLogger(DeliveryLog.class);

    private DeliveryLog() {}

    /** The line of one recipient after an attempt, with the status its settlement gave it. */
    static void recipient(
            String queueId, Instant arrival, DomainResult.Outcome o, Settlement.Status status) {
        if (!LOG.isInfoEnabled()) {
            return;
        }
        Trace t = o.trace();
        String relay;
        String tls;
        String mx;
        if (t.relay() instanceof Trace.Relay.Mx m) {
            relay = m.target().toString();
            tls = m.tls();
            mx = m.target().mxHost();
        } else {
            relay = "none";
            tls = "none";
            mx = "";
        }
        RecipientStatus rs = o.recipient();
        String orcpt = orcpt(rs);
        String delay = seconds(arrival, t.finished());
        String delays =
                seconds(arrival, t.started())
                        + "/"
                        + seconds(t.started(), t.resolved())
                        + "/"
                        + seconds(t.resolved(), t.transaction())
                        + "/"
                        + seconds(t.transaction(), t.finished());
        String dsn = Dsn.statusOf(o.reply(), fallback(status));
        // the MX's reply comes from the network: no CR, LF or escape sequence reaches the log
        String reply = LogLine.printable(o.reply());
        try (LogFields f =
                LogFields.of(
                        "queueId", queueId,
                        "domain", rs.domain(),
                        "mx", mx,
                        "to", rs.address(),
                        "orcpt", orcpt,
                        "relay", relay,
                        "delay", delay,
                        "delays", delays,
                        "tls", tls,
                        "policy", t.policy(),
                        "dsn", dsn,
                        "status", status.label(),
                        "reply", reply)) {
            LOG.info(
                    "{}: to=<{}>{}, relay={}, delay={}, delays={}, tls={}, policy={}, dsn={}, status={} ({})",
                    queueId,
                    rs.address(),
                    orcpt.isEmpty() ? "" : ", orcpt=" + orcpt,
                    relay,
                    delay,
                    delays,
                    tls,
                    t.policy(),
                    dsn,
                    status.label(),
                    reply);
        }
    }

    /** The DSN queued for {@code queueId}, as Postfix names it, with the new message's id. */
    static void dsnQueued(String queueId, String dsnId, boolean failure, int recipients) {
        try (LogFields f = LogFields.of("queueId", queueId, "dsnQueueId", dsnId)) {
            LOG.info(
                    "{}: sender {} notification: {} ({} recipient(s))",
                    queueId,
                    failure ? "non-delivery" : "delivery status",
                    dsnId,
                    recipients);
        }
    }

    /** Failed recipients of a message from the null sender: RFC 5321 §4.5.5 sends no DSN for them. */
    static void noDsnForNullSender(String queueId, int failed) {
        try (LogFields f = LogFields.of("queueId", queueId)) {
            LOG.warn(
                    "{}: no non-delivery notification for {} failed recipient(s): the sender is <> (a"
                            + " notification itself), and RFC 5321 §4.5.5 sends none to it",
                    queueId,
                    failed);
        }
    }

    /** Every recipient is done: the message left the spool. */
    static void removed(String queueId) {
        try (LogFields f = LogFields.of("queueId", queueId)) {
            LOG.info("{}: removed", queueId);
        }
    }

    /** Recipients are pending: the message waits for its next attempt. */
    static void deferred(String queueId, Instant until) {
        try (LogFields f = LogFields.of("queueId", queueId)) {
            LOG.info("{}: deferred until {}", queueId, until.truncatedTo(ChronoUnit.SECONDS));
        }
    }

    /**
     * The ORCPT (RFC 3461 §4.2) when it says something the address does not: {@code <orig@example.com>} for an
     * rfc822 one, {@code type;address} for another type; empty otherwise.
     */
    static String orcpt(RecipientStatus rs) {
        String o = rs.orcpt();
        int semi = o.indexOf(';');
        if (semi <= 0) {
            return "";
        }
        String type = o.substring(0, semi);
        String address = o.substring(semi + 1);
        if (!type.equalsIgnoreCase("rfc822")) {
            return o;
        }
        return address.equals(rs.address()) ? "" : "<" + address + ">";
    }

    /** The status code a reply without one stands for. */
    private static String fallback(Settlement.Status status) {
        return switch (status) {
            case SENT -> "2.0.0";
            case DEFERRED -> "4.0.0";
            case BOUNCED -> "5.0.0";
            case EXPIRED -> "4.4.7"; // RFC 3463 X.4.7 delivery time expired
        };
    }

    /**
     * Seconds as Postfix prints them: whole seconds from 10 s on, tenths from 1 s, hundredths below, thousandths below
     * 10 ms; {@code 0} for nothing (or a clock that went backwards).
     */
    static String seconds(Instant from, Instant to) {
        long ms = Math.max(0, Duration.between(from, to).toMillis());
        if (ms >= 10_000) {
            return Long.toString(ms / 1000);
        }
        // rounded half up to the digits shown, in whole units (no String.format: one line per
        // recipient)
        if (ms >= 1000) {
            return decimal((ms + 50) / 100, 1);
        }
        if (ms >= 10) {
            return decimal((ms + 5) / 10, 2);
        }
        return decimal(ms, 3);
    }

    /** {@code units} / 10^{@code digits} in decimal, without trailing zeros (or point). */
    private static String decimal(long units, int digits) {
        long scale = digits == 1 ? 10 : digits == 2 ? 100 : 1000;
        long whole = units / scale;
        long fraction = units % scale;
        if (fraction == 0) {
            return Long.toString(whole);
        }
        StringBuilder text = new StringBuilder(8).append(whole).append('.');
        String f = Long.toString(fraction + scale).substring(1); // leading zeros kept
        int end = f.length();
        while (f.charAt(end - 1) == '0') {
            end--;
        }
        return text.append(f, 0, end).toString();
    }
}
