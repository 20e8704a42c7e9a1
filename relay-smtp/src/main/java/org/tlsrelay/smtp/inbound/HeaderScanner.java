package org.tlsrelay.smtp.inbound;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;

/**
 * Passes a message through unchanged and notes, from its header section (RFC 5322 §2.2, up to the first empty line),
 * what the relay needs besides the body: whether there is a {@code TLS-Required: No} field (RFC 8689 §5: the sender
 * asks that TLS policy failures not stop delivery), and the first {@code Message-ID} (RFC 5322 §3.6.4), for the log
 * line at accept. Field names and the {@code No} compare case-insensitively (RFC 5234 §2.3 quoted strings), folded
 * values are unfolded (RFC 5322 §2.2.3). Once the header section has ended, bytes only pass through.
 */
final class HeaderScanner extends FilterOutputStream {
    /** Longer fields are some other field, or are kept only in part (a Message-ID is logged cut). */
    private static final int MAX_FIELD = 1000;

    private final byte[] field = new byte[MAX_FIELD];
    private int length;
    private boolean overflow;
    private boolean inHeader = true;
    private boolean lineStart = true;
    private boolean lineEmpty = true;
    private boolean tlsRequiredNo;
    private String messageId = "";

    HeaderScanner(OutputStream out) {
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
        finish();
        return tlsRequiredNo;
    }

    /**
     * The first Message-ID field's value without its angle brackets (as Postfix logs it, {@code message-id=<...>}),
     * when there is one; call after the whole message was written.
     */
    Optional<String> messageId() {
        finish();
        return messageId.isEmpty() ? Optional.empty() : Optional.of(messageId);
    }

    private void finish() {
        if (inHeader) {
            endField(); // a message that is all header section
            inHeader = false;
        }
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
        if (length > 0) {
            String f = new String(field, 0, length, StandardCharsets.UTF_8);
            int colon = f.indexOf(':');
            String name = colon > 0 ? f.substring(0, colon).strip().toLowerCase(Locale.ROOT) : "";
            String value = colon > 0 ? f.substring(colon + 1).strip() : "";
            if (name.equals("tls-required") && !overflow && value.equalsIgnoreCase("no")) {
                tlsRequiredNo = true;
            } else if (name.equals("message-id") && messageId.isEmpty()) {
                messageId = unbracketed(value);
            }
        }
        length = 0;
        overflow = false;
    }

    private static String unbracketed(String v) {
        String s = v.strip();
        if (s.startsWith("<") && s.endsWith(">") && s.length() > 2) {
            s = s.substring(1, s.length() - 1);
        }
        return s;
    }
}
