package org.tlsrelay.core.queue;

import java.nio.charset.StandardCharsets;

/**
 * RFC 3461 §4 xtext, the encoding of the ENVID and ORCPT parameters: printable US-ASCII except {@code +} and
 * {@code =} as themselves, every other octet as {@code +HH} (upper-case hex).
 */
public final class XText {
    private XText() {}

    /** Decodes xtext; throws {@link IllegalArgumentException} on a character or escape that xtext does not allow. */
    public static String decode(String xtext) {
        byte[] out = new byte[xtext.length()];
        int n = 0;
        for (int i = 0; i < xtext.length(); i++) {
            char c = xtext.charAt(i);
            if (c == '+') {
                if (i + 2 >= xtext.length()) {
                    throw new IllegalArgumentException("incomplete +HH escape in xtext");
                }
                int hi = hex(xtext.charAt(i + 1));
                int lo = hex(xtext.charAt(i + 2));
                out[n++] = (byte) (hi << 4 | lo);
                i += 2;
            } else if (c >= '!' && c <= '~' && c != '=') {
                out[n++] = (byte) c;
            } else {
                throw new IllegalArgumentException(
                        "character 0x" + Integer.toHexString(c) + " is not allowed in xtext");
            }
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }

    /** Encodes a value as xtext (UTF-8 octets outside the printable range become {@code +HH}). */
    public static String encode(String value) {
        StringBuilder sb = new StringBuilder(value.length());
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            if (c >= '!' && c <= '~' && c != '+' && c != '=') {
                sb.append((char) c);
            } else {
                sb.append('+')
                        .append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return sb.toString();
    }

    private static int hex(char c) {
        // RFC 3461 §4: "+" followed by two upper-case hexadecimal digits; lower case is accepted,
        // as Postfix does.
        int v = Character.digit(c, 16);
        if (v < 0) {
            throw new IllegalArgumentException(
                    "\"" + c + "\" is not a hex digit in an xtext +HH escape");
        }
        return v;
    }
}
