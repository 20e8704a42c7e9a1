package org.tlsrelay.smtp.inbound;

import java.util.Map;
import java.util.Objects;
import org.subethamail.smtp.server.Session;
import org.tlsrelay.core.auth.Credentials;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dkim.AcceptSigner;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.FreeSpace;
import org.tlsrelay.core.queue.Spool;

/**
 * What the commands need of their server, one per server and shared by every session: the limits and name, where
 * mail goes, what is counted, who may authenticate and relay, and each session's {@link SessionState}. The server
 * builds it and hands it to the commands, so that the commands never reach back into the listener.
 *
 * @param signer signs accepted mail on its way into the spool, before the 250 (DKIM); may sign nothing
 * @param tlsAvailable whether STARTTLS is offered ({@code server.tls} is configured)
 * @param space the free space of the spool's file system against {@code spool.min-free}
 */
record CommandContext(
        RelayConfig.Limits limits,
        String hostname,
        Spool spool,
        AcceptSigner signer,
        RelayMetrics metrics,
        Credentials credentials,
        RelayAccess relayAccess,
        boolean tlsAvailable,
        FreeSpace space,
        Map<Session, SessionState> sessions) {

    /** The state of a session the server accepted. */
    SessionState state(Session session) {
        return Objects.requireNonNull(sessions.get(session), "session state");
    }

    /** AUTH is offered only with users and only over TLS (RFC 4954 §4). */
    boolean authAvailable() {
        return !credentials.isEmpty() && tlsAvailable;
    }
}
