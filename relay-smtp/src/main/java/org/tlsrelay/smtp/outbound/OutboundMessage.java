package org.tlsrelay.smtp.outbound;

import java.util.List;
import java.util.Optional;

/**
 * One message to send to one domain's MX: the envelope, its DSN and body parameters, and the content.
 *
 * @param queueId the spool's id, for logs and exceptions
 * @param sender the envelope sender without angle brackets; empty for the null sender {@code <>}
 * @param recipients the recipients at this domain, in order
 * @param ret RFC 3461 §4.3 RET, passed on to an MX that offers DSN
 * @param envelopeId RFC 3461 §4.4 ENVID exactly as received (xtext); empty when none
 * @param eightBit the content has 8-bit octets (BODY=8BITMIME, RFC 6152)
 * @param smtpUtf8 the message needs SMTPUTF8 (RFC 6531); also implied by a non-ASCII address
 * @param content the message itself
 */
public record OutboundMessage(
        String queueId,
        String sender,
        List<OutboundRecipient> recipients,
        Ret ret,
        String envelopeId,
        boolean eightBit,
        boolean smtpUtf8,
        MessageContent content) {

    /** RFC 3461 §4.3. */
    public enum Ret {
        UNSPECIFIED,
        FULL,
        HDRS
    }

    public OutboundMessage {
        if (!sender.isEmpty()) {
            requireMailbox(sender);
        }
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("a message needs at least one recipient");
        }
        requireXtext(envelopeId, "ENVID");
    }

    /** A plain message: no DSN parameters, flags taken from the addresses. */
    public static OutboundMessage of(
            String queueId, String sender, List<String> recipients, MessageContent content) {
        return new OutboundMessage(
                queueId,
                sender,
                recipients.stream().map(OutboundRecipient::of).toList(),
                Ret.UNSPECIFIED,
                "",
                false,
                false,
                content);
    }

    /** Whether the MX must offer SMTPUTF8: the flag, or any address that is not ASCII (RFC 6531 §3.2). */
    public boolean needsSmtpUtf8() {
        return smtpUtf8
                || !isAscii(sender)
                || recipients.stream().anyMatch(r -> !isAscii(r.address()));
    }

    static boolean isAscii(String s) {
        return s.chars().allMatch(c -> c < 0x80);
    }

    /**
     * Why a message from {@code sender} with {@code envelopeId} (xtext) cannot go into a MAIL FROM command; empty when
     * it can.
     */
    public static Optional<String> problem(String sender, String envelopeId) {
        Optional<String> p = sender.isEmpty() ? Optional.empty() : mailboxProblem(sender);
        return p.isPresent() ? p : xtextProblem(envelopeId, "ENVID");
    }

    /** Addresses come from the spool, but go into a command line: refuse anything that could break it. */
    static void requireMailbox(String address) {
        mailboxProblem(address)
                .ifPresent(
                        p -> {
                            throw new IllegalArgumentException(p);
                        });
    }

    static Optional<String> mailboxProblem(String address) {
        if (address.isEmpty() || address.length() > 2048) {
            return Optional.of("invalid mailbox \"" + address + "\"");
        }
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            if (c <= ' ' || c == '<' || c == '>' || c == 0x7f) {
                return Optional.of("invalid character in mailbox \"" + address + "\"");
            }
        }
        return Optional.empty();
    }

    /** RFC 3461 §4: xtext is printable ASCII without space or '='; '+' starts a hex escape. */
    static void requireXtext(String value, String name) {
        xtextProblem(value, name)
                .ifPresent(
                        p -> {
                            throw new IllegalArgumentException(p);
                        });
    }

    static Optional<String> xtextProblem(String value, String name) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '!' || c > '~' || c == '=') {
                return Optional.of(name + " is not xtext: \"" + value + "\"");
            }
        }
        return Optional.empty();
    }
}
