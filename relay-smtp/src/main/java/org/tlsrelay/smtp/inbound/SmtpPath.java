package org.tlsrelay.smtp.inbound;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.tlsrelay.core.dns.Idna;

/**
 * A reverse-path or forward-path from MAIL FROM / RCPT TO (RFC 5321 §4.1.2), parsed strictly, with the ESMTP
 * parameters that follow it.
 *
 * @param mailbox {@code local-part@domain} as given (quotes kept), without the angle brackets and without any source
 *     route; empty for the null path {@code <>}
 * @param sourceRoute whether an obsolete source route ({@code <@a,@b:user@c>}) preceded the mailbox
 * @param addressLiteral whether the domain is an address literal ({@code user@[192.0.2.1]})
 * @param domainless whether there is no {@code @domain} at all (only {@code <postmaster>} may be written so)
 * @param nonAscii whether the mailbox has non-ASCII characters (needs SMTPUTF8, RFC 6531 §3.3)
 * @param parameters the {@code KEY[=VALUE]} parameters after the path, in order
 */
record SmtpPath(
        String mailbox,
        boolean sourceRoute,
        boolean addressLiteral,
        boolean domainless,
        boolean nonAscii,
        List<Parameter> parameters) {

    /** An ESMTP parameter; {@code value} is empty when the keyword had no {@code =}. */
    record Parameter(String keyword, String value) {}

    /** Why a path could not be parsed. */
    static final class SyntaxException extends Exception {
        private static final long serialVersionUID = 1L;

        SyntaxException(String message) {
            super(message);
        }
    }

    /** RFC 5321 §4.5.3.1: 64 octets of local part, 255 of domain, 256 for the whole path. */
    static final int MAX_LOCAL = 64;

    static final int MAX_DOMAIN = 255;
    static final int MAX_PATH = 256;

    boolean isNull() {
        return mailbox.isEmpty();
    }

    /** The domain as written (U-labels kept); empty for the null path and {@code <postmaster>}. */
    String domain() {
        int at = mailbox.lastIndexOf('@');
        return domainless || at < 0 ? "" : mailbox.substring(at + 1);
    }

    /**
     * Why the domain is no valid internationalised domain name (IDNA2008, RFC 5891 §5.4), for a domain with U-labels
     * or A-labels; empty when it is valid, plain ASCII, or an address literal.
     */
    Optional<String> idnaProblem() {
        if (addressLiteral || domain().isEmpty()) {
            return Optional.empty();
        }
        return Idna.toAscii(domain()) instanceof Idna.Conversion.Invalid bad
                ? Optional.of(
                        "\""
                                + bad.name()
                                + "\" is not a valid internationalised domain name (IDNA2008): "
                                + bad.reason())
                : Optional.empty();
    }

    Optional<String> parameter(String keyword) {
        for (Parameter p : parameters) {
            if (p.keyword().equalsIgnoreCase(keyword)) {
                return Optional.of(p.value());
            }
        }
        return Optional.empty();
    }

    /**
     * Parses {@code <path> [SP params]}; {@code text} is what follows {@code FROM:} or {@code TO:}. Spaces before the
     * {@code <} are tolerated (many clients send {@code MAIL FROM: <a@b>}).
     */
    static SmtpPath parse(String text, boolean allowNull) throws SyntaxException {
        int i = 0;
        while (i < text.length() && text.charAt(i) == ' ') {
            i++;
        }
        if (i >= text.length() || text.charAt(i) != '<') {
            throw new SyntaxException("the address must be in angle brackets: <user@example.com>");
        }
        int close = closingBracket(text, i + 1);
        String inner = text.substring(i + 1, close);
        if (inner.length() + 2 > MAX_PATH) {
            throw new SyntaxException("the path is longer than " + MAX_PATH + " characters");
        }
        List<Parameter> params = parameters(text.substring(close + 1));
        if (inner.isEmpty()) {
            if (!allowNull) {
                throw new SyntaxException("the null path <> is not allowed here");
            }
            return new SmtpPath("", false, false, false, false, params);
        }
        boolean route = false;
        String mailbox = inner;
        if (inner.charAt(0) == '@') {
            // RFC 5321 §4.1.2 A-d-l: "@" Domain *( "," "@" Domain ) ":" — obsolete; parsed only to
            // be refused.
            int colon = routeEnd(inner);
            for (String hop : inner.substring(0, colon).split(",", -1)) {
                if (hop.length() < 2 || hop.charAt(0) != '@' || !isDomain(hop.substring(1))) {
                    throw new SyntaxException("malformed source route");
                }
            }
            route = true;
            mailbox = inner.substring(colon + 1);
        }
        int at = localPartEnd(mailbox);
        String local = mailbox.substring(0, at);
        if (local.isEmpty()) {
            throw new SyntaxException("the local part is empty");
        }
        if (utf8Length(local) > MAX_LOCAL) {
            throw new SyntaxException("the local part is longer than " + MAX_LOCAL + " octets");
        }
        boolean nonAscii = !isAscii(mailbox);
        if (at == mailbox.length()) {
            if (!local.equalsIgnoreCase("postmaster")) {
                throw new SyntaxException("the address has no domain");
            }
            return new SmtpPath(mailbox, route, false, true, nonAscii, params);
        }
        String domain = mailbox.substring(at + 1);
        boolean literal = domain.startsWith("[");
        if (literal ? !isAddressLiteral(domain) : !isDomain(domain)) {
            throw new SyntaxException(
                    "\"" + printable(domain) + "\" is not a domain or address literal");
        }
        if (utf8Length(domain) > MAX_DOMAIN) {
            throw new SyntaxException("the domain is longer than " + MAX_DOMAIN + " octets");
        }
        return new SmtpPath(mailbox, route, literal, false, nonAscii, params);
    }

    private static int closingBracket(String text, int from) throws SyntaxException {
        boolean quoted = false;
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    quoted = false;
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == '>') {
                return i;
            } else if (c == '<') {
                throw new SyntaxException("unexpected '<' inside the address");
            }
        }
        throw new SyntaxException("missing '>'");
    }

    private static int routeEnd(String inner) throws SyntaxException {
        int colon = inner.indexOf(':');
        if (colon < 0) {
            throw new SyntaxException("malformed source route");
        }
        return colon;
    }

    /** Index of the {@code @} that ends the local part (outside quotes), or the length when there is none. */
    private static int localPartEnd(String mailbox) throws SyntaxException {
        if (mailbox.startsWith("\"")) {
            int i = 1;
            for (; i < mailbox.length(); i++) {
                char c = mailbox.charAt(i);
                if (c == '\\') {
                    if (i + 1 >= mailbox.length()
                            || mailbox.charAt(i + 1) < 32
                            || mailbox.charAt(i + 1) == 127) {
                        throw new SyntaxException("bad quoted pair in the local part");
                    }
                    i++;
                } else if (c == '"') {
                    break;
                } else if (c < 32 || c == 127) {
                    throw new SyntaxException("control character in the local part");
                }
            }
            if (i >= mailbox.length()) {
                throw new SyntaxException("unterminated quoted local part");
            }
            int end = i + 1;
            if (end < mailbox.length() && mailbox.charAt(end) != '@') {
                throw new SyntaxException("text after the quoted local part");
            }
            return end;
        }
        int at = mailbox.indexOf('@');
        int end = at < 0 ? mailbox.length() : at;
        String local = mailbox.substring(0, end);
        // Dot-string = Atom *("." Atom) (RFC 5321 §4.1.2); UTF-8 allowed by RFC 6531 §3.3.
        if (local.isEmpty()
                || local.startsWith(".")
                || local.endsWith(".")
                || local.contains("..")) {
            throw new SyntaxException("malformed local part");
        }
        for (int i = 0; i < local.length(); i++) {
            char c = local.charAt(i);
            if (!(isAtext(c) || c == '.')) {
                throw new SyntaxException(
                        "character '" + printable(String.valueOf(c)) + "' is not allowed unquoted");
            }
        }
        return end;
    }

    private static boolean isAtext(char c) {
        return c >= 'a' && c <= 'z'
                || c >= 'A' && c <= 'Z'
                || c >= '0' && c <= '9'
                || "!#$%&'*+-/=?^_`{|}~".indexOf(c) >= 0
                || c > 127 && !Character.isISOControl(c) && !Character.isWhitespace(c);
    }

    /**
     * Domain = sub-domain *("." sub-domain), Let-dig [Ldh-str]; U-labels allowed (RFC 6531 §3.3). Which non-ASCII
     * characters a U-label may hold is IDNA2008's to say ({@link #idnaProblem}): here they only must not be blanks
     * or controls.
     */
    static boolean isDomain(String d) {
        if (d.isEmpty() || d.length() > MAX_DOMAIN) {
            return false;
        }
        for (String label : d.split("\\.", -1)) {
            if (label.isEmpty()
                    || label.length() > 63
                    || label.startsWith("-")
                    || label.endsWith("-")) {
                return false;
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                boolean ok =
                        c >= 'a' && c <= 'z'
                                || c >= 'A' && c <= 'Z'
                                || c >= '0' && c <= '9'
                                || c == '-'
                                || c > 127
                                        && !Character.isISOControl(c)
                                        && !Character.isWhitespace(c)
                                        && !Character.isSpaceChar(c);
                if (!ok) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean isAddressLiteral(String d) {
        if (!d.endsWith("]") || d.length() < 3) {
            return false;
        }
        String in = d.substring(1, d.length() - 1);
        if (in.matches("(\\d{1,3}\\.){3}\\d{1,3}")) {
            return true;
        }
        if (in.regionMatches(true, 0, "IPv6:", 0, 5)) {
            return in.substring(5).matches("[0-9A-Fa-f:.]+");
        }
        // General-address-literal = Standardized-tag ":" 1*dcontent
        return in.matches("[A-Za-z0-9-]*[A-Za-z0-9]:[\\x21-\\x5A\\x5E-\\x7E]+");
    }

    private static List<Parameter> parameters(String rest) throws SyntaxException {
        List<Parameter> out = new ArrayList<>();
        if (rest.isEmpty()) {
            return out;
        }
        if (rest.charAt(0) != ' ') {
            throw new SyntaxException("a space must separate the address from its parameters");
        }
        for (String token : rest.trim().split(" +")) {
            if (token.isEmpty()) {
                continue;
            }
            int eq = token.indexOf('=');
            String keyword = eq < 0 ? token : token.substring(0, eq);
            String value = eq < 0 ? "" : token.substring(eq + 1);
            // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); esmtp-value = 1*(%d33-60 /
            // %d62-126)
            if (!keyword.matches("[A-Za-z0-9][A-Za-z0-9-]*")
                    || eq >= 0 && !value.matches("[\\x21-\\x3C\\x3E-\\x7E]+")) {
                throw new SyntaxException("malformed parameter \"" + printable(token) + "\"");
            }
            out.add(new Parameter(keyword, value));
        }
        return out;
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 127) {
                return false;
            }
        }
        return true;
    }

    private static int utf8Length(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }

    /** Client text made safe for a reply or a log line: printable, at most 100 characters. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 100; i++) {
            char c = s.charAt(i);
            sb.append(c < 32 || c == 127 ? '?' : c);
        }
        return sb.toString();
    }
}
