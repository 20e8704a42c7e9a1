package org.tlsrelay.smtp.delivery;

import java.util.concurrent.CompletableFuture;
import org.tlsrelay.core.dane.DaneLookup;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dane.InsecureMxPolicy;
import org.tlsrelay.core.dns.DnsResolver;

/**
 * What DANE says about one MX host (RFC 7672 §2.2), as an MX walk asks before connecting to it. The future never
 * completes exceptionally; {@code port} is a valid port (the walk checks it once).
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

    /**
     * Look-ups through a validating resolver; {@code insecureMx} says what a host named by an insecure MX RRset gets.
     * A host name DNS cannot ask about gets a failed look-up from the resolver, as any DNS failure.
     */
    static DaneCheck over(DnsResolver validating, InsecureMxPolicy insecureMx) {
        return new DaneLookup(validating, insecureMx)::lookUp;
    }
}
