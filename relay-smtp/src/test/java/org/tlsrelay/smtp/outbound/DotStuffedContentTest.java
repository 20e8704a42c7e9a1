package org.tlsrelay.smtp.outbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.smtp.LastSmtpContent;
import io.netty.handler.codec.smtp.SmtpContent;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The content in chunks: a message that fits in one chunk leaves in one, with its end; larger ones stream. */
class DotStuffedContentTest {
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

    @ParameterizedTest(name = "{0} octets -> {1} chunk(s)")
    @CsvSource({
        "0, 1",
        "1, 1",
        "10240, 1", // the benchmark's message: content and end in one write
        "16383, 1",
        "16384, 2", // a full chunk, then the end alone
        "40000, 3",
    })
    void endsInTheChunkWhereTheSourceEnds(int size, int chunks) throws Exception {
        byte[] message = message(size);
        List<SmtpContent> read = new ArrayList<>();
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        DotStuffedContent content =
                new DotStuffedContent(MessageContent.ofBytes(message).open(), size);
        try {
            SmtpContent c;
            while ((c = content.readChunk(ALLOC)) != null) {
                read.add(c);
                byte[] bytes = new byte[c.content().readableBytes()];
                c.content().readBytes(bytes);
                sent.write(bytes);
                c.release();
                assertEquals(c instanceof LastSmtpContent, content.isEndOfInput());
            }
            assertEquals(size, content.progress());
        } finally {
            content.close();
        }

        assertEquals(chunks, read.size(), "chunks");
        assertInstanceOf(LastSmtpContent.class, read.get(read.size() - 1));
        for (SmtpContent c : read.subList(0, read.size() - 1)) {
            assertFalse(c instanceof LastSmtpContent, "only the last chunk ends the content");
        }
        assertTrue(Arrays.equals(stuffed(message), sent.toByteArray()), "the content, dot-stuffed");
    }

    @Test
    void givesNothingAfterTheEnd() throws Exception {
        DotStuffedContent content =
                new DotStuffedContent(MessageContent.ofBytes(message(10)).open(), 10);
        try {
            content.readChunk(ALLOC).release();
            assertTrue(content.isEndOfInput());
            assertNull(content.readChunk(ALLOC));
        } finally {
            content.close();
        }
    }

    /** Lines of 76 octets, some starting with a dot, no final line break. */
    private static byte[] message(int size) {
        byte[] m = new byte[size];
        for (int i = 0; i < size; i++) {
            int col = i % 78;
            m[i] =
                    (byte)
                            (col == 76
                                    ? '\r'
                                    : col == 77 ? '\n' : col == 0 && i % 5 == 0 ? '.' : 'a');
        }
        return m;
    }

    private static byte[] stuffed(byte[] message) {
        ByteBuf out = ALLOC.buffer();
        DotStuffer s = new DotStuffer();
        s.transform(message, 0, message.length, out);
        s.finish(out);
        byte[] b = new byte[out.readableBytes()];
        out.readBytes(b);
        out.release();
        return b;
    }
}
