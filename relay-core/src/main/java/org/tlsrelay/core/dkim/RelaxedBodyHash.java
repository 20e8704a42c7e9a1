package org.tlsrelay.core.dkim;

import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The SHA-256 hash of a message body under the "relaxed" body canonicalization (RFC 6376 §3.4.4, with errata 1377
 * and 1384), computed while the body streams through: nothing but a few flags and a small buffer is kept.
 *
 * <ol>
 *   <li>WSP at the end of a line is ignored; every other run of WSP becomes one SP;</li>
 *   <li>then empty lines at the end of the body are ignored; a non-empty body ends with exactly one CRLF, an empty
 *       body (also one of only empty lines) is hashed as nothing at all.</li>
 * </ol>
 * A CR not followed by LF, or a LF not preceded by CR, is not a line end but content (the spool has none: the
 * relay refuses bare line ends). WSP at the very end of a body without a final CRLF counts as trailing WSP of the
 * last line and is ignored; accepted messages always end with CRLF, so this case never reaches a verifier.
 */
final class RelaxedBodyHash extends OutputStream {
    private final MessageDigest sha256;
    private final byte[] out = new byte[8192];
    private int outLen;
    private boolean space;
    private boolean cr;
    private long pendingLineEnds;
    private boolean content;
    private boolean finished;

    RelaxedBodyHash() {
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    @Override
    public void write(int b) {
        accept((byte) b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            accept(b[i]);
        }
    }

    private void accept(byte b) {
        if (cr) {
            cr = false;
            if (b == '\n') {
                space = false; // WSP at the end of a line is ignored
                pendingLineEnds++; // held back: it may be one of the empty lines at the end
                return;
            }
            emit((byte) '\r');
        }
        if (b == ' ' || b == '\t') {
            space = true;
        } else if (b == '\r') {
            cr = true;
        } else {
            emit(b);
        }
    }

    /** Content: first the line ends held back (they were not at the end after all), then one SP for a WSP run. */
    private void emit(byte b) {
        for (; pendingLineEnds > 0; pendingLineEnds--) {
            put((byte) '\r');
            put((byte) '\n');
        }
        if (space) {
            put((byte) ' ');
            space = false;
        }
        put(b);
        content = true;
    }

    private void put(byte b) {
        out[outLen++] = b;
        if (outLen == out.length) {
            sha256.update(out, 0, outLen);
            outLen = 0;
        }
    }

    /** The hash of the canonical body; call once, after the last octet. */
    byte[] digest() {
        if (finished) {
            throw new IllegalStateException("the body hash was already taken");
        }
        finished = true;
        if (cr) {
            emit((byte) '\r');
        }
        if (content) {
            put((byte) '\r');
            put((byte) '\n');
        }
        sha256.update(out, 0, outLen);
        return sha256.digest();
    }
}
