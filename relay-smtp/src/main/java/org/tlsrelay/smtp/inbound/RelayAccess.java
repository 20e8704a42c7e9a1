package org.tlsrelay.smtp.inbound;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import org.tlsrelay.core.config.Network;
import org.tlsrelay.core.metrics.RelayMetrics.Rejection;

/**
 * Who may relay, and to which address forms (RFC 5321 §3.6, §7.1). The relay has no local mailboxes, so every
 * recipient is relayed: only clients in {@code server.networks} and authenticated users (RFC 4954) may give one, and
 * only as {@code local-part@domain}: source routes, address literals and domain-less addresses are refused whoever
 * asks. Never an open relay.
 */
final class RelayAccess {
    private final List<Network> networks;

    RelayAccess(List<Network> networks) {
        this.networks = List.copyOf(networks);
    }

    /** Whether a client's address is in {@code server.networks} (it may relay without AUTH). */
    boolean trusted(InetAddress client) {
        return networks.stream().anyMatch(n -> n.contains(client));
    }

    /**
     * Why the recipient {@code rcpt} is refused, or empty when it may be relayed.
     *
     * @param trustedNetwork the client is in {@code server.networks}
     * @param authUser the AUTH user, empty before a successful AUTH
     * @param smtpUtf8 MAIL FROM carried SMTPUTF8 (a non-ASCII address needs it, RFC 6531 §3.3)
     */
    Optional<Refusal> refusal(
            boolean trustedNetwork, String authUser, SmtpPath rcpt, boolean smtpUtf8) {
        String shown = SmtpPath.printable(rcpt.mailbox());
        if (!trustedNetwork && authUser.isEmpty()) {
            // No local mailboxes: without the relay permission no recipient form is accepted.
            return refuse(Rejection.RELAY_DENIED, "554 5.7.1 <" + shown + ">: Relay access denied");
        }
        if (rcpt.sourceRoute()) {
            return refuse(
                    Rejection.BAD_RECIPIENT,
                    "550 5.7.1 <" + shown + ">: source routes are not relayed");
        }
        if (rcpt.addressLiteral()) {
            return refuse(
                    Rejection.BAD_RECIPIENT,
                    "550 5.7.1 <" + shown + ">: address literals are not relayed, use a domain");
        }
        if (rcpt.domainless()) {
            return refuse(
                    Rejection.BAD_RECIPIENT,
                    "550 5.1.1 <" + shown + ">: this relay has no local mailboxes");
        }
        if (rcpt.nonAscii() && !smtpUtf8) {
            return refuse(
                    Rejection.BAD_RECIPIENT,
                    "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter (RFC 6531)");
        }
        Optional<String> idna = rcpt.idnaProblem();
        if (idna.isPresent()) {
            // refused now rather than accepted and bounced: DNS could never be asked about it
            return refuse(Rejection.BAD_RECIPIENT, "553 5.1.3 <" + shown + ">: " + idna.get());
        }
        return Optional.empty();
    }

    private static Optional<Refusal> refuse(Rejection reason, String reply) {
        return Optional.of(Refusal.counted(reason, reply));
    }
}
