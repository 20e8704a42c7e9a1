package org.tlsrelay.core.policy;

import java.util.Locale;

/**
 * One allowed MX host name of a policy. Two notations exist and they do not mean the same:
 * <ul>
 *   <li>MTA-STS (RFC 8461 §4.1): {@code *.example.net} matches exactly one extra left-most label;</li>
 *   <li>STARTTLS-Everywhere lists: {@code .example.net} matches one or more extra labels, at any depth.</li>
 * </ul>
 * Matching is case-insensitive and ignores a trailing dot.
 */
public sealed interface MxPattern {

    /** Whether this pattern allows the MX host name {@code host}. */
    boolean matches(String host);

    /** The pattern as written in its source notation. */
    String text();

    /** A plain host name: matches that name only. */
    record Exact(String name) implements MxPattern {
        public Exact {
            name = normalise(name);
        }

        @Override
        public boolean matches(String host) {
            return name.equals(normalise(host));
        }

        @Override
        public String text() {
            return name;
        }
    }

    /** STARTTLS-Everywhere list suffix {@code .example.net}: any name with at least one more label. */
    record Suffix(String suffix) implements MxPattern {
        public Suffix {
            suffix = normalise(suffix);
            if (!suffix.startsWith(".") || suffix.length() < 2) {
                throw new IllegalArgumentException("a suffix pattern starts with a dot: " + suffix);
            }
        }

        @Override
        public boolean matches(String host) {
            String h = normalise(host);
            return h.length() > suffix.length() && h.endsWith(suffix) && HostNames.isHostName(h);
        }

        @Override
        public String text() {
            return suffix;
        }
    }

    /** MTA-STS wildcard {@code *.example.net}: exactly one more left-most label (RFC 8461 §4.1). */
    record Wildcard(String parent) implements MxPattern {
        public Wildcard {
            parent = normalise(parent);
            if (parent.isEmpty() || parent.startsWith(".")) {
                throw new IllegalArgumentException("a wildcard needs a parent domain: *." + parent);
            }
        }

        @Override
        public boolean matches(String host) {
            String h = normalise(host);
            int dot = h.indexOf('.');
            return dot > 0 && h.substring(dot + 1).equals(parent) && HostNames.isHostName(h);
        }

        @Override
        public String text() {
            return "*." + parent;
        }
    }

    /** Parses a STARTTLS-Everywhere list entry: {@code .suffix} or an exact name. */
    static MxPattern ofListEntry(String entry) {
        String e = entry.trim();
        if (e.startsWith(".")) {
            requireHostName(e.substring(1));
            return new Suffix(e);
        }
        requireHostName(e);
        return new Exact(e);
    }

    /** Parses an MTA-STS {@code mx:} value: {@code *.parent} (whole left-most label only) or an exact name. */
    static MxPattern ofMtaSts(String value) {
        String v = value.trim();
        if (v.startsWith("*.")) {
            String parent = v.substring(2);
            requireHostName(parent);
            return new Wildcard(parent);
        }
        requireHostName(v);
        return new Exact(v);
    }

    /** Parses a local override entry: both notations are accepted and keep their own meaning. */
    static MxPattern ofOverride(String entry) {
        String e = entry.trim();
        return e.startsWith("*.") ? ofMtaSts(e) : ofListEntry(e);
    }

    private static void requireHostName(String name) {
        if (!HostNames.isHostName(name)) {
            throw new IllegalArgumentException("\"" + name + "\" is not a host name");
        }
    }

    /** Lower case, no trailing dot: the form every comparison uses. */
    static String normalise(String host) {
        String h = host.trim().toLowerCase(Locale.ROOT);
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }
}
