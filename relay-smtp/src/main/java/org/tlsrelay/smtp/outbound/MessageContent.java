package org.tlsrelay.smtp.outbound;

import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The message as it is to be sent (header and body, RFC 5322), opened anew for each attempt and streamed: line
 * endings are normalised to CRLF and lines are dot-stuffed on the way out, so the source is stored as it came.
 */
public interface MessageContent {

    /** The size in octets, for the SIZE parameter (RFC 1870 §3: an estimate is allowed). */
    long size() throws IOException;

    /** A new stream over the whole content; the caller closes it. */
    ReadableByteChannel open() throws IOException;

    static MessageContent ofBytes(byte[] content) {
        byte[] copy = content.clone();
        return new MessageContent() {
            @Override
            public long size() {
                return copy.length;
            }

            @Override
            public ReadableByteChannel open() {
                return Channels.newChannel(new java.io.ByteArrayInputStream(copy));
            }
        };
    }

    static MessageContent ofFile(Path file) {
        return new MessageContent() {
            @Override
            public long size() throws IOException {
                return Files.size(file);
            }

            @Override
            public ReadableByteChannel open() throws IOException {
                return FileChannel.open(file, StandardOpenOption.READ);
            }

            @Override
            public String toString() {
                return file.toString();
            }
        };
    }
}
