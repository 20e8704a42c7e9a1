package org.tlsrelay.smtp.delivery;

import java.util.concurrent.CompletableFuture;
import org.tlsrelay.core.dane.DaneLookup;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dane.InsecureMxPolicy;
import org.tlsrelay.core.dns.DnsResolver;

/**
 * What DANE says about one MX host (RFC 7672 §2.2), as a delivery attempt asks before connecting to it. The future
 * never completes exceptionally.
 */
@FunctionalInterface
interface DaneCheck {

    /** @param mxSecure whether the MX RRset that named the host (or the proven absence of one) was DNSSEC-secure */
    CompletableFuture<DanePolicy> lookUp(String mxHost, boolean mxSecure, int port);

    /** {@code dns.dnssec: off}: DANE never applies. */
    static DaneCheck off() {
        return (mxHost, mxSecure, port) ->
                CompletableFuture.completedFuture(
                        new DanePolicy.NotApplicable(
                                mxHost, "DNSSEC validation is off (dns.dnssec: off)"));
    }

    /** Look-ups through a validating resolver; {@code insecureMx} for hosts an insecure MX RRset names. */
    static DaneCheck over(DnsResolver validating, InsecureMxPolicy insecureMx) {
        DaneLookup lookup = new DaneLookup(validating, insecureMx);
        return (mxHost, mxSecure, port) -> {
            try {
                return lookup.lookUp(mxHost, mxSecure, port);
            } catch (IllegalArgumentException e) {
                // a host name DNS cannot ask about: there are no TLSA records for it either
                return CompletableFuture.completedFuture(
                        new DanePolicy.NotApplicable(mxHost, e.getMessage()));
            }
        };
    }
}
