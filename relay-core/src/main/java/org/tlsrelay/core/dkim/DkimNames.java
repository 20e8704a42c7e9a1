package org.tlsrelay.core.dkim;

import java.util.regex.Pattern;

/**
 * The names a DKIM key is published under (RFC 6376 §3.1, §3.5): the signing domain {@code d=} and the selector
 * {@code s=}, both dot-separated DNS labels of letters, digits and hyphens (no underscores: the key record's name
 * {@code SELECTOR._domainkey.DOMAIN} has the only one). A-labels ({@code xn--}) for internationalised names.
 */
public final class DkimNames {
    private static final Pattern LABELS =
            Pattern.compile(
                    "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*"
                            + "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?");

    private DkimNames() {}

    /** Whether {@code domain} can be a {@code d=} value. */
    public static boolean isDomain(String domain) {
        return domain.length() <= 253 && LABELS.matcher(domain).matches();
    }

    /** Whether {@code selector} can be an {@code s=} value. */
    public static boolean isSelector(String selector) {
        return selector.length() <= 200 && LABELS.matcher(selector).matches();
    }

    /** The problem with {@code domain} as a {@code d=} value, for a message: empty if none. */
    public static String domainProblem(String domain) {
        return isDomain(domain)
                ? ""
                : "\""
                        + domain
                        + "\" is not a domain name (DNS labels of letters, digits and hyphens, dot-separated)";
    }

    /** The problem with {@code selector} as an {@code s=} value, for a message: empty if none. */
    public static String selectorProblem(String selector) {
        return isSelector(selector)
                ? ""
                : "\""
                        + selector
                        + "\" is not a selector (DNS labels of letters, digits and hyphens, dot-separated)";
    }
}
