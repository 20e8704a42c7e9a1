package org.tlsrelay.core.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** IDNA2008 as UTS #46 processes it: where it differs from IDNA2003 ({@code java.net.IDN}), and what it refuses. */
class IdnaTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            bücher.example           | xn--bcher-kva.example
            Bücher.Example.          | xn--bcher-kva.example
            xn--bcher-kva.example    | xn--bcher-kva.example
            XN--BCHER-KVA.EXAMPLE    | xn--bcher-kva.example
            mail.ΑΒΓ.gr              | mail.xn--mxacd.gr
            العربية.example          | xn--mgbcd4a2b0d2b.example
            日本語。ＪＰ              | xn--wgv71a119e.jp
            faß.de                   | xn--fa-hia.de
            plain.EXAMPLE.com        | plain.example.com
            """)
    void convertsULabelsToALabels(String written, String ascii) {
        assertEquals(new Idna.Conversion.Ascii(ascii), Idna.toAscii(written));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            bücher..example          | an empty label
            bü_cher.example          | a character IDNA2008 does not allow in domain names
            -bücher.example          | a label begins or ends with a hyphen
            a\u200db.bücher.example  | a zero-width joiner or non-joiner out of its context (RFC 5892)
            ka\u00b7l.example        | a character out of its context (RFC 5892 Appendix A)
            xn--zz.example           | an A-label (xn--) that is not valid Punycode
            \u0301bücher.example     | a label begins with a combining mark
            aבּ.example               | right-to-left text that breaks the bidi rule (RFC 5893)
            ☃.example                | U+2603 (☃) is not allowed by IDNA2008 (RFC 5892)
            xn--n3h.example          | U+2603 (☃) is not allowed by IDNA2008 (RFC 5892)
            عـرب.example       | U+0640 (ـ) is not allowed by IDNA2008 (RFC 5892)
            """)
    void refusesWhatIsNoValidIdn(String written, String reason) {
        Idna.Conversion c = Idna.toAscii(written);
        Idna.Conversion.Invalid invalid = assertInstanceOf(Idna.Conversion.Invalid.class, c);
        assertEquals(reason, invalid.reason());
        assertTrue(
                invalid.describe().startsWith("\"" + written + "\" is not a valid"),
                invalid.describe());
    }

    @Test
    void plainAsciiNamesNeverReachIcu() {
        assertFalse(Idna.needsIdna("mx1.example.com"));
        assertFalse(Idna.needsIdna("xnx--a.example"));
        assertTrue(Idna.needsIdna("bücher.example"));
        assertTrue(Idna.needsIdna("mx.XN--bcher-kva.example"));
        // syntax is the caller's check for such names: they are only lower-cased
        assertEquals(new Idna.Conversion.Ascii("a_b.example"), Idna.toAscii("A_B.example"));
    }
}
