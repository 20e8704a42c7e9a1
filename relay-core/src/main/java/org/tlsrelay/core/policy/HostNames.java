package org.tlsrelay.core.policy;

import java.util.regex.Pattern;

/** Host names as policies name them: what a pattern may be written with and what it may allow. */
final class HostNames {
    /** One label: RFC 1035 §2.3.1 letters, digits and hyphens, plus underscores as DNS names carry them. */
    private static final Pattern LABEL =
            Pattern.compile("[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?");

    private HostNames() {}

    /**
     * Whether {@code name} (one trailing dot allowed) is a host name: labels of 1 to 63 such characters, 253 in all.
     * A name with an empty label ({@code mx..example.net}) or a {@code *} label ({@code *.example.net}) is none, so no
     * suffix or wildcard pattern matches it.
     */
    static boolean isHostName(String name) {
        String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        if (n.isEmpty() || n.length() > 253) {
            return false;
        }
        for (String label : n.split("\\.", -1)) {
            if (label.length() > 63 || !LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }
}
