package org.tlsrelay.smtp.outbound;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * One envelope recipient and its DSN parameters (RFC 3461 §4), passed on only to an MX that offers DSN.
 *
 * @param address the mailbox, without angle brackets
 * @param notifyOn the NOTIFY values; empty when the sender gave none
 * @param originalRecipient the ORCPT value exactly as received ({@code rfc822;xtext}); empty when none
 */
public record OutboundRecipient(String address, Set<Notify> notifyOn, String originalRecipient) {

    /** RFC 3461 §4.1 NOTIFY values. */
    public enum Notify {
        NEVER,
        SUCCESS,
        FAILURE,
        DELAY
    }

    public OutboundRecipient {
        problem(address, notifyOn, originalRecipient)
                .ifPresent(
                        p -> {
                            throw new IllegalArgumentException(p);
                        });
        EnumSet<Notify> copy = EnumSet.noneOf(Notify.class);
        copy.addAll(notifyOn);
        notifyOn = Collections.unmodifiableSet(copy);
    }

    /** Why these cannot go into a RCPT command; empty when they can. */
    public static Optional<String> problem(
            String address, Set<Notify> notifyOn, String originalRecipient) {
        Optional<String> p = OutboundMessage.mailboxProblem(address);
        if (p.isPresent()) {
            return p;
        }
        if (notifyOn.contains(Notify.NEVER) && notifyOn.size() > 1) {
            return Optional.of("NOTIFY=NEVER cannot be combined with other values (RFC 3461 §4.1)");
        }
        return OutboundMessage.xtextProblem(originalRecipient, "ORCPT");
    }

    public static OutboundRecipient of(String address) {
        return new OutboundRecipient(address, Set.of(), "");
    }
}
