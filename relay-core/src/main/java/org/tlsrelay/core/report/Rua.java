package org.tlsrelay.core.report;

import java.net.URI;
import java.util.OptionalLong;

/** One reporting endpoint of a TLSRPT record's {@code rua} (RFC 8460 §3): where a domain wants its reports. */
public sealed interface Rua {

    /** The URI as published, e.g. {@code mailto:tlsrpt@example.com!10m}; the key of its delivery state. */
    String uri();

    /**
     * A mail address (RFC 8460 §5.3, RFC 6068). The optional {@code !size} suffix, as DMARC defines it (RFC 7489
     * §6.2: digits with an optional {@code k}, {@code m}, {@code g} or {@code t} unit, powers of 1024), caps the
     * size of the message this address accepts.
     *
     * @param sizeLimit the cap in bytes; 0 when there is none
     */
    record Mailto(String uri, String address, long sizeLimit) implements Rua {
        public Mailto {
            if (sizeLimit < 0) {
                throw new IllegalArgumentException("negative size limit");
            }
        }

        public OptionalLong limit() {
            return sizeLimit == 0 ? OptionalLong.empty() : OptionalLong.of(sizeLimit);
        }
    }

    /** An HTTPS endpoint that takes the report as a POST (RFC 8460 §5.4). */
    record Https(String uri, URI target) implements Rua {}
}
