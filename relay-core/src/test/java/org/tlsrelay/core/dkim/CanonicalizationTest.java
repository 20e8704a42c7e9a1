package org.tlsrelay.core.dkim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4) against the RFC's own example and hand-made cases. */
class CanonicalizationTest {

    private static List<HeaderField> fields(String header) {
        byte[] b = header.getBytes(StandardCharsets.ISO_8859_1);
        return assertInstanceOf(HeaderSection.Parsed.Fields.class, HeaderSection.parse(b, b.length))
                .section()
                .fields();
    }

    private static String relaxed(HeaderField f) {
        return new String(f.relaxed(), StandardCharsets.ISO_8859_1);
    }

    private static String bodyHash(String body) {
        RelaxedBodyHash h = new RelaxedBodyHash();
        byte[] b = body.getBytes(StandardCharsets.ISO_8859_1);
        // in awkward pieces, as a socket delivers them: a CRLF may be split
        for (int i = 0; i < b.length; i += 3) {
            h.write(b, i, Math.min(3, b.length - i));
        }
        return Base64.getEncoder().encodeToString(h.digest());
    }

    private static String sha256(String canonical) throws Exception {
        return Base64.getEncoder()
                .encodeToString(
                        MessageDigest.getInstance("SHA-256")
                                .digest(canonical.getBytes(StandardCharsets.ISO_8859_1)));
    }

    @Test
    void theRfcExampleCanonicalizesAsTheRfcSays() throws Exception {
        // RFC 6376 §3.4.5
        List<HeaderField> f = fields("A: X\r\nB : Y\t\r\n\tZ  \r\n");
        assertEquals(2, f.size());
        assertEquals("a:X\r\n", relaxed(f.get(0)));
        assertEquals("b:Y Z\r\n", relaxed(f.get(1)));
        assertEquals(sha256(" C\r\nD E\r\n"), bodyHash(" C \r\nD \t E\r\n\r\n\r\n"));
    }

    @Test
    void anEmptyBodyHashesAsNothing() {
        // RFC 6376 errata 1384: the relaxed canonical form of an empty body is the null input
        assertEquals("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", bodyHash(""));
        assertEquals("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", bodyHash("\r\n\r\n \r\n"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "trailing empty lines dropped       | a\\r\\n\\r\\n\\r\\n         | a\\r\\n",
                "missing final CRLF added           | a                          | a\\r\\n",
                "inner empty lines kept             | a\\r\\n\\r\\n  \\r\\nb\\r\\n | a\\r\\n\\r\\n\\r\\nb\\r\\n",
                "WSP runs become one SP             | a \\t  b\\t\\r\\n          | a b\\r\\n",
                "leading WSP becomes one SP         | \\t\\ta\\r\\n               | ' a\\r\\n'",
                "bare CR is content                 | a \\rb\\r\\n                | a \\rb\\r\\n",
                "8-bit octets untouched             | \\u00e9t\\u00e9\\r\\n        | \\u00e9t\\u00e9\\r\\n",
            })
    void bodyCanonicalization(String name, String body, String canonical) throws Exception {
        assertEquals(sha256(unescape(canonical)), bodyHash(unescape(body)), name);
    }

    private static String unescape(String s) {
        return s.replace("\\r", "\r")
                .replace("\\n", "\n")
                .replace("\\t", "\t")
                .replace("\\u00e9", "\u00e9");
    }

    @Test
    void headerValuesKeepTheirOctets() {
        byte[] raw =
                "Subject: caf\u00c3\u00a9   ol\u00e9\r\n".getBytes(StandardCharsets.ISO_8859_1);
        HeaderField f =
                ((HeaderSection.Parsed.Fields) HeaderSection.parse(raw, raw.length))
                        .section()
                        .fields()
                        .get(0);
        assertArrayEquals(
                "subject:caf\u00c3\u00a9 ol\u00e9\r\n".getBytes(StandardCharsets.ISO_8859_1),
                f.relaxed());
    }

    @Test
    void aLineThatIsNoFieldMakesTheSectionMalformed() {
        byte[] b =
                "From: a@example.org\r\nthis is not a field\r\n"
                        .getBytes(StandardCharsets.US_ASCII);
        assertInstanceOf(HeaderSection.Parsed.Malformed.class, HeaderSection.parse(b, b.length));
        byte[] c = " folded: first\r\n".getBytes(StandardCharsets.US_ASCII);
        assertInstanceOf(HeaderSection.Parsed.Malformed.class, HeaderSection.parse(c, c.length));
    }

    @Test
    void overSignedFromAndRepeatedFieldsAreTakenBottomUp() {
        List<HeaderField> f =
                fields(
                        "Received: x\r\nTo: a@x\r\nFrom: f@x\r\nTo: b@x\r\nList-Id: <l.x>\r\nX-Other: y\r\n"
                                + "Subject: s\r\n");
        List<String> h = SignedHeaders.choose(f);
        assertEquals(List.of("from", "from", "to", "to", "subject", "list-id"), h);
        String input =
                new String(
                        SignedHeaders.hashInput(f, h, "DKIM-Signature: v=1;\r\n\tb=\r\n"),
                        StandardCharsets.US_ASCII);
        // RFC 6376 §5.4.2: the last To first; the second "from" finds nothing and adds nothing
        assertEquals(
                "from:f@x\r\nto:b@x\r\nto:a@x\r\nsubject:s\r\nlist-id:<l.x>\r\ndkim-signature:v=1; b=",
                input);
    }
}
