package org.tlsrelay.core.dns;

import java.util.Locale;
import java.util.regex.Pattern;

/** Host and domain names as the relay compares and stores them. */
public final class DnsNames {
    // RFC 1035 §2.3.4 limits; underscores are allowed because service names (_mta-sts, _smtp._tls)
    // use them.
    private static final Pattern LABEL = Pattern.compile("[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?");

    private DnsNames() {}

    /** Lower case (ASCII only), surrounding blanks and one trailing dot removed. {@code "."} becomes {@code ""}. */
    public static String normalise(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    /**
     * Whether {@code name} (normalised) is a syntactically valid DNS name of at least one label: labels of letters,
     * digits, hyphens and underscores, 1 to 63 octets each, 253 in all. Internationalised names must already be in
     * their A-label ({@code xn--}) form.
     */
    public static boolean isValid(String name) {
        String n = normalise(name);
        if (n.isEmpty() || n.length() > 253) {
            return false;
        }
        for (String label : n.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }

    /** The normalised name; an invalid one is an {@link IllegalArgumentException} that quotes it. */
    public static String requireValid(String name) {
        if (!isValid(name)) {
            throw new IllegalArgumentException("\"" + name + "\" is not a valid domain name");
        }
        return normalise(name);
    }
}
