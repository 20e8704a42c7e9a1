package org.tlsrelay.core.queue;

import java.util.Locale;

/** Small helpers on RFC 5321 mailboxes ({@code local-part@domain}) as stored in envelopes. */
public final class Addresses {
    private Addresses() {}

    /**
     * The domain of a mailbox, lower-cased; the part after the last {@code @}, so that a quoted local part with an
     * {@code @} in it ({@code "a@b"@example.com}) yields {@code example.com}. Empty for the null reverse-path.
     */
    public static String domainOf(String mailbox) {
        int at = mailbox.lastIndexOf('@');
        return at < 0 ? "" : mailbox.substring(at + 1).toLowerCase(Locale.ROOT);
    }
}
