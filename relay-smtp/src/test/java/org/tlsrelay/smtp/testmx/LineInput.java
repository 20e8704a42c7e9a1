package org.tlsrelay.smtp.testmx;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Buffered line reading for the test MX: CRLF (or a bare LF) ends a line; unread bytes can be handed on. */
final class LineInput {
    private final InputStream in;
    private final byte[] buffer = new byte[16 * 1024];
    private int start;
    private int end;

    LineInput(InputStream in) {
        this.in = in;
    }

    /** One line without its line ending (UTF-8), or null at the end of the stream. */
    String readLine() throws IOException {
        byte[] line = new byte[256];
        int length = 0;
        while (true) {
            if (start == end && !fill()) {
                return null;
            }
            int lf = -1;
            for (int i = start; i < end; i++) {
                if (buffer[i] == '\n') {
                    lf = i;
                    break;
                }
            }
            int stop = lf >= 0 ? lf : end;
            int n = stop - start;
            if (length + n > line.length) {
                line = Arrays.copyOf(line, Math.max(line.length * 2, length + n));
            }
            System.arraycopy(buffer, start, line, length, n);
            length += n;
            start = stop;
            if (lf >= 0) {
                start++;
                if (length > 0 && line[length - 1] == '\r') {
                    length--;
                }
                return new String(line, 0, length, StandardCharsets.UTF_8);
            }
        }
    }

    /** Reads some bytes (at least one unless the stream ended); -1 at the end. */
    int read(byte[] into) throws IOException {
        if (start == end && !fill()) {
            return -1;
        }
        int n = Math.min(into.length, end - start);
        System.arraycopy(buffer, start, into, 0, n);
        start += n;
        return n;
    }

    /** Whether more input can be read without blocking (RFC 2920 §3.2: more pipelined commands wait). */
    boolean ready() throws IOException {
        return start < end || in.available() > 0;
    }

    /** What was read from the network but not consumed, for a TLS socket layered on the same connection. */
    InputStream unread() {
        return new ByteArrayInputStream(buffer, start, end - start);
    }

    private boolean fill() throws IOException {
        int n = in.read(buffer);
        if (n <= 0) {
            return false;
        }
        start = 0;
        end = n;
        return true;
    }
}
