package org.tlsrelay.core.dns;

import java.util.List;

/**
 * One MX record: its preference and the exchange host name, normalised (lower case, no trailing dot). The root
 * name {@code .} is the empty string here, so that a null MX (RFC 7505 §3: {@code MX 0 .}) is easy to recognise.
 */
public record MxRecord(int preference, String host) {
    public MxRecord {
        if (preference < 0 || preference > 65535) {
            throw new IllegalArgumentException(
                    "MX preference " + preference + " is out of range 0..65535");
        }
        host = DnsNames.normalise(host);
    }

    /**
     * Whether this is a null MX: the exchange is the root name. RFC 7505 §3 defines it with preference 0; an exchange
     * of {@code .} can never be delivered to, so any preference counts here.
     */
    public boolean isNull() {
        return host.isEmpty();
    }

    /**
     * Whether the domain publishes a null MX, i.e. says it accepts no mail (RFC 7505 §3; §4: such a domain publishes
     * no other MX, and a sender must not try the others if it does).
     */
    public static boolean hasNullMx(List<MxRecord> records) {
        return records.stream().anyMatch(MxRecord::isNull);
    }

    @Override
    public String toString() {
        return preference + " " + (host.isEmpty() ? "." : host);
    }
}
