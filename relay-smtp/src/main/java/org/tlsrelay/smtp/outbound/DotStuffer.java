package org.tlsrelay.smtp.outbound;

import io.netty.buffer.ByteBuf;

/**
 * Turns message octets into DATA content (RFC 5321 §4.5.2, §2.3.8): every line ending (CRLF, bare LF, bare CR)
 * becomes CRLF, a line starting with '.' gets one more '.', and the content ends with CRLF. The terminating
 * {@code .CRLF} is the codec's job. State carries across chunks, so content can be streamed in any slicing.
 */
final class DotStuffer {
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte DOT = '.';

    private boolean lineStart = true;
    private boolean pendingCr;

    /** Appends the transformed form of {@code src[offset, offset + length)} to {@code out}. */
    void transform(byte[] src, int offset, int length, ByteBuf out) {
        int end = offset + length;
        int i = offset;
        while (i < end) {
            byte b = src[i];
            if (pendingCr) {
                pendingCr = false;
                crlf(out);
                if (b == LF) {
                    i++;
                    continue;
                }
                // a bare CR ended a line; b starts the next one
            }
            if (b == CR) {
                pendingCr = true;
                i++;
            } else if (b == LF) {
                crlf(out);
                i++;
            } else {
                if (lineStart && b == DOT) {
                    out.writeByte(DOT);
                }
                // copy the rest of the line in one go
                int j = i + 1;
                while (j < end && src[j] != CR && src[j] != LF) {
                    j++;
                }
                out.writeBytes(src, i, j - i);
                lineStart = false;
                i = j;
            }
        }
    }

    /** Ends the content with CRLF unless it already ends a line (RFC 5321 §4.1.1.4). */
    void finish(ByteBuf out) {
        if (pendingCr) {
            pendingCr = false;
            crlf(out);
        } else if (!lineStart) {
            crlf(out);
        }
    }

    private void crlf(ByteBuf out) {
        out.writeByte(CR).writeByte(LF);
        lineStart = true;
    }
}
