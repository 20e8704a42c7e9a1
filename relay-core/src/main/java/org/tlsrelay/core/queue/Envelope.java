package org.tlsrelay.core.queue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything the relay knows about a queued message besides its content: the SMTP envelope with the parameters
 * users rely on, the per-recipient delivery state and the schedule. Stored as {@code ID.json} beside {@code ID.eml}.
 *
 * @param id the queue id, also the file name stem
 * @param arrival when the relay accepted the message (250 reply)
 * @param sender the reverse-path mailbox without angle brackets; empty for the null reverse-path {@code <>} (bounces)
 * @param recipients every recipient with its state, in the order the client gave them
 * @param body the RFC 6152 BODY parameter
 * @param smtpUtf8 whether the client sent the RFC 6531 SMTPUTF8 parameter
 * @param ret the RFC 3461 §4.3 RET parameter
 * @param envid the RFC 3461 §4.4 ENVID, xtext-decoded; empty when none was given
 * @param source who submitted it
 * @param notes free-form notes for the operator and for bounces, e.g. policy decisions of the delivery engine
 * @param attempts delivery attempts made for the message (each covers all its pending recipients)
 * @param nextAttempt when the message is due (the arrival time for a new message)
 * @param requireTls the client sent {@code MAIL FROM:<..> REQUIRETLS} (RFC 8689 §4.1): deliver only over TLS to an MX
 *     authenticated by DANE or MTA-STS that itself supports REQUIRETLS; false for envelopes written before it existed
 * @param tlsRequiredNo the message carries a {@code TLS-Required: No} header field (RFC 8689 §5): deliver ignoring TLS
 *     policy failures (still over TLS when offered); ignored when {@code requireTls} is set (RFC 8689 §4.1)
 */
public record Envelope(
        String id,
        Instant arrival,
        String sender,
        List<RecipientStatus> recipients,
        BodyType body,
        boolean smtpUtf8,
        Ret ret,
        String envid,
        Source source,
        List<String> notes,
        int attempts,
        Instant nextAttempt,
        boolean requireTls,
        boolean tlsRequiredNo) {

    /** Notes beyond this many are dropped, oldest first, so an envelope stays small. */
    public static final int MAX_NOTES = 32;

    /** RFC 6152 / RFC 1652 BODY parameter of MAIL FROM. */
    public enum BodyType {
        /** No BODY parameter was given. */
        UNSPECIFIED,
        /** {@code BODY=7BIT}. */
        SEVEN_BIT,
        /** {@code BODY=8BITMIME}. */
        EIGHT_BIT_MIME
    }

    /** RFC 3461 §4.3 RET parameter: how much of the message a DSN returns. */
    public enum Ret {
        UNSPECIFIED,
        FULL,
        HDRS
    }

    /**
     * Who submitted the message.
     *
     * @param protocol {@code smtp} for messages received over SMTP, {@code local} for messages the relay made itself
     *     (bounces, reports)
     * @param address the client's IP address; empty for local messages
     * @param helo the client's HELO/EHLO argument; empty for local messages
     * @param user the AUTH user name; empty when the client did not authenticate
     * @param tls the TLS protocol and cipher suite of the session (e.g. {@code TLSv1.3 TLS_AES_128_GCM_SHA256}); empty
     *     for plain text
     */
    public record Source(String protocol, String address, String helo, String user, String tls) {
        public Source {
            protocol = protocol == null ? "smtp" : protocol;
            address = address == null ? "" : address;
            helo = helo == null ? "" : helo;
            user = user == null ? "" : user;
            tls = tls == null ? "" : tls;
        }

        /** A message the relay generated itself (a bounce, a report). */
        public static Source local() {
            return new Source("local", "", "", "", "");
        }
    }

    public Envelope {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(arrival, "arrival");
        Objects.requireNonNull(sender, "sender");
        Objects.requireNonNull(recipients, "recipients");
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("an envelope needs at least one recipient");
        }
        recipients = List.copyOf(recipients);
        body = body == null ? BodyType.UNSPECIFIED : body;
        ret = ret == null ? Ret.UNSPECIFIED : ret;
        envid = envid == null ? "" : envid;
        source = source == null ? Source.local() : source;
        notes =
                notes == null
                        ? List.of()
                        : List.copyOf(
                                notes.subList(Math.max(0, notes.size() - MAX_NOTES), notes.size()));
        nextAttempt = nextAttempt == null ? arrival : nextAttempt;
        if (attempts < 0) {
            throw new IllegalArgumentException("attempts must not be negative");
        }
    }

    /** An envelope without the RFC 8689 flags (neither REQUIRETLS nor {@code TLS-Required: No}). */
    public Envelope(
            String id,
            Instant arrival,
            String sender,
            List<RecipientStatus> recipients,
            BodyType body,
            boolean smtpUtf8,
            Ret ret,
            String envid,
            Source source,
            List<String> notes,
            int attempts,
            Instant nextAttempt) {
        this(
                id,
                arrival,
                sender,
                recipients,
                body,
                smtpUtf8,
                ret,
                envid,
                source,
                notes,
                attempts,
                nextAttempt,
                false,
                false);
    }

    /** A new envelope as the inbound server (or a bounce generator) fills it in; due at once. */
    public static Envelope accepted(
            String id,
            Instant arrival,
            String sender,
            List<RecipientStatus> recipients,
            BodyType body,
            boolean smtpUtf8,
            Ret ret,
            String envid,
            Source source) {
        return new Envelope(
                id,
                arrival,
                sender,
                recipients,
                body,
                smtpUtf8,
                ret,
                envid,
                source,
                List.of(),
                0,
                arrival);
    }

    /**
     * The same envelope with the RFC 8689 flags: {@code REQUIRETLS} on MAIL FROM, and whether the message has a
     * {@code TLS-Required: No} header field.
     */
    public Envelope withTlsRequirement(boolean requireTlsParameter, boolean tlsRequiredNoHeader) {
        return new Envelope(
                id,
                arrival,
                sender,
                recipients,
                body,
                smtpUtf8,
                ret,
                envid,
                source,
                notes,
                attempts,
                nextAttempt,
                requireTlsParameter,
                tlsRequiredNoHeader);
    }

    /**
     * Whether delivery may ignore TLS policy failures because the sender asked so with {@code TLS-Required: No}
     * (RFC 8689 §5): never for a REQUIRETLS message, whose parameter wins over the header field (RFC 8689 §4.1).
     */
    public boolean tlsPolicyOptional() {
        return tlsRequiredNo && !requireTls;
    }

    /** Whether the reverse-path is the null path {@code <>}: then no bounce may be sent (RFC 5321 §4.5.5). */
    public boolean nullSender() {
        return sender.isEmpty();
    }

    /** The recipients still to be delivered. */
    public List<RecipientStatus> pending() {
        return recipients.stream().filter(RecipientStatus::isPending).toList();
    }

    public Envelope withRecipients(List<RecipientStatus> newRecipients) {
        return new Envelope(
                id,
                arrival,
                sender,
                newRecipients,
                body,
                smtpUtf8,
                ret,
                envid,
                source,
                notes,
                attempts,
                nextAttempt,
                requireTls,
                tlsRequiredNo);
    }

    /**
     * This envelope after an attempt: each recipient named in {@code results} takes its outcome and reply (one more
     * attempt for it), the others keep their state. The delivery engine holds this in memory when the spool cannot
     * write it, so it is the one mapping from results to recipients, on disk and off.
     *
     * @throws IllegalArgumentException when a result names a recipient the envelope does not have
     */
    public Envelope withResults(List<RecipientResult> results, Instant when) {
        if (results.isEmpty()) {
            return this;
        }
        Map<String, RecipientResult> byAddress = new HashMap<>();
        for (RecipientResult r : results) {
            byAddress.put(r.address(), r);
        }
        List<RecipientStatus> updated = new ArrayList<>(recipients.size());
        for (RecipientStatus rs : recipients) {
            RecipientResult r = byAddress.remove(rs.address());
            updated.add(r == null ? rs : rs.after(r.outcome(), r.reply(), when));
        }
        if (!byAddress.isEmpty()) {
            throw new IllegalArgumentException(
                    "message " + id + " has no recipient " + byAddress.keySet());
        }
        return withRecipients(updated);
    }

    /** This envelope after an attempt that left recipients pending: one attempt more, next due at {@code next}. */
    public Envelope deferredUntil(Instant next) {
        return withAttempts(attempts + 1).withNextAttempt(next);
    }

    public Envelope withNextAttempt(Instant when) {
        return new Envelope(
                id,
                arrival,
                sender,
                recipients,
                body,
                smtpUtf8,
                ret,
                envid,
                source,
                notes,
                attempts,
                when,
                requireTls,
                tlsRequiredNo);
    }

    public Envelope withAttempts(int count) {
        return new Envelope(
                id,
                arrival,
                sender,
                recipients,
                body,
                smtpUtf8,
                ret,
                envid,
                source,
                notes,
                count,
                nextAttempt,
                requireTls,
                tlsRequiredNo);
    }

    public Envelope withNotes(List<String> more) {
        if (more.isEmpty()) {
            return this;
        }
        List<String> all = new ArrayList<>(notes);
        all.addAll(more);
        return new Envelope(
                id,
                arrival,
                sender,
                recipients,
                body,
                smtpUtf8,
                ret,
                envid,
                source,
                all,
                attempts,
                nextAttempt,
                requireTls,
                tlsRequiredNo);
    }
}
