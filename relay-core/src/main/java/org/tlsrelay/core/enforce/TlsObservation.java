package org.tlsrelay.core.enforce;

/**
 * What one SMTP connection showed about TLS, recorded before anything is decided (measure, then decide): the client
 * never aborts a handshake over a certificate problem, it writes the problem down here and lets {@link Enforcer}
 * decide. Exactly one of four things happened after EHLO.
 */
public sealed interface TlsObservation {

    /** The MX did not advertise STARTTLS in its EHLO reply (or answered only HELO). */
    record NotOffered() implements TlsObservation {
        @Override
        public String describe() {
            return "STARTTLS not offered";
        }
    }

    /** The MX advertised STARTTLS but did not answer the command with 220 (RFC 3207 §4: e.g. 454). */
    record StartTlsRejected(String reply) implements TlsObservation {
        @Override
        public String describe() {
            return "STARTTLS rejected: " + reply;
        }
    }

    /**
     * STARTTLS was accepted but no TLS session came up: a handshake failure (protocol version, cipher, alert,
     * timeout), or plain text sent after the 220 (RFC 3207 §5 injection), which is never read as a reply.
     */
    record HandshakeFailed(String reason) implements TlsObservation {
        @Override
        public String describe() {
            return "TLS handshake failed: " + reason;
        }
    }

    /**
     * A TLS session is up. The chain and name checks ran but did not stop the handshake.
     *
     * @param protocol e.g. {@code TLSv1.3}
     * @param cipherSuite e.g. {@code TLS_AES_128_GCM_SHA256}
     * @param chainTrusted whether the chain leads to a trusted anchor (PKIX, RFC 5280 §6), leaving time aside
     * @param trustDetail why the chain is not trusted; empty when it is
     * @param validity where now falls in the chain's validity periods
     * @param hostNameMatched whether a DNS-ID of the leaf matches the MX host name (RFC 6125 §6.4, RFC 8461 §4.2)
     * @param peer the leaf certificate, summarised
     * @param chain the certificate chain as the server presented it, leaf first: DANE matches it against the TLSA
     *     records (RFC 7672 §3)
     */
    record Established(
            String protocol,
            String cipherSuite,
            boolean chainTrusted,
            String trustDetail,
            CertificateValidity validity,
            boolean hostNameMatched,
            PeerCertificate peer,
            java.util.List<java.security.cert.X509Certificate> chain)
            implements TlsObservation {
        public Established {
            chain = java.util.List.copyOf(chain);
        }

        /** An observation without the presented chain (nothing for DANE to match). */
        public Established(
                String protocol,
                String cipherSuite,
                boolean chainTrusted,
                String trustDetail,
                CertificateValidity validity,
                boolean hostNameMatched,
                PeerCertificate peer) {
            this(
                    protocol,
                    cipherSuite,
                    chainTrusted,
                    trustDetail,
                    validity,
                    hostNameMatched,
                    peer,
                    java.util.List.of());
        }

        @Override
        public String describe() {
            return protocol
                    + " "
                    + cipherSuite
                    + (chainTrusted ? " trusted" : " untrusted")
                    + " "
                    + validity.name().toLowerCase(java.util.Locale.ROOT)
                    + (hostNameMatched ? " name-matched" : " name-mismatch");
        }
    }

    /** One line for logs and for the additional information of an outcome. */
    String describe();

    /** Whether the MX advertised STARTTLS at all. */
    default boolean starttlsOffered() {
        return !(this instanceof NotOffered);
    }

    static TlsObservation notOffered() {
        return new NotOffered();
    }
}
