package org.tlsrelay.core.dkim;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * One header field exactly as it is in the message: its name and its raw octets, folding and the final CRLF included
 * (RFC 5322 §2.2). Octets are never decoded for hashing; {@link #value()} decodes only to read addresses and tags.
 */
public final class HeaderField {
    private final String name;
    private final byte[] raw;
    private final int colon;

    HeaderField(String name, byte[] raw, int colon) {
        this.name = name;
        this.raw = raw;
        this.colon = colon;
    }

    /** The field name as written, e.g. {@code Subject}. */
    public String name() {
        return name;
    }

    /** Case-insensitive name comparison (RFC 5322 §1.2.2). */
    public boolean is(String fieldName) {
        return name.equalsIgnoreCase(fieldName);
    }

    /** The unfolded value, decoded as UTF-8 (RFC 6532), without the final CRLF; for reading, never for hashing. */
    public String value() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(raw.length);
        for (int i = colon + 1; i < raw.length; i++) {
            if (raw[i] != '\r' && raw[i] != '\n') {
                b.write(raw[i]);
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    byte[] raw() {
        return raw;
    }

    /**
     * The "relaxed" canonical form (RFC 6376 §3.4.2): name in lower case, value unfolded, every run of WSP made one
     * SP, WSP at the ends of the value and around the colon removed; then CRLF.
     */
    byte[] relaxed() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(raw.length);
        b.writeBytes(name.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII));
        b.write(':');
        boolean space = false;
        boolean started = false;
        for (int i = colon + 1; i < raw.length; i++) {
            byte c = raw[i];
            if (c == '\r' || c == '\n') {
                continue; // unfold: the only line breaks inside a field are folds (and the final
                // CRLF)
            }
            if (c == ' ' || c == '\t') {
                space = started;
                continue;
            }
            if (space) {
                b.write(' ');
                space = false;
            }
            b.write(c);
            started = true;
        }
        b.write('\r');
        b.write('\n');
        return b.toByteArray();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HeaderField f && Arrays.equals(raw, f.raw);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(raw);
    }

    @Override
    public String toString() {
        return new String(raw, StandardCharsets.UTF_8).strip();
    }
}
