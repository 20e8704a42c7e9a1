package org.tlsrelay.smtp.outbound;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DotStufferTest {

    @ParameterizedTest(name = "[{0}] -> [{1}]")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            ''                      | ''
            a                       | a<CRLF>
            a<CRLF>                 | a<CRLF>
            .                       | ..<CRLF>
            .<CRLF>.<CRLF>          | ..<CRLF>..<CRLF>
            a<LF>.b<LF>             | a<CRLF>..b<CRLF>
            a.b<CRLF>               | a.b<CRLF>
            <CR>                    | <CRLF>
            a<CR>.b                 | a<CRLF>..b<CRLF>
            <LF><LF>.               | <CRLF><CRLF>..<CRLF>
            ..<CRLF>                | ...<CRLF>
            a<CR><CR><LF>b          | a<CRLF><CRLF>b<CRLF>
            """)
    void normalisesLineEndingsAndStuffsDotsInAnySlicing(String input, String expected) {
        byte[] in = decode(input).getBytes(StandardCharsets.UTF_8);
        // every way of cutting the input in two must give the same output: state crosses chunks
        for (int cut = 0; cut <= in.length; cut++) {
            DotStuffer stuffer = new DotStuffer();
            ByteBuf out = Unpooled.buffer();
            stuffer.transform(in, 0, cut, out);
            stuffer.transform(in, cut, in.length - cut, out);
            stuffer.finish(out);
            assertEquals(decode(expected), out.toString(StandardCharsets.UTF_8), "cut at " + cut);
            out.release();
        }
    }

    private static String decode(String s) {
        return s.replace("<CRLF>", "\r\n").replace("<CR>", "\r").replace("<LF>", "\n");
    }
}
