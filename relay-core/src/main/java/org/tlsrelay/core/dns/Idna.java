package org.tlsrelay.core.dns;

import com.ibm.icu.text.IDNA;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Internationalised domain names (RFC 5890): a mail domain as written ({@code bücher.example}, with U-labels) and the
 * form DNS, policies, certificates and TLS-RPT use ({@code xn--bcher-kva.example}, with A-labels). UTS #46 maps the
 * name (case, width), non-transitional (ß and ς stay themselves, as in IDNA2008), with the STD3 host name rules, the
 * bidi rule (RFC 5893) and the CONTEXTJ/CONTEXTO rules (RFC 5892 Appendix A); then every code point must be one
 * IDNA2008 allows ({@link Idna2008}, RFC 5891 §5.4), which UTS #46 alone does not check. {@code java.net.IDN}
 * implements IDNA2003 and maps such names differently; it is not used.
 *
 * <p>ICU4J does the work, loaded only when a name needs it: a plain ASCII name without an A-label is lower-cased
 * and nothing more (its syntax stays the caller's check, {@link DnsNames#isValid}).
 */
public final class Idna {

    /** What became of a name. */
    public sealed interface Conversion {

        /** The name in A-label form, lower case, without a trailing dot. */
        record Ascii(String name) implements Conversion {}

        /**
         * Not a valid internationalised domain name.
         *
         * @param reason what is wrong, for a reply or a log line, e.g. {@code an empty label}
         */
        record Invalid(String name, String reason) implements Conversion {
            /** {@code "bücher..example" is not a valid internationalised domain name: an empty label}. */
            public String describe() {
                return "\"" + name + "\" is not a valid internationalised domain name: " + reason;
            }
        }
    }

    private Idna() {}

    /** The A-label form of {@code domain} (a trailing dot is dropped), or why there is none. */
    public static Conversion toAscii(String domain) {
        String d = domain.strip();
        if (d.endsWith(".")) {
            d = d.substring(0, d.length() - 1);
        }
        if (!needsIdna(d)) {
            return new Conversion.Ascii(d.toLowerCase(Locale.ROOT));
        }
        IDNA.Info info = new IDNA.Info();
        String uLabels = Uts46.INSTANCE.nameToUnicode(d, new StringBuilder(), info).toString();
        if (info.hasErrors()) {
            return new Conversion.Invalid(domain, describe(info.getErrors()));
        }
        Optional<Integer> disallowed = Idna2008.firstDisallowed(uLabels);
        if (disallowed.isPresent()) {
            int cp = disallowed.get();
            return new Conversion.Invalid(
                    domain,
                    String.format(
                            Locale.ROOT,
                            "U+%04X (%s) is not allowed by IDNA2008 (RFC 5892)",
                            cp,
                            new String(Character.toChars(cp))));
        }
        StringBuilder out = Uts46.INSTANCE.nameToASCII(d, new StringBuilder(), info);
        if (info.hasErrors()) {
            return new Conversion.Invalid(domain, describe(info.getErrors()));
        }
        return new Conversion.Ascii(out.toString().toLowerCase(Locale.ROOT));
    }

    /**
     * Whether IDNA applies to {@code domain}: it has a non-ASCII character or an A-label ({@code xn--}, which must
     * decode to a valid U-label, RFC 5891 §5.4).
     */
    public static boolean needsIdna(String domain) {
        for (int i = 0; i < domain.length(); i++) {
            if (domain.charAt(i) >= 0x80) {
                return true;
            }
        }
        String d = domain.toLowerCase(Locale.ROOT);
        return d.startsWith("xn--") || d.contains(".xn--");
    }

    /** Built on first use: ICU loads its normalisation and bidi data (~100 KB of a 15 MB library) only then. */
    private static final class Uts46 {
        static final IDNA INSTANCE =
                IDNA.getUTS46Instance(
                        IDNA.USE_STD3_RULES
                                | IDNA.CHECK_BIDI
                                | IDNA.CHECK_CONTEXTJ
                                | IDNA.CHECK_CONTEXTO
                                | IDNA.NONTRANSITIONAL_TO_ASCII
                                | IDNA.NONTRANSITIONAL_TO_UNICODE);
    }

    /** The first error in words (an operator reads it in a 553 reply or a log line). */
    private static String describe(Set<IDNA.Error> errors) {
        IDNA.Error e = errors.iterator().next();
        return switch (e) {
            case EMPTY_LABEL -> "an empty label";
            case LABEL_TOO_LONG -> "a label longer than 63 octets";
            case DOMAIN_NAME_TOO_LONG -> "longer than 253 octets";
            case LEADING_HYPHEN, TRAILING_HYPHEN -> "a label begins or ends with a hyphen";
            case HYPHEN_3_4 -> "a label has \"--\" in its 3rd and 4th position but is no A-label";
            case LEADING_COMBINING_MARK -> "a label begins with a combining mark";
            case DISALLOWED -> "a character IDNA2008 does not allow in domain names";
            case PUNYCODE -> "an A-label (xn--) that is not valid Punycode";
            case LABEL_HAS_DOT -> "a label with a dot in it";
            case INVALID_ACE_LABEL -> "an A-label (xn--) that is no valid U-label in disguise";
            case BIDI -> "right-to-left text that breaks the bidi rule (RFC 5893)";
            case CONTEXTJ -> "a zero-width joiner or non-joiner out of its context (RFC 5892)";
            case CONTEXTO_PUNCTUATION, CONTEXTO_DIGITS ->
                    "a character out of its context (RFC 5892 Appendix A)";
        };
    }
}
