package org.tlsrelay.core.tls;

import java.util.List;
import java.util.Locale;

/**
 * Whether a certificate names an MX host: RFC 6125 §6.4 as MTA-STS narrows it (RFC 8461 §4.2). Only subjectAltName
 * DNS-IDs count, never the subject CN (RFC 6125 §6.4.4 allows the fallback; MTA-STS and this relay do not). A
 * wildcard is only a whole left-most label {@code *} and matches exactly one label; {@code m*.example.net},
 * {@code *.*.example.net} and {@code *.net} match nothing.
 */
public final class CertificateNames {
    private CertificateNames() {}

    /** Whether one of {@code dnsNames} (the leaf's dNSName SANs) matches {@code host}. */
    public static boolean matches(String host, List<String> dnsNames) {
        String h = normalise(host);
        if (h.isEmpty()) {
            return false;
        }
        for (String presented : dnsNames) {
            if (matchesOne(h, normalise(presented))) {
                return true;
            }
        }
        return false;
    }

    private static boolean matchesOne(String host, String presented) {
        if (presented.isEmpty()) {
            return false;
        }
        if (!presented.startsWith("*.")) {
            // a '*' anywhere else (partial or inner wildcard) is not a wildcard we honour: exact
            // comparison only
            return presented.indexOf('*') < 0 && presented.equals(host);
        }
        String parent = presented.substring(2);
        // RFC 6125 §7.2: no wildcard directly under a single-label (public) suffix such as "*.com"
        if (parent.indexOf('.') < 0 || parent.indexOf('*') >= 0 || parent.startsWith(".")) {
            return false;
        }
        int dot = host.indexOf('.');
        return dot > 0 && host.substring(dot + 1).equals(parent);
    }

    /**
     * ASCII lower case without a trailing dot. Internationalised names are compared in A-label form only
     * (RFC 6125 §6.4.2): a dNSName is ASCII (IA5String), and delivery converts the recipient domain before any MX
     * host name is derived from it; a non-ASCII name matches nothing.
     */
    static String normalise(String name) {
        String n = name.trim();
        if (n.endsWith(".")) {
            n = n.substring(0, n.length() - 1);
        }
        for (int i = 0; i < n.length(); i++) {
            if (n.charAt(i) >= 0x80) {
                return "";
            }
        }
        return n.toLowerCase(Locale.ROOT);
    }
}
