package org.tlsrelay.core.dkim;

/**
 * Signs a complete message the relay wrote itself (a DSN, a TLS-RPT report mail) before it is queued; made by
 * {@link DkimSigner#ownMail(String)}.
 */
@FunctionalInterface
public interface OwnMailSigner {

    /**
     * The message with its DKIM-Signature fields added at the top; the message unchanged when it cannot be signed
     * (that is logged and counted, never an error: the mail goes out unsigned).
     */
    byte[] sign(byte[] message);

    /** Signs nothing. */
    static OwnMailSigner none() {
        return message -> message;
    }
}
