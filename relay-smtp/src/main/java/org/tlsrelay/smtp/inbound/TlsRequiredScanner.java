package org.tlsrelay.smtp.inbound;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Passes a message through unchanged and notes whether its header section (RFC 5322 §2.2, up to the first empty line)
 * has a {@code TLS-Required: No} field (RFC 8689 §5): the sender asks that TLS policy failures not stop delivery.
 * Field names and the {@code No} compare case-insensitively (RFC 5234 §2.3 quoted strings), folded values are unfolded
 * (RFC 5322 §2.2.3). Once the header section has ended, bytes only pass through.
 */
final class TlsRequiredScanner extends FilterOutputStream {
    /** A TLS-Required field is a few octets; a longer field is some other field, or not "No". */
    private static final int MAX_FIELD = 256;

    private static final String NAME = "tls-required";

    private final byte[] field = new byte[MAX_FIELD];
    private int length;
    private boolean overflow;
    private boolean inHeader = true;
    private boolean lineStart = true;
    private boolean lineEmpty = true;
    private boolean found;

    TlsRequiredScanner(OutputStream out) {
        super(out);
    }

    @Override
    public void write(int b) throws IOException {
        if (inHeader) {
            scan((byte) b);
        }
        out.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        for (int i = off; inHeader && i < off + len; i++) {
            scan(b[i]);
        }
        out.write(b, off, len);
    }

    /** Whether the header section had {@code TLS-Required: No}; call after the whole message was written. */
    boolean tlsRequiredNo() {
        if (inHeader) {
            endField(); // a message that is all header section
        }
        return found;
    }

    private void scan(byte b) {
        if (b == '\r') {
            return; // line ends are CRLF here (bare ones make the message refused anyway)
        }
        if (b == '\n') {
            if (lineEmpty) {
                endField();
                inHeader = false; // the empty line ends the header section
            }
            lineStart = true;
            lineEmpty = true;
            return;
        }
        lineEmpty = false;
        if (lineStart) {
            lineStart = false;
            if (b != ' ' && b != '\t') {
                endField(); // not a continuation line: a new field starts
            }
        }
        if (length < MAX_FIELD) {
            field[length++] = b;
        } else {
            overflow = true;
        }
    }

    private void endField() {
        if (length > 0 && !overflow) {
            String f = new String(field, 0, length, StandardCharsets.ISO_8859_1);
            int colon = f.indexOf(':');
            if (colon > 0
                    && f.substring(0, colon).strip().toLowerCase(Locale.ROOT).equals(NAME)
                    && f.substring(colon + 1).strip().equalsIgnoreCase("no")) {
                found = true;
            }
        }
        length = 0;
        overflow = false;
    }
}
