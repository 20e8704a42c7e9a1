package org.tlsrelay.smtp.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DataReaderTest {
    private static InputStream in(String s) {
        return new BufferedInputStream(
                new ByteArrayInputStream(s.getBytes(StandardCharsets.ISO_8859_1)), 16);
    }

    private static String rest(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void unstuffsDotsAndStopsRightAfterTheTerminator() throws IOException {
        InputStream in = in("a\r\n..b\r\n.c\r\n\r\n.\r\nQUIT\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataReader.Result r = DataReader.read(in, out, 1000, 100);
        assertTrue(r.clean());
        assertEquals("a\r\n.b\r\nc\r\n\r\n", out.toString(StandardCharsets.ISO_8859_1));
        assertEquals("QUIT\r\n", rest(in));
    }

    @Test
    void anEmptyMessageEndsAtOnce() throws IOException {
        InputStream in = in(".\r\nNOOP\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(DataReader.read(in, out, 1000, 100).clean());
        assertEquals(0, out.size());
        assertEquals("NOOP\r\n", rest(in));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "x\n.\ny\r\n.\r\nN",
                "x\r\n.\ny\r\n.\r\nN",
                "x\n.\r\ny\r\n.\r\nN",
                "x\r.\ry\r\n.\r\nN",
                "x\r\n.\rz\r\n.\r\nN",
                "x\ry\r\n.\r\nN"
            })
    void onlyCrlfDotCrlfEndsAndBareNewlinesAreReported(String data) throws IOException {
        InputStream in = in(data);
        DataReader.Result r = DataReader.read(in, new ByteArrayOutputStream(), 1000, 100);
        assertTrue(r.bareNewline());
        assertEquals("N", rest(in));
    }

    @Test
    void sizeAndLineLimitsKeepReadingToTheEnd() throws IOException {
        InputStream in = in("0123456789\r\n0123456789\r\n.\r\nN");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataReader.Result r = DataReader.read(in, out, 15, 8);
        assertTrue(r.tooBig());
        assertTrue(r.lineTooLong());
        assertFalse(r.bareNewline());
        assertEquals("N", rest(in));
    }

    @Test
    void theEndOfTheConnectionBeforeTheEndOfDataIsAnError() {
        assertThrows(
                EOFException.class,
                () -> DataReader.read(in("a\r\nb\n.\n"), new ByteArrayOutputStream(), 100, 100));
    }

    @Test
    void worksOneOctetAtATimeWithoutMark() throws IOException {
        InputStream plain =
                new ByteArrayInputStream("a\r\n.\r\nN".getBytes(StandardCharsets.US_ASCII)) {
                    @Override
                    public boolean markSupported() {
                        return false;
                    }
                };
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(DataReader.read(plain, out, 100, 100).clean());
        assertEquals("a\r\n", out.toString(StandardCharsets.US_ASCII));
        assertEquals("N", rest(plain));
    }
}
