package org.tlsrelay.core.dkim;

import java.util.List;

/**
 * The text of one {@code DKIM-Signature} header field (RFC 6376 §3.5) as this relay writes it:
 *
 * <pre>
 * DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;
 * 	s=tlsrelay2026; t=1767225600; h=from:from:to:subject:date:message-id:
 * 	mime-version:content-type;
 * 	bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
 * 	b=...
 * </pre>
 *
 * No {@code l=} (a length limit lets anyone append to the body), no {@code i=} (it defaults to {@code @d}), no
 * {@code x=}. Lines are folded before 78 columns. How the field is folded depends only on the lengths of its values,
 * and {@code bh=} (44 characters for SHA-256) and {@code b=} (fixed per key) have known lengths: so a field rendered
 * with placeholders has exactly the length of the final one, which lets an accepted message be signed in place.
 *
 * @param signedHeaders the {@code h=} names, lower case, in order
 * @param time {@code t=}, seconds since the epoch
 */
record SignatureHeader(SigningKey key, List<String> signedHeaders, long time) {
    static final String NAME = "DKIM-Signature";
    static final int BODY_HASH_LENGTH = 44;
    private static final int WIDTH = 78;

    SignatureHeader {
        signedHeaders = List.copyOf(signedHeaders);
    }

    /** The length of {@code b=}: the base64 form of a signature of this key. */
    int signatureTextLength() {
        return (key.signatureLength() + 2) / 3 * 4;
    }

    /** With placeholders of the final lengths: the field to reserve space with. */
    String placeholder() {
        return render("A".repeat(BODY_HASH_LENGTH), "A".repeat(signatureTextLength()));
    }

    /**
     * The field, name and CRLF included. {@code b} may be empty: that is the form hashed for the signature (§3.7:
     * the value of b= deleted, folding included).
     */
    String render(String bodyHash, String b) {
        Folder f = new Folder(NAME + ":");
        f.add("v=1;");
        f.add("a=" + key.algorithm().tag() + ";");
        f.add("c=relaxed/relaxed;");
        f.add("d=" + key.domain() + ";");
        f.add("s=" + key.selector() + ";");
        f.add("t=" + time + ";");
        // h=: FWS is allowed around the colons (§3.5), so the list may fold between names.
        for (int i = 0; i < signedHeaders.size(); i++) {
            String piece =
                    (i == 0 ? "h=" : "")
                            + signedHeaders.get(i)
                            + (i == signedHeaders.size() - 1 ? ";" : ":");
            if (i == 0) {
                f.add(piece);
            } else {
                f.append(piece);
            }
        }
        f.add("bh=" + bodyHash + ";");
        // b= starts a line of its own and folds anywhere (base64 may contain FWS, §3.5).
        f.newLine();
        f.append("b=");
        int width = WIDTH - 1;
        int pos = 0;
        while (pos < b.length()) {
            int room = width - f.column();
            if (room <= 0) {
                f.newLine();
                room = width - f.column();
            }
            int n = Math.min(room, b.length() - pos);
            f.append(b.substring(pos, pos + n));
            pos += n;
        }
        return f.text() + "\r\n";
    }

    /** Places tokens on lines of at most {@value #WIDTH} characters, folding with CRLF HTAB. */
    private static final class Folder {
        private final StringBuilder text = new StringBuilder(512);
        private int lineStart;

        Folder(String start) {
            text.append(start);
        }

        /** A token after a space, or on a new line if it does not fit. */
        void add(String token) {
            if (column() + 1 + token.length() > WIDTH) {
                newLine();
                text.append(token);
            } else {
                text.append(' ').append(token);
            }
        }

        /** A token right after the previous one, or on a new line if it does not fit. */
        void append(String token) {
            if (column() + token.length() > WIDTH && column() > 1) {
                newLine();
            }
            text.append(token);
        }

        void newLine() {
            text.append("\r\n\t");
            lineStart = text.length() - 1; // the HTAB is the line's first column
        }

        int column() {
            return text.length() - lineStart;
        }

        String text() {
            return text.toString();
        }
    }
}
