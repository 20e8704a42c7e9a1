package org.tlsrelay.smtp.outbound;

import org.tlsrelay.core.enforce.TlsObservation;
import org.tlsrelay.core.enforce.Verdict;

/**
 * The connection a message went over: what its TLS showed, what the policy made of it, and whether it was reused.
 *
 * @param greeting the MX's greeting reply
 * @param capabilities the capabilities in force (after STARTTLS, from the second EHLO)
 * @param observation what STARTTLS showed on this connection (for a clear-text retry after a failed handshake: that
 *     handshake)
 * @param verdict the verdict this message was sent under
 * @param localAddress our address on this connection
 * @param reused whether the connection had carried an earlier message
 */
public record SessionSummary(
        SmtpReply greeting,
        Capabilities capabilities,
        TlsObservation observation,
        Verdict.Deliver verdict,
        String localAddress,
        boolean reused) {

    /** {@code TLSv1.3/TLS_AES_128_GCM_SHA256}, or {@code none} when the message went in clear. */
    public String tls() {
        return verdict instanceof Verdict.DeliverOverTls
                        && observation instanceof TlsObservation.Established e
                ? e.protocol() + "/" + e.cipherSuite()
                : "none";
    }
}
