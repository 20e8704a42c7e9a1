package org.tlsrelay.core.dkim;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The header section of a message split into its fields (RFC 5322 §2.2): a field starts with a name and a colon,
 * continues over lines that start with SP or HTAB, and ends with CRLF; the section ends at the first empty line.
 */
public final class HeaderSection {
    private final List<HeaderField> fields;

    private HeaderSection(List<HeaderField> fields) {
        this.fields = List.copyOf(fields);
    }

    /** The outcome of {@link #parse}: the fields, or why the section is not a header section DKIM can sign. */
    public sealed interface Parsed {
        record Fields(HeaderSection section) implements Parsed {}

        record Malformed(String reason) implements Parsed {}
    }

    /**
     * Splits {@code header} (the octets before the empty line that ends the section, each field with its CRLF) into
     * fields. A line that is neither a field nor a continuation, or a continuation with no field before it, makes
     * the section malformed: verifiers would not agree on what it holds.
     */
    public static Parsed parse(byte[] header, int length) {
        List<HeaderField> fields = new ArrayList<>();
        int start = 0;
        int nameEnd = -1;
        int pos = 0;
        while (pos < length) {
            int next = lineEnd(header, pos, length);
            if (header[pos] == ' ' || header[pos] == '\t') {
                if (nameEnd < 0) {
                    return new Parsed.Malformed("the first header line is a continuation line");
                }
            } else {
                if (nameEnd >= 0) {
                    fields.add(field(header, start, pos, nameEnd));
                }
                int colon = indexOf(header, (byte) ':', pos, next);
                if (colon <= pos || !isName(header, pos, colon)) {
                    return new Parsed.Malformed(
                            "header line \""
                                    + printable(header, pos, Math.min(next, pos + 40))
                                    + "\" is not a header field");
                }
                start = pos;
                nameEnd = colon;
            }
            pos = next;
        }
        if (nameEnd >= 0) {
            fields.add(field(header, start, length, nameEnd));
        }
        return new Parsed.Fields(new HeaderSection(fields));
    }

    public List<HeaderField> fields() {
        return fields;
    }

    /** The fields named {@code name}, top to bottom. */
    public List<HeaderField> all(String name) {
        return fields.stream().filter(f -> f.is(name)).toList();
    }

    private static HeaderField field(byte[] header, int start, int end, int colon) {
        String name = new String(header, start, colon - start, StandardCharsets.US_ASCII).strip();
        return new HeaderField(name, Arrays.copyOfRange(header, start, end), colon - start);
    }

    /** RFC 5322 §3.6.8: printable ASCII but the colon; trailing WSP before the colon is obsolete syntax, allowed. */
    private static boolean isName(byte[] b, int from, int colon) {
        int end = colon;
        while (end > from && (b[end - 1] == ' ' || b[end - 1] == '\t')) {
            end--;
        }
        if (end == from) {
            return false;
        }
        for (int i = from; i < end; i++) {
            if (b[i] < 0x21 || b[i] > 0x7e) {
                return false;
            }
        }
        return true;
    }

    /** Where the line that starts at {@code from} ends, its CRLF included. */
    private static int lineEnd(byte[] b, int from, int to) {
        for (int i = from; i + 1 < to; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                return i + 2;
            }
        }
        return to;
    }

    private static int indexOf(byte[] b, byte x, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == x) {
                return i;
            }
        }
        return -1;
    }

    private static String printable(byte[] b, int from, int to) {
        StringBuilder s = new StringBuilder();
        for (int i = from; i < to; i++) {
            char c = (char) (b[i] & 0xff);
            s.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return s.toString();
    }
}
