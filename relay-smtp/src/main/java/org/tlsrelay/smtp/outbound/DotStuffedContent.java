package org.tlsrelay.smtp.outbound;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.smtp.DefaultLastSmtpContent;
import io.netty.handler.codec.smtp.DefaultSmtpContent;
import io.netty.handler.codec.smtp.SmtpContent;
import io.netty.handler.stream.ChunkedInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * Message content as {@link SmtpContent} chunks for Netty's {@code ChunkedWriteHandler}, which pulls a chunk only
 * when the channel is writable: a large message never sits in memory whole and a slow MX slows the reading. The last
 * chunk is a {@code LastSmtpContent}, after which the SMTP codec writes the terminating {@code .CRLF}.
 *
 * <p>The source is read on the event loop, as Netty's own {@code ChunkedNioFile} does: spool files are local and
 * normally in the page cache.
 */
final class DotStuffedContent implements ChunkedInput<SmtpContent> {
    private static final int CHUNK = 16 * 1024;

    private final ReadableByteChannel source;
    private final long length;
    private final DotStuffer stuffer = new DotStuffer();
    private final ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
    private long progress;
    private boolean ended;
    private boolean sourceEnded;

    DotStuffedContent(ReadableByteChannel source, long length) {
        this.source = source;
        this.length = length;
    }

    @Override
    public boolean isEndOfInput() {
        return ended;
    }

    @Override
    public void close() throws IOException {
        source.close();
    }

    @Deprecated
    @Override
    public SmtpContent readChunk(ChannelHandlerContext ctx) throws IOException {
        return readChunk(ctx.alloc());
    }

    @Override
    public SmtpContent readChunk(ByteBufAllocator allocator) throws IOException {
        if (ended) {
            return null;
        }
        buffer.clear();
        int n = fill();
        if (n < 0) {
            ended = true;
            ByteBuf tail = allocator.buffer(2);
            stuffer.finish(tail);
            return new DefaultLastSmtpContent(tail);
        }
        // stuffing and CRLF normalisation add a little; the buffer grows if a chunk needs more
        ByteBuf out = allocator.buffer(n + (n >> 4) + 16);
        try {
            stuffer.transform(buffer.array(), 0, n, out);
            progress += n;
            if (sourceEnded) {
                // the source ended inside this chunk (most messages fit in one): the end goes in
                // the same
                // chunk, so that the content and the final dot leave in one write (one TLS record)
                ended = true;
                stuffer.finish(out);
                return new DefaultLastSmtpContent(out);
            }
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
        return new DefaultSmtpContent(out);
    }

    /**
     * Reads until the buffer is full, the source ends ({@link #sourceEnded}) or gives nothing for now: the octets
     * read, or -1 at the end with none read.
     */
    private int fill() throws IOException {
        int total = 0;
        while (buffer.hasRemaining()) {
            int n = source.read(buffer);
            if (n < 0) {
                sourceEnded = true;
                return total == 0 ? -1 : total;
            }
            if (n == 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public long progress() {
        return progress;
    }
}
