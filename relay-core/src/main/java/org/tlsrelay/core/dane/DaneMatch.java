package org.tlsrelay.core.dane;

import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.core.tls.TlsFailureType;

/** What {@link DaneMatcher} decided about one TLS server's certificate chain against a TLSA RRset. */
public sealed interface DaneMatch {

    /**
     * The server is authenticated by DANE.
     *
     * @param record the TLSA record that matched
     * @param depth where in the server's certification path the match was: 0 the leaf (DANE-EE, or a DANE-TA record
     *     naming the leaf itself), 1 its issuer, and so on; the path's length when a DANE-TA(2) key given in full
     *     ({@code 2 1 0}) signed the topmost certificate without being in the chain
     * @param detail one line for logs and {@code policy check}
     */
    record Matched(TlsaRecord record, int depth, String detail) implements DaneMatch {}

    /**
     * Usable TLSA records exist but none authenticates the server: the RFC 8460 result type {@code tlsa-invalid}.
     *
     * @param reason why, for logs and the TLS-RPT failure details
     */
    record NoMatch(String reason) implements DaneMatch {
        public TlsFailureType failureType() {
            return TlsFailureType.TLSA_INVALID;
        }
    }

    /**
     * The RRset has no usable record (only PKIX-TA/PKIX-EE, unknown parameters or malformed data): DANE does not
     * authenticate this server and TLS stays opportunistic (RFC 7672 §3.1.3).
     */
    record Unusable() implements DaneMatch {}

    default boolean matched() {
        return this instanceof Matched;
    }

    /** One line for logs. */
    default String describe() {
        if (this instanceof Matched m) {
            return "DANE match: " + m.detail();
        }
        if (this instanceof NoMatch n) {
            return "no TLSA record matches: " + n.reason();
        }
        return "no usable TLSA record";
    }
}
