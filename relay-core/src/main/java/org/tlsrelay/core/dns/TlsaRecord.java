package org.tlsrelay.core.dns;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;

/**
 * One TLSA record (RFC 6698 §2.1): certificate usage, selector, matching type and the certificate association data.
 * Any values 0..255 are kept, so that an RRset can be reported as published (RFC 8460 §4.3 policy strings); whether
 * DANE for SMTP can use a record is {@link #usable()}.
 *
 * @param usage certificate usage (RFC 7218 §2.1): 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
 * @param selector 0 the full certificate (Cert), 1 its SubjectPublicKeyInfo (SPKI)
 * @param matchingType 0 the data itself (Full), 1 its SHA-256, 2 its SHA-512
 * @param data the certificate association data
 */
public record TlsaRecord(int usage, int selector, int matchingType, byte[] data) {
    public static final int PKIX_TA = 0;
    public static final int PKIX_EE = 1;
    public static final int DANE_TA = 2;
    public static final int DANE_EE = 3;
    public static final int SELECTOR_CERT = 0;
    public static final int SELECTOR_SPKI = 1;
    public static final int MATCH_FULL = 0;
    public static final int MATCH_SHA256 = 1;
    public static final int MATCH_SHA512 = 2;

    public TlsaRecord {
        for (int v : new int[] {usage, selector, matchingType}) {
            if (v < 0 || v > 255) {
                throw new IllegalArgumentException(
                        "TLSA fields are octets: " + v + " is out of range 0..255");
            }
        }
        data = data.clone();
    }

    /**
     * Parses the presentation form {@code "3 1 1 3b6f...e1"} (RFC 6698 §2.2): three decimal fields and the data in
     * hexadecimal, which may be split by blanks.
     */
    public static TlsaRecord parse(String text) {
        String[] f = text.strip().split("\\s+", 4);
        if (f.length < 4) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" is not a TLSA record: usage selector type data");
        }
        try {
            return new TlsaRecord(
                    Integer.parseInt(f[0]),
                    Integer.parseInt(f[1]),
                    Integer.parseInt(f[2]),
                    HexFormat.of().parseHex(f[3].replaceAll("\\s+", "")));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" is not a TLSA record: " + e.getMessage(), e);
        }
    }

    /** The association data (a copy). */
    @Override
    public byte[] data() {
        return data.clone();
    }

    /**
     * Whether DANE for SMTP can use this record (RFC 7672 §3.1): usage DANE-TA(2) or DANE-EE(3), selector 0 or 1,
     * matching type 0, 1 or 2, and data of the right length for its digest (RFC 7671 §5: a malformed record is
     * unusable). PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (RFC 7672 §3.1.3).
     */
    public boolean usable() {
        boolean usageOk = usage == DANE_TA || usage == DANE_EE;
        boolean selectorOk = selector == SELECTOR_CERT || selector == SELECTOR_SPKI;
        boolean dataOk =
                switch (matchingType) {
                    case MATCH_FULL -> data.length > 0;
                    case MATCH_SHA256 -> data.length == 32;
                    case MATCH_SHA512 -> data.length == 64;
                    default -> false;
                };
        return usageOk && selectorOk && dataOk;
    }

    /** The presentation form, {@code 3 1 1 <hex>} (lower case), as TLS-RPT policy strings list it (RFC 8460 §4.3). */
    @Override
    public String toString() {
        return usage
                + " "
                + selector
                + " "
                + matchingType
                + " "
                + HexFormat.of().formatHex(data).toLowerCase(Locale.ROOT);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TlsaRecord r
                && r.usage == usage
                && r.selector == selector
                && r.matchingType == matchingType
                && Arrays.equals(r.data, data);
    }

    @Override
    public int hashCode() {
        return ((usage * 31 + selector) * 31 + matchingType) * 31 + Arrays.hashCode(data);
    }
}
