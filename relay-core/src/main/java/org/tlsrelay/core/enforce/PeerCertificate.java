package org.tlsrelay.core.enforce;

import java.time.Instant;
import java.util.List;

/**
 * The parts of an MX's leaf certificate that logs, outcome events and {@code policy check} show. A summary only: the
 * checks themselves ran on the certificate before this was made.
 *
 * @param subject the subject distinguished name (RFC 2253 form); shown, never used for name checks
 * @param issuer the issuer distinguished name (RFC 2253 form)
 * @param dnsNames the subjectAltName dNSName entries, as presented
 * @param ipAddresses the subjectAltName iPAddress entries, as text
 */
public record PeerCertificate(
        String subject,
        String issuer,
        List<String> dnsNames,
        List<String> ipAddresses,
        Instant notBefore,
        Instant notAfter) {
    public PeerCertificate {
        dnsNames = List.copyOf(dnsNames);
        ipAddresses = List.copyOf(ipAddresses);
    }

    /** One line for logs: {@code CN=mx.example.net [mx.example.net] issuer CN=CA until 2026-01-01T00:00:00Z}. */
    public String describe() {
        return subject + " " + dnsNames + " issuer " + issuer + " until " + notAfter;
    }
}
