package org.tlsrelay.smtp.handover;

import java.util.stream.Collectors;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.XText;

/**
 * MAIL FROM and RCPT TO for a queued envelope, with the parameters it was accepted with and the other relay offers
 * ({@link HandOverRules} has made sure that it offers what the message needs).
 */
final class EnvelopeCommands {
    private EnvelopeCommands() {}

    static String mailFrom(Envelope env, long size, SessionFacts s) {
        StringBuilder b = new StringBuilder("MAIL FROM:<").append(env.sender()).append('>');
        if (s.offers("SIZE")) {
            b.append(" SIZE=").append(size); // RFC 1870 §6
        }
        switch (env.body()) {
            case EIGHT_BIT_MIME -> b.append(" BODY=8BITMIME"); // RFC 6152
            case SEVEN_BIT -> {
                if (s.offers("8BITMIME")) {
                    b.append(" BODY=7BIT");
                }
            }
            case UNSPECIFIED -> {}
        }
        if (HandOverRules.needsSmtpUtf8(env)) {
            b.append(" SMTPUTF8"); // RFC 6531 §3.4
        }
        if (env.requireTls()) {
            b.append(" REQUIRETLS"); // RFC 8689 §4.2.1
        }
        if (s.offers("DSN")) {
            if (env.ret() != Envelope.Ret.UNSPECIFIED) {
                b.append(" RET=").append(env.ret().name()); // RFC 3461 §4.3
            }
            if (!env.envid().isEmpty()) {
                b.append(" ENVID=").append(XText.encode(env.envid())); // RFC 3461 §4.4
            }
        }
        return b.toString();
    }

    static String rcptTo(RecipientStatus r, SessionFacts s) {
        StringBuilder b = new StringBuilder("RCPT TO:<").append(r.address()).append('>');
        if (s.offers("DSN")) {
            if (!r.dsnNotify().isEmpty()) {
                b.append(" NOTIFY=") // RFC 3461 §4.1
                        .append(
                                r.dsnNotify().stream()
                                        .map(Enum::name)
                                        .collect(Collectors.joining(",")));
            }
            int semi = r.orcpt().indexOf(';');
            if (semi > 0) {
                // RFC 3461 §4.2: the envelope keeps "type;address" decoded; the address goes as
                // xtext
                b.append(" ORCPT=")
                        .append(r.orcpt(), 0, semi)
                        .append(';')
                        .append(XText.encode(r.orcpt().substring(semi + 1)));
            }
        }
        return b.toString();
    }
}
