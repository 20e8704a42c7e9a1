package org.tlsrelay.smtp.outbound;

import java.util.Collections;
import java.util.EnumSet;
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
        OutboundMessage.requireMailbox(address);
        EnumSet<Notify> copy = EnumSet.noneOf(Notify.class);
        copy.addAll(notifyOn);
        if (copy.contains(Notify.NEVER) && copy.size() > 1) {
            throw new IllegalArgumentException(
                    "NOTIFY=NEVER cannot be combined with other values (RFC 3461 §4.1)");
        }
        notifyOn = Collections.unmodifiableSet(copy);
        OutboundMessage.requireXtext(originalRecipient, "ORCPT");
    }

    public static OutboundRecipient of(String address) {
        return new OutboundRecipient(address, Set.of(), "");
    }
}
