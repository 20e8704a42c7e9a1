package org.tlsrelay.core.dkim;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.tlsrelay.core.dns.Idna;

/**
 * The domain of a message's author: the domain of the one mailbox in its one From field (RFC 5322 §3.6.2), the
 * domain DMARC aligns a DKIM signature with. Display names, comments and quoted strings are skipped; an
 * internationalised domain is turned into its A-label form.
 */
final class Author {
    private static final Pattern LDH =
            Pattern.compile(
                    "(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?");

    private Author() {}

    /** The author's domain, or why there is none. */
    sealed interface Found {
        record Domain(String name) implements Found {}

        record None(Unsignable why) implements Found {}
    }

    /** From the header fields of a message. */
    static Found of(List<HeaderField> fields) {
        List<HeaderField> from = fields.stream().filter(f -> f.is("from")).toList();
        if (from.isEmpty()) {
            return new Found.None(Unsignable.NO_FROM);
        }
        if (from.size() > 1) {
            return new Found.None(Unsignable.SEVERAL_FROM);
        }
        List<String> mailboxes = mailboxes(from.get(0).value());
        if (mailboxes.size() != 1) {
            return new Found.None(
                    mailboxes.isEmpty()
                            ? Unsignable.FROM_WITHOUT_DOMAIN
                            : Unsignable.SEVERAL_AUTHORS);
        }
        return domain(mailboxes.get(0))
                .<Found>map(Found.Domain::new)
                .orElse(new Found.None(Unsignable.FROM_WITHOUT_DOMAIN));
    }

    /** The addr-specs of a mailbox-list, each with its angle brackets, comments and display name removed. */
    static List<String> mailboxes(String value) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        StringBuilder angle = null;
        boolean sawAngle = false;
        int depth = 0;
        boolean quoted = false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\\' && (quoted || depth > 0)) {
                i++; // a quoted-pair: the next character stands for itself
                continue;
            }
            if (depth > 0) {
                depth += c == '(' ? 1 : c == ')' ? -1 : 0;
                continue;
            }
            if (quoted) {
                quoted = c != '"';
                if (angle != null) {
                    angle.append(c);
                } else {
                    current.append(c);
                }
                continue;
            }
            switch (c) {
                case '(' -> depth = 1;
                case '"' -> {
                    quoted = true;
                    (angle != null ? angle : current).append(c);
                }
                case '<' -> {
                    angle = new StringBuilder();
                    sawAngle = true;
                }
                case '>' -> {
                    if (angle != null) {
                        current = angle;
                        angle = null;
                    }
                }
                case ',', ';' -> {
                    add(out, current);
                    current = new StringBuilder();
                    sawAngle = false;
                }
                case ':' -> {
                    if (angle == null && !sawAngle) {
                        current = new StringBuilder(); // a group name (§3.4): what follows are its
                        // mailboxes
                    } else {
                        (angle != null ? angle : current).append(c);
                    }
                }
                default -> (angle != null ? angle : current).append(c);
            }
        }
        add(out, angle != null ? angle : current);
        return out;
    }

    private static void add(List<String> out, StringBuilder mailbox) {
        String m = mailbox.toString().strip();
        if (!m.isEmpty()) {
            out.add(m);
        }
    }

    /** The part after the last {@code @}, as a lower-case A-label domain; empty when it is none (e.g. a literal). */
    static Optional<String> domain(String addrSpec) {
        int at = addrSpec.lastIndexOf('@');
        if (at < 0) {
            return Optional.empty();
        }
        String d = addrSpec.substring(at + 1).strip();
        if (d.endsWith(".")) {
            d = d.substring(0, d.length() - 1);
        }
        if (!(Idna.toAscii(d) instanceof Idna.Conversion.Ascii ascii)) {
            return Optional.empty();
        }
        d = ascii.name();
        return d.length() <= 253 && LDH.matcher(d).matches() ? Optional.of(d) : Optional.empty();
    }
}
