package org.tlsrelay.smtp.inbound;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.XText;

/**
 * The arguments of MAIL and RCPT, parsed: the path (RFC 5321 §4.1.2, {@link SmtpPath}) and the ESMTP parameters of the
 * extensions the server advertises. A pure codec, as Netty's {@code SmtpRequestDecoder}: the text after the verb goes
 * in, a value or the SMTP reply that refuses it comes out; no session, no I/O. What the session decides (sequence,
 * relay permission, limits) stays in the command adapters.
 */
final class EsmtpParameters {
    private EsmtpParameters() {}

    /** A parse: the value, or the reply that refuses the command. */
    sealed interface Parsed<T> {
        record Ok<T>(T value) implements Parsed<T> {}

        record Refused<T>(Refusal refusal) implements Parsed<T> {}
    }

    /**
     * MAIL FROM (RFC 5321 §4.1.1.2) and its parameters: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), RET and
     * ENVID (RFC 3461 §4.3, §4.4; ENVID xtext-decoded), AUTH (RFC 4954 §5) and REQUIRETLS (RFC 8689 §2).
     *
     * @param size the declared SIZE, 0 when none was given
     */
    record MailFrom(
            SmtpPath path,
            long size,
            Envelope.BodyType body,
            boolean smtpUtf8,
            Envelope.Ret ret,
            String envid,
            boolean requireTls) {}

    /** RCPT TO (RFC 5321 §4.1.1.3) and its RFC 3461 parameters: NOTIFY (§4.1) and ORCPT (§4.2, xtext-decoded). */
    record RcptTo(SmtpPath path, Set<RecipientStatus.Notify> dsnNotify, String orcpt) {}

    /**
     * Parses the text after {@code MAIL}.
     *
     * @param maxMessageSize the server's limit: a larger declared SIZE is refused up front (RFC 1870 §6)
     * @param tlsActive whether the session is protected by TLS (REQUIRETLS is only valid there, RFC 8689 §2)
     */
    static Parsed<MailFrom> mailFrom(String args, long maxMessageSize, boolean tlsActive) {
        String a = args.stripLeading();
        if (!a.regionMatches(true, 0, "FROM:", 0, 5)) {
            return refused("501 5.5.4 Syntax: MAIL FROM:<address>");
        }
        SmtpPath path;
        try {
            path = SmtpPath.parse(a.substring(5), true);
        } catch (SmtpPath.SyntaxException e) {
            return refused("501 5.1.7 Bad sender address syntax: " + e.getMessage());
        }
        if (path.domainless()) {
            // RFC 5321 §4.1.1.3: only a recipient may be the bare <postmaster>; a reverse-path
            // (§4.1.2) is a mailbox with a domain, where bounces can go.
            return refused(
                    "553 5.1.7 Error: the sender address needs a domain (<postmaster@example.org>,"
                            + " not <postmaster>)");
        }
        long size = 0;
        Envelope.BodyType body = Envelope.BodyType.UNSPECIFIED;
        boolean smtpUtf8 = false;
        Envelope.Ret ret = Envelope.Ret.UNSPECIFIED;
        String envid = "";
        boolean requireTls = false;
        Set<String> seen = new HashSet<>();
        for (SmtpPath.Parameter p : path.parameters()) {
            String key = p.keyword().toUpperCase(Locale.ROOT);
            if (!seen.add(key)) {
                return refused("501 5.5.4 Error: duplicate parameter " + key);
            }
            String v = p.value();
            switch (key) {
                case "SIZE" -> {
                    if (!v.matches("[0-9]{1,20}")) {
                        return refused("501 5.5.4 Error: bad SIZE value");
                    }
                    if (v.length() > 18 || Long.parseLong(v) > maxMessageSize) {
                        return new Parsed.Refused<>(
                                Refusal.counted(
                                        Rejection.MESSAGE_SIZE,
                                        "552 5.3.4 Message size exceeds fixed maximum message size"));
                    }
                    size = Long.parseLong(v);
                }
                case "BODY" -> {
                    switch (v.toUpperCase(Locale.ROOT)) {
                        case "7BIT" -> body = Envelope.BodyType.SEVEN_BIT;
                        case "8BITMIME" -> body = Envelope.BodyType.EIGHT_BIT_MIME;
                        default -> {
                            return refused(
                                    "555 5.5.4 Unsupported BODY value " + SmtpPath.printable(v));
                        }
                    }
                }
                case "SMTPUTF8" -> {
                    if (!v.isEmpty()) {
                        return refused("501 5.5.4 Error: SMTPUTF8 takes no value");
                    }
                    smtpUtf8 = true;
                }
                case "RET" -> {
                    switch (v.toUpperCase(Locale.ROOT)) {
                        case "FULL" -> ret = Envelope.Ret.FULL;
                        case "HDRS" -> ret = Envelope.Ret.HDRS;
                        default -> {
                            return refused("501 5.5.4 Error: RET must be FULL or HDRS");
                        }
                    }
                }
                case "ENVID" -> {
                    try {
                        envid = XText.decode(v);
                    } catch (IllegalArgumentException e) {
                        return refused("501 5.5.4 Error: bad ENVID: " + e.getMessage());
                    }
                    if (v.length() > 100 || envid.isEmpty()) {
                        return refused("501 5.5.4 Error: ENVID must be 1 to 100 characters");
                    }
                }
                case "AUTH" -> {
                    // RFC 4954 §5: the submitter's identity; accepted and not passed on.
                }
                case "REQUIRETLS" -> {
                    if (!v.isEmpty()) {
                        return refused("501 5.5.4 Error: REQUIRETLS takes no value");
                    }
                    // RFC 8689 §2: specified only in a session that uses TLS (and advertised only
                    // there); a client that tries it in clear text is told to start TLS (RFC 3207
                    // §4 530, RFC 5248 X.7.10 "Encryption needed").
                    if (!tlsActive) {
                        return refused(
                                "530 5.7.10 REQUIRETLS needs a TLS session: issue STARTTLS first");
                    }
                    requireTls = true;
                }
                default -> {
                    return refused(
                            "555 5.5.4 Unsupported option: " + SmtpPath.printable(p.keyword()));
                }
            }
        }
        if (path.nonAscii() && !smtpUtf8) {
            return refused("553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter (RFC 6531)");
        }
        Optional<String> idna = path.idnaProblem();
        if (idna.isPresent()) {
            // DSNs go back there: a domain DNS can never be asked about is refused at once
            return refused("553 5.1.7 <" + SmtpPath.printable(path.mailbox()) + ">: " + idna.get());
        }
        return new Parsed.Ok<>(new MailFrom(path, size, body, smtpUtf8, ret, envid, requireTls));
    }

    /** Parses the text after {@code RCPT}. */
    static Parsed<RcptTo> rcptTo(String args) {
        String a = args.stripLeading();
        if (!a.regionMatches(true, 0, "TO:", 0, 3)) {
            return refused("501 5.5.4 Syntax: RCPT TO:<address>");
        }
        SmtpPath path;
        try {
            path = SmtpPath.parse(a.substring(3), false);
        } catch (SmtpPath.SyntaxException e) {
            return refused("501 5.1.3 Bad recipient address syntax: " + e.getMessage());
        }
        Set<RecipientStatus.Notify> notify = EnumSet.noneOf(RecipientStatus.Notify.class);
        String orcpt = "";
        Set<String> seen = new HashSet<>();
        for (SmtpPath.Parameter p : path.parameters()) {
            String key = p.keyword().toUpperCase(Locale.ROOT);
            if (!seen.add(key)) {
                return refused("501 5.5.4 Error: duplicate parameter " + key);
            }
            switch (key) {
                case "NOTIFY" -> {
                    // RFC 3461 §4.1: NEVER, or any of SUCCESS, FAILURE, DELAY.
                    for (String n : p.value().toUpperCase(Locale.ROOT).split(",", -1)) {
                        try {
                            notify.add(RecipientStatus.Notify.valueOf(n));
                        } catch (IllegalArgumentException e) {
                            return refused("501 5.5.4 Error: bad NOTIFY value");
                        }
                    }
                    if (notify.contains(RecipientStatus.Notify.NEVER) && notify.size() > 1) {
                        return refused("501 5.5.4 Error: NOTIFY=NEVER cannot be combined");
                    }
                }
                case "ORCPT" -> {
                    // RFC 3461 §4.2: addr-type ";" xtext
                    int semi = p.value().indexOf(';');
                    if (semi < 1 || !p.value().substring(0, semi).matches("[A-Za-z0-9-]+")) {
                        return refused("501 5.5.4 Error: bad ORCPT: must be addr-type;address");
                    }
                    try {
                        orcpt =
                                p.value().substring(0, semi)
                                        + ";"
                                        + XText.decode(p.value().substring(semi + 1));
                    } catch (IllegalArgumentException e) {
                        return refused("501 5.5.4 Error: bad ORCPT: " + e.getMessage());
                    }
                }
                default -> {
                    return refused(
                            "555 5.5.4 Unsupported option: " + SmtpPath.printable(p.keyword()));
                }
            }
        }
        return new Parsed.Ok<>(new RcptTo(path, notify, orcpt));
    }

    private static <T> Parsed<T> refused(String reply) {
        return new Parsed.Refused<>(Refusal.of(reply));
    }
}
