package org.tlsrelay.core.dkim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The tag=value lists of DKIM signatures and key records (RFC 6376 §3.2). Tag names are case-sensitive; values keep
 * their inner folding whitespace, surrounding whitespace is removed.
 *
 * <pre>
 * tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
 * tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 * tag-name  =  ALPHA *ALNUMPUNC
 * </pre>
 */
final class TagList {
    private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");

    private TagList() {}

    /** The tags in order; empty when the list is malformed or names a tag twice (§3.2: then it is invalid). */
    static Optional<Map<String, String>> parse(String text) {
        Map<String, String> tags = new LinkedHashMap<>();
        String[] specs = text.split(";", -1);
        for (int i = 0; i < specs.length; i++) {
            String spec = specs[i];
            if (spec.isBlank()) {
                if (i == specs.length - 1) {
                    break; // a trailing ";" is allowed
                }
                return Optional.empty();
            }
            int eq = spec.indexOf('=');
            if (eq < 0) {
                return Optional.empty();
            }
            String name = strip(spec.substring(0, eq));
            String value = strip(spec.substring(eq + 1));
            if (!NAME.matcher(name).matches() || tags.putIfAbsent(name, value) != null) {
                return Optional.empty();
            }
        }
        return Optional.of(Collections.unmodifiableMap(tags));
    }

    /** Without surrounding FWS (SP, HTAB, CR, LF). */
    static String strip(String s) {
        int b = 0;
        int e = s.length();
        while (b < e && isFws(s.charAt(b))) {
            b++;
        }
        while (e > b && isFws(s.charAt(e - 1))) {
            e--;
        }
        return s.substring(b, e);
    }

    /** Without any FWS at all: base64 values may be folded anywhere (RFC 6376 §3.5 b=, §3.6.1 p=). */
    static String withoutFws(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            if (!isFws(s.charAt(i))) {
                b.append(s.charAt(i));
            }
        }
        return b.toString();
    }

    private static boolean isFws(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    }
}
