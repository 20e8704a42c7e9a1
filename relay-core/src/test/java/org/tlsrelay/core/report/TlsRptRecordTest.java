package org.tlsrelay.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** RFC 8460 §3: which TXT record counts and how its rua URIs are read. */
class TlsRptRecordTest {

    static TlsRptRecord.Found found(String... records) {
        return assertInstanceOf(TlsRptRecord.Found.class, TlsRptRecord.discover(List.of(records)));
    }

    @Test
    void readsMailtoAndHttpsUrisSeparatedByCommas() {
        TlsRptRecord.Found f =
                found("v=TLSRPTv1; rua=mailto:tlsrpt@example.com, https://reports.example.com/v1");
        assertEquals(2, f.rua().size());
        Rua.Mailto m = assertInstanceOf(Rua.Mailto.class, f.rua().get(0));
        assertEquals("tlsrpt@example.com", m.address());
        assertTrue(m.limit().isEmpty());
        Rua.Https h = assertInstanceOf(Rua.Https.class, f.rua().get(1));
        assertEquals("reports.example.com", h.target().getHost());
        assertEquals("https://reports.example.com/v1", h.uri());
    }

    @Test
    void readsTheSizeSuffixOfAMailtoUri() {
        TlsRptRecord.Found f =
                found(
                        "v=TLSRPTv1;rua=mailto:a@example.com!10m,mailto:b@example.com!512k,"
                                + "mailto:c@example.com!2000");
        assertEquals(10L << 20, ((Rua.Mailto) f.rua().get(0)).sizeLimit());
        assertEquals(512L << 10, ((Rua.Mailto) f.rua().get(1)).sizeLimit());
        assertEquals(2000L, ((Rua.Mailto) f.rua().get(2)).sizeLimit());
        assertEquals("a@example.com", ((Rua.Mailto) f.rua().get(0)).address());
        assertEquals("mailto:a@example.com!10m", f.rua().get(0).uri());
    }

    @Test
    void decodesPercentEncodedMailAddresses() {
        TlsRptRecord.Found f = found("v=TLSRPTv1; rua=mailto:tls%2Brpt@Example.COM");
        assertEquals("tls+rpt@example.com", ((Rua.Mailto) f.rua().get(0)).address());
    }

    @Test
    void ignoresInvalidUrisAndKeepsTheOthers() {
        TlsRptRecord.Found f =
                found(
                        "v=TLSRPTv1; rua=http://insecure.example/r,mailto:not-an-address,"
                                + "https://ok.example/r,ftp://x.example/,https://user@x.example/r");
        assertEquals(List.of("https://ok.example/r"), f.rua().stream().map(Rua::uri).toList());
        assertEquals(4, f.ignored().size(), f.ignored().toString());
    }

    @Test
    void ignoresUnknownFieldsAndATrailingSeparator() {
        TlsRptRecord.Found f = found("v=TLSRPTv1; ext=1; rua=mailto:r@example.com;");
        assertEquals(1, f.rua().size());
    }

    @Test
    void discardsRecordsThatDoNotBeginWithTheVersion() {
        TlsRptRecord.Found f =
                found("v=spf1 -all", "v=TLSRPTv1;rua=mailto:r@example.com", "some text");
        assertEquals("mailto:r@example.com", f.rua().get(0).uri());
    }

    @Test
    void moreThanOneTlsrptRecordMeansNoReporting() {
        TlsRptRecord.NotFound n =
                assertInstanceOf(
                        TlsRptRecord.NotFound.class,
                        TlsRptRecord.discover(
                                List.of(
                                        "v=TLSRPTv1;rua=mailto:a@example.com",
                                        "v=TLSRPTv1;rua=mailto:b@example.com")));
        assertTrue(n.reason().contains("exactly one"), n.reason());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "v=TLSRPTv1;", // no field at all
                "v=TLSRPTv1; ext=1", // no rua
                "v=TLSRPTv1; rua=ftp://x.example/", // no usable URI
                "v=TLSRPTv1; rua=mailto:r@example.com; junk", // a field that is not name=value
                "v=TLSRPTv1;; rua=mailto:r@example.com", // an empty field
                "v=TLSRPTv1 ; rua=mailto:r@example.com", // does not begin with "v=TLSRPTv1;"
                "v=TLSRPTv1; rua=mailto:r@example.com!0", // a size limit of 0 leaves no usable URI
            })
    void unusableRecordsMeanNoReporting(String record) {
        assertInstanceOf(TlsRptRecord.NotFound.class, TlsRptRecord.discover(List.of(record)));
    }

    @Test
    void noRecordsMeansNoReporting() {
        assertInstanceOf(TlsRptRecord.NotFound.class, TlsRptRecord.discover(List.of()));
    }

    @Test
    void theRecordLivesUnderSmtpTls() {
        assertEquals("_smtp._tls.example.com", TlsRptRecord.recordName("Example.COM."));
    }
}
