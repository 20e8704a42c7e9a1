package org.tlsrelay.core.policy.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.tlsrelay.core.policy.PolicyMode;

class PolicyParserTest {
    private static final String RFC_EXAMPLE =
            """
            version: STSv1
            mode: enforce
            mx: mail.example.com
            mx: *.example.net
            mx: backupmx.example.com
            max_age: 604800
            """;

    private static MtaStsPolicy valid(String text) {
        PolicyParse p = PolicyParser.parse(text);
        assertTrue(p.valid(), () -> "expected valid, got " + p.errors());
        return p.policy().orElseThrow();
    }

    private static List<String> errors(String text) {
        PolicyParse p = PolicyParser.parse(text);
        assertFalse(p.valid(), "expected errors");
        assertTrue(p.policy().isEmpty());
        return p.errors();
    }

    @Test
    void parsesTheRfcExample() {
        MtaStsPolicy p = valid(RFC_EXAMPLE);
        assertEquals(PolicyMode.ENFORCE, p.mode());
        assertEquals(604800, p.maxAgeSeconds());
        assertEquals(
                List.of("mail.example.com", "*.example.net", "backupmx.example.com"),
                p.mx().stream().map(m -> m.text()).toList());
        assertTrue(p.asPolicy().allowsMx("mx1.example.net"));
        assertFalse(
                p.asPolicy().allowsMx("a.mx1.example.net"),
                "a wildcard covers one label only (§4.1)");
        assertEquals(RFC_EXAMPLE, p.text());
        assertEquals(6, p.lines().size());
        assertEquals("version: STSv1", p.lines().get(0));
    }

    @Test
    void acceptsCrlfLfMixedAndNoFinalTerminator() {
        assertEquals(
                PolicyMode.TESTING,
                valid("version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 86400\r\n")
                        .mode());
        MtaStsPolicy mixed =
                valid("version: STSv1\nmode: testing\r\nmx: mx.example.com\nmax_age: 86400");
        assertEquals(
                List.of("version: STSv1", "mode: testing", "mx: mx.example.com", "max_age: 86400"),
                mixed.lines());
    }

    @Test
    void acceptsNoBlankOrSeveralBlanksAfterTheColonAndTrailingBlanks() {
        MtaStsPolicy p =
                valid("version:STSv1\nmode:\t \tenforce  \nmx:mx.example.com\t\nmax_age:   1\n");
        assertEquals(PolicyMode.ENFORCE, p.mode());
        assertEquals(1, p.maxAgeSeconds());
    }

    @Test
    void modeNoneNeedsNoMx() {
        MtaStsPolicy p = valid("version: STSv1\nmode: none\nmax_age: 86400\n");
        assertEquals(PolicyMode.NONE, p.mode());
        assertTrue(p.mx().isEmpty());
    }

    @Test
    void ignoresUnknownKeysIncludingKeysInTheWrongCaseButWarns() {
        PolicyParse p =
                PolicyParser.parse(
                        "version: STSv1\nmode: testing\nMode: enforce\nmx: mx.example.com\n"
                                + "max_age: 86400\nx-comment: any text, even with blanks and ünïcödé\n");
        assertTrue(p.valid(), p.errors()::toString);
        assertEquals(PolicyMode.TESTING, p.mode().orElseThrow());
        assertTrue(
                p.warnings().get(0).startsWith("line 3: \"Mode\" is not \"mode\""),
                p.warnings()::toString);
    }

    @Test
    void theFirstOccurrenceOfANonMxKeyWinsAndEveryMxCounts() {
        PolicyParse p =
                PolicyParser.parse(
                        "version: STSv1\nmode: testing\nmode: enforce\nmax_age: 10\n"
                                + "max_age: 20\nmx: a.example.com\nmx: b.example.com\n");
        assertTrue(p.valid(), p.errors()::toString);
        assertEquals(PolicyMode.TESTING, p.mode().orElseThrow());
        assertEquals(10L, p.maxAge().orElseThrow());
        assertEquals(List.of("a.example.com", "b.example.com"), p.mx());
        assertTrue(
                p.warnings().contains("line 3: mode repeated; the first (line 2) applies"),
                p.warnings()::toString);
    }

    @Test
    void clampsMaxAgeAboveOneYear() {
        PolicyParse p =
                PolicyParser.parse(
                        "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 9999999999\n");
        assertTrue(p.valid());
        assertEquals(31557600L, p.maxAge().orElseThrow());
        assertEquals(31557600L, p.policy().orElseThrow().maxAgeSeconds());
        assertTrue(p.warnings().get(0).contains("31557600"));
        assertEquals(0, valid("version: STSv1\nmode: none\nmax_age: 0\n").maxAgeSeconds());
        assertEquals(
                31557600, valid("version: STSv1\nmode: none\nmax_age: 31557600\n").maxAgeSeconds());
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "version: STSv2\\nmode: enforce\\nmx: mx.example.com\\nmax_age: 1|line 1: version: \"STSv2\" is not STSv1",
                "version: stsv1\\nmode: enforce\\nmx: mx.example.com\\nmax_age: 1|line 1: version: \"stsv1\" is not STSv1",
                "version: STSv1\\nmode: Enforce\\nmx: mx.example.com\\nmax_age: 1|line 2: mode: \"Enforce\" is not enforce, testing or none",
                "version: STSv1\\nmode: enforcing\\nmx: mx.example.com\\nmax_age: 1|line 2: mode: \"enforcing\" is not enforce, testing or none",
                "version: STSv1\\nmode: enforce\\nmx: mx.example.com\\nmax_age: -1|line 4: max_age: \"-1\" is not a number of seconds (1 to 10 digits)",
                "version: STSv1\\nmode: enforce\\nmx: mx.example.com\\nmax_age: 12345678901|line 4: max_age: \"12345678901\" is not a number of seconds (1 to 10 digits)",
                "version: STSv1\\nmode: enforce\\nmx: mx.example.com\\nmax_age: 1d|line 4: max_age: \"1d\" is not a number of seconds (1 to 10 digits)",
                "version: STSv1\\nmode: enforce\\nmx: mx.*.example.com\\nmax_age: 1|line 3: mx: \"mx.*.example.com\" is not a host name or a *.domain wildcard",
                "version: STSv1\\nmode: enforce\\nmx: *mx.example.com\\nmax_age: 1|line 3: mx: \"*mx.example.com\" is not a host name or a *.domain wildcard",
                "version: STSv1\\nmode: enforce\\nmx: *.*.example.com\\nmax_age: 1|line 3: mx: \"*.*.example.com\" is not a host name or a *.domain wildcard",
                "version: STSv1\\nmode: enforce\\nmx: *\\nmax_age: 1|line 3: mx: \"*\" is not a host name or a *.domain wildcard",
                "version: STSv1\\nmode: enforce\\nmx: mx.example.com.\\nmax_age: 1|line 3: mx: \"mx.example.com.\" is not a host name or a *.domain wildcard",
                "version: STSv1\\nmode: enforce\\nmx: mx_1.example.com\\nmax_age: 1|line 3: mx: \"mx_1.example.com\" is not a host name or a *.domain wildcard",
                "version: STSv1\\nmode: enforce\\nmx: -mx.example.com\\nmax_age: 1|line 3: mx: \"-mx.example.com\" is not a host name or a *.domain wildcard",
                "version: STSv1\\nmode: enforce\\nmx: mx.example.com extra\\nmax_age: 1|line 3: mx: \"mx.example.com extra\" is not a host name or a *.domain wildcard",
                "version: STSv1\\nmode: enforce\\nmx:\\nmax_age: 1|line 3: mx: no value",
                "version: STSv1\\nmode : enforce\\nmx: mx.example.com\\nmax_age: 1|line 2: \"mode : enforce\" is not a \"key: value\" line",
                "version: STSv1\\n mode: enforce\\nmx: mx.example.com\\nmax_age: 1|line 2: \" mode: enforce\" is not a \"key: value\" line",
                "version: STSv1\\nmode enforce\\nmx: mx.example.com\\nmax_age: 1|line 2: \"mode enforce\" is not a \"key: value\" line",
                "version: STSv1\\n\\nmode: enforce\\nmx: mx.example.com\\nmax_age: 1|line 2: empty line (the policy has one \"key: value\" per line, no blank lines)",
                "version: STSv1\\nmode: enforce\\nmx: mx.example.com\\nmax_age: 1\\n\\n|line 5: empty line (the policy has one \"key: value\" per line, no blank lines)",
                "version: STSv1\\rmode: enforce\\nmx: mx.example.com\\nmax_age: 1|line 1: control character U+000D at column 15",
                "version: STSv1\\nmode: enforce\\nmx: mx.example.com\\nmax_age: 1\\nx-ext: a\u0001b|line 5: control character U+0001 at column 9",
                "version: STSv1\\nmode: enforce\\nmx: mx.example.com\\nmax_age: 1\\n"
                        + "x234567890123456789012345678901234: v|line 5: \"x234567890123456789012345678901234: v\" is not a \"key: value\" line",
            })
    void reportsEachBrokenRuleWithItsLine(String escaped, String expected) {
        String text = escaped.replace("\\n", "\n").replace("\\r", "\r");
        assertEquals(expected, errors(text).get(0));
    }

    @Test
    void reportsMissingKeys() {
        assertEquals(
                List.of(
                        "version: missing; a policy must say \"version: STSv1\"",
                        "mode: missing (enforce, testing or none)",
                        "max_age: missing (seconds the policy may be cached)"),
                errors("x: y\n"));
        assertEquals(
                List.of("mx: missing; mode enforce needs at least one mx line"),
                errors("version: STSv1\nmode: enforce\nmax_age: 1\n"));
        assertEquals(
                List.of("mx: missing; mode testing needs at least one mx line"),
                errors("version: STSv1\nmode: testing\nmax_age: 1\n"));
        assertEquals(
                List.of(
                        "mode: missing (enforce, testing or none) (line 2 has \"MODE\"; keys are case-sensitive)"),
                errors("version: STSv1\nMODE: none\nmax_age: 1\n"));
    }

    @Test
    void collectsEveryErrorInLineOrder() {
        List<String> e = errors("version: STSv2\nmode: on\nmx: bad..name\nmax_age: x\n");
        assertEquals(4, e.size(), e::toString);
        assertTrue(
                e.get(0).startsWith("line 1:")
                        && e.get(1).startsWith("line 2:")
                        && e.get(2).startsWith("line 3:")
                        && e.get(3).startsWith("line 4:"),
                e::toString);
    }

    @Test
    void rejectsInvalidUtf8EmptyAndOversizedPolicies() {
        byte[] bad =
                "version: STSv1\nmode: none\nmax_age: 1\nx: \u00e9\n"
                        .getBytes(StandardCharsets.ISO_8859_1);
        assertEquals(List.of("line 4: not valid UTF-8"), PolicyParser.parse(bad).errors());
        assertEquals(List.of("the policy is empty"), PolicyParser.parse(new byte[0]).errors());
        byte[] big =
                ("version: STSv1\nmode: none\nmax_age: 1\nx: " + "a".repeat(70_000) + "\n")
                        .getBytes(StandardCharsets.US_ASCII);
        assertTrue(PolicyParser.parse(big).errors().get(0).contains("more than 65536 bytes"));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "mx.example.com",
                "MX.Example.COM",
                "*.example.com",
                "a-b.c-d.example",
                "localhost",
                "xn--bcher-kva.example"
            })
    void acceptsMxHostNamesAndWildcards(String mx) {
        valid("version: STSv1\nmode: enforce\nmx: " + mx + "\nmax_age: 1\n");
    }

    @Test
    void keepsFieldsForLintingEvenWhenInvalid() {
        PolicyParse p = PolicyParser.parse("version: STSv1\nmode: enforce\nmx: mx.example.com\n");
        assertFalse(p.valid());
        assertEquals("STSv1", p.version().orElseThrow());
        assertEquals(PolicyMode.ENFORCE, p.mode().orElseThrow());
        assertEquals(List.of("mx.example.com"), p.mx());
        assertTrue(p.maxAge().isEmpty());
    }
}
