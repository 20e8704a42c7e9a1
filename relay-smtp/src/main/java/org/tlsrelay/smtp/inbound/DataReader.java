package org.tlsrelay.smtp.inbound;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Reads the DATA section of one message (RFC 5321 §4.1.1.4) strictly, and always to its real end.
 *
 * <ul>
 *   <li>Only {@code CR LF . CR LF} ends the message (the first line counts as following the DATA command's CRLF).
 *   A bare LF or a bare CR is content, never a line end, so {@code \n.\n}, {@code \r\n.\n}, {@code \n.\r\n} and
 *   {@code \r.\r} cannot end the message: what follows them is read as message text, never as commands (SMTP
 *   smuggling). Their presence is reported so the caller can reject the message.</li>
 *   <li>Dot-unstuffing (§4.5.2): a leading dot on a line is removed.</li>
 *   <li>Past {@code maxSize} octets or with a line longer than {@code maxLineLength}, reading goes on to the end but
 *   nothing more is written; the caller rejects.</li>
 *   <li>An I/O error of the sink (disk full) is remembered and reading goes on, so the reply is not followed by the
 *   rest of the body being run as commands.</li>
 *   <li>Deadlines and the minimum data rate are the connection's ({@link ConnectionGuard}, {@link DataPace}): a read
 *   that passes one ends with a {@link java.net.SocketTimeoutException}.</li>
 *   <li>It never reads past the terminating {@code .CRLF}: pipelined commands after it stay in the input (RFC 2920).
 *   This needs an input that supports mark/reset (SubEthaSMTP's is a {@link java.io.BufferedInputStream}); without
 *   it, input is read one octet at a time.</li>
 * </ul>
 */
final class DataReader {
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte DOT = '.';
    private static final int CHUNK = 8192;

    /** What the caller needs to choose the reply. */
    record Result(
            long size,
            boolean bareNewline,
            boolean tooBig,
            boolean lineTooLong,
            IOException sinkFailure) {
        boolean clean() {
            return !bareNewline && !tooBig && !lineTooLong && sinkFailure == null;
        }
    }

    private final long maxSize;
    private final int maxLineLength;
    private OutputStream sink;
    private final byte[] out = new byte[CHUNK];
    private int outLen;
    private long size;
    private boolean bare;
    private boolean tooBig;
    private boolean longLine;
    private IOException sinkFailure;
    // Parser state.
    private boolean lineStart = true;
    private boolean dotFirst;
    private boolean pendingCr;
    private long lineLength;

    private DataReader(OutputStream sink, long maxSize, int maxLineLength) {
        this.sink = sink;
        this.maxSize = maxSize;
        this.maxLineLength = maxLineLength;
    }

    /**
     * Reads one message from {@code in} into {@code sink} up to and including the terminating {@code .CRLF}.
     *
     * @throws EOFException if the connection ends before the message does
     */
    static Result read(InputStream in, OutputStream sink, long maxSize, int maxLineLength)
            throws IOException {
        DataReader r = new DataReader(sink, maxSize, maxLineLength);
        r.run(in);
        return new Result(r.size, r.bare, r.tooBig, r.longLine, r.sinkFailure);
    }

    private void run(InputStream in) throws IOException {
        boolean markable = in.markSupported();
        byte[] buf = new byte[markable ? CHUNK : 1];
        while (true) {
            if (markable) {
                in.mark(buf.length);
            }
            int n = in.read(buf, 0, buf.length);
            if (n < 0) {
                throw new EOFException("connection closed during DATA");
            }
            for (int i = 0; i < n; i++) {
                if (accept(buf[i])) {
                    if (markable && i + 1 < n) {
                        // Give back what follows the terminator: it is the next pipelined command.
                        in.reset();
                        skipFully(in, i + 1);
                    }
                    flushOut();
                    return;
                }
            }
        }
    }

    private static void skipFully(InputStream in, long n) throws IOException {
        long left = n;
        while (left > 0) {
            long s = in.skip(left);
            if (s <= 0) {
                throw new IOException("cannot skip within the input buffer");
            }
            left -= s;
        }
    }

    /** Feeds one octet; true when it completed the terminating {@code CRLF.CRLF}. */
    private boolean accept(byte b) throws IOException {
        if (pendingCr) {
            pendingCr = false;
            if (b == LF) {
                if (dotFirst && lineLength == 1) {
                    return true; // the line was exactly "." after a real CRLF
                }
                emit(CR);
                emit(LF);
                lineStart = true;
                dotFirst = false;
                lineLength = 0;
                return false;
            }
            // A CR not followed by LF: content, and a reason to reject.
            bare = true;
            emit(CR);
            countLine();
            lineStart = false;
        }
        if (b == CR) {
            pendingCr = true;
            return false;
        }
        if (b == LF) {
            bare = true; // a bare LF never ends a line here
            emit(LF);
            countLine();
            lineStart = false;
            return false;
        }
        countLine();
        if (lineStart) {
            lineStart = false;
            if (b == DOT) {
                dotFirst = true; // removed (RFC 5321 §4.5.2), or the end of data if CRLF follows at
                // once
                return false;
            }
        }
        emit(b);
        return false;
    }

    private void countLine() {
        lineLength++;
        if (lineLength > maxLineLength) {
            longLine = true;
        }
    }

    private void emit(byte b) throws IOException {
        size++;
        if (size > maxSize) {
            if (!tooBig) {
                tooBig = true;
                dropSink();
            }
            return;
        }
        if (sink == null) {
            return;
        }
        out[outLen++] = b;
        if (outLen == out.length) {
            flushOut();
        }
    }

    private void flushOut() {
        if (sink != null && outLen > 0) {
            try {
                sink.write(out, 0, outLen);
            } catch (IOException e) {
                sinkFailure = e;
                sink = null;
            }
        }
        outLen = 0;
    }

    private void dropSink() {
        sink = null;
        outLen = 0;
    }
}
