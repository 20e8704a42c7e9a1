package org.tlsrelay.smtp.inbound;

import java.net.InetAddress;

/** What tlsrelay knows about one SMTP connection beyond SubEthaSMTP's {@code Session}. */
final class SessionState {
    final InetAddress client;

    /** The client's address is in {@code server.networks} ({@link RelayAccess#trusted}). */
    final boolean trustedNetwork;

    /** EHLO (not HELO) was used: ESMTP, RFC 5321 §4.1.1.1. */
    boolean esmtp;

    /** The AUTH user, empty until AUTH succeeds. */
    String user = "";

    int authFailures;

    /** {@code TLSv1.3 TLS_AES_128_GCM_SHA256} once STARTTLS completed, empty before. */
    String tls = "";

    /** The connection's deadlines, error count and stop handshake. */
    final ConnectionGuard guard;

    SessionState(InetAddress client, boolean trustedNetwork, ConnectionGuard guard) {
        this.client = client;
        this.trustedNetwork = trustedNetwork;
        this.guard = guard;
    }

    /** The RFC 3848 / RFC 6531 §3.7.3 protocol name for the Received header. */
    String protocol(boolean smtpUtf8) {
        String base = smtpUtf8 ? "UTF8SMTP" : esmtp ? "ESMTP" : "SMTP";
        if (!esmtp && !smtpUtf8) {
            return base;
        }
        return base + (tls.isEmpty() ? "" : "S") + (user.isEmpty() ? "" : "A");
    }
}
