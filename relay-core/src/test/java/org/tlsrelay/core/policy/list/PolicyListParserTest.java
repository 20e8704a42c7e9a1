package org.tlsrelay.core.policy.list;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.PolicyMode;

class PolicyListParserTest {

    private static PolicyListDocument parse(String json) throws ListFormatException {
        return PolicyListParser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> problems(String json) {
        return assertThrows(ListFormatException.class, () -> parse(json)).problems().stream()
                .map(ListProblem::toString)
                .toList();
    }

    private static String list(String policies) {
        return list(
                "\"policy-aliases\": {\"a\": {\"mode\": \"enforce\", \"mxs\": [\"mx.a.example\"]}},",
                policies);
    }

    private static String list(String aliases, String policies) {
        return """
                {"timestamp": "2020-05-20T10:25:12.710034-07:00", "expires": "2020-06-03T10:25:12.710055-07:00",
                 "version": "0.1", %s "policies": {%s}}"""
                .formatted(aliases, policies);
    }

    @Test
    void realEffListParsesWithAllItsQuirks() throws Exception {
        PolicyListDocument doc = PolicyListParser.parse(TestKeys.eff("policy.json"));

        assertEquals(926, doc.entries().size());
        assertEquals(12, doc.aliasedCount());
        assertEquals(
                List.of("google", "icloud", "outlook", "yahoo"),
                List.copyOf(doc.aliases().keySet()));
        // microseconds and a -07:00 offset
        assertEquals(Instant.parse("2020-05-20T17:25:12.710034Z"), doc.timestamp());
        assertEquals(Instant.parse("2020-06-03T17:25:12.710055Z"), doc.expires());
        assertEquals("0.1", doc.version());
        assertEquals("Electronic Frontier Foundation https://eff.org", doc.author().orElseThrow());

        long enforce =
                doc.entries().values().stream()
                        .filter(e -> e instanceof ListEntry.Inline)
                        .filter(e -> e.policy().mode() == PolicyMode.ENFORCE)
                        .count();
        assertEquals(361, enforce);
        long suffixes =
                doc.entries().values().stream()
                        .filter(e -> e instanceof ListEntry.Inline)
                        .flatMap(e -> e.policy().mxs().stream())
                        .filter(p -> p instanceof MxPattern.Suffix)
                        .count();
        assertEquals(188, suffixes);

        // aliases followed: aol.com borrows yahoo's policy
        ListEntry aol = doc.entry("aol.com").orElseThrow();
        ListEntry.Aliased aliased = assertInstanceOf(ListEntry.Aliased.class, aol);
        assertEquals("yahoo", aliased.alias());
        assertTrue(aol.policy().allowsMx("mta7.am0.yahoodns.net"));

        // mixed-case MX entries compare case-insensitively; gmail lists a name and the same name as
        // a suffix
        ListEntry gmail = doc.entry("GMail.COM.").orElseThrow();
        assertTrue(gmail.policy().allowsMx("gmail-smtp-in.l.google.com"));
        assertTrue(gmail.policy().allowsMx("ALT1.gmail-smtp-in.l.google.com"));
        assertTrue(
                doc.entries().values().stream()
                        .flatMap(e -> e.policy().mxs().stream())
                        .anyMatch(p -> p.matches("aspmx.l.google.com")));
    }

    @Test
    void domainKeysMatchExactlyAndCaseInsensitively() throws Exception {
        PolicyListDocument doc =
                parse(
                        list(
                                "\"Example.COM\": {\"mode\": \"enforce\", \"mxs\": [\"mx.example.com\"]}"));
        assertTrue(doc.entry("example.com").isPresent());
        assertTrue(doc.entry("EXAMPLE.com.").isPresent());
        assertFalse(doc.entry("lists.example.com").isPresent());
        assertFalse(doc.entry("com").isPresent());
    }

    @ParameterizedTest(name = "{0} matches {1}: {2}")
    @CsvSource({
        ".yahoodns.net,        mta7.am0.yahoodns.net, true",
        ".yahoodns.net,        am0.yahoodns.net,      true",
        ".example.net,         example.net,           false",
        ".example.net,         badexample.net,        false",
        ".Example.NET,         MX.example.net.,       true",
        "mx.example.net,       mx.example.net,        true",
        "mx.example.net,       a.mx.example.net,      false",
        "Mail.covisp.net,      mail.COVISP.net,       true",
        // not host names: an empty label, a '*' label, an empty first label
        ".example.net,         mx..example.net,       false",
        ".example.net,         *.example.net,         false",
        ".example.net,         a.*.example.net,       false",
        ".example.net,         .example.net,          false",
    })
    void listPatternsMatchSuffixesAtAnyDepthAndNamesExactly(
            String pattern, String host, boolean matches) throws Exception {
        PolicyListDocument doc =
                parse(
                        list(
                                "\"d.example\": {\"mode\": \"enforce\", \"mxs\": [\""
                                        + pattern
                                        + "\"]}"));
        assertEquals(matches, doc.entry("d.example").orElseThrow().policy().allowsMx(host));
    }

    @Test
    void epochSecondsAreAcceptedForTimestampAndExpires() throws Exception {
        PolicyListDocument doc =
                parse(
                        """
                {"timestamp": 1589995512, "expires": 1591205112, "version": "0.1", "policies": {}}""");
        assertEquals(Instant.ofEpochSecond(1589995512), doc.timestamp());
        assertEquals(Instant.ofEpochSecond(1591205112), doc.expires());
        assertTrue(doc.author().isEmpty());
        assertTrue(doc.isExpiredAt(Instant.ofEpochSecond(1591205112)));
        assertFalse(doc.isExpiredAt(Instant.ofEpochSecond(1591205111)));
    }

    @Test
    void policyPointingAtAMissingAliasIsAnError() {
        assertEquals(
                List.of(
                        "$.policies[\"x.example\"].policy-alias: no alias \"b\" in $.policy-aliases"),
                problems(list("\"x.example\": {\"policy-alias\": \"b\"}")));
    }

    @Test
    void aliasPointingAtAnotherAliasIsAnError() {
        List<String> p =
                problems(
                        list(
                                """
                "policy-aliases": {"a": {"mode": "enforce", "mxs": ["mx.a.example"]}, "b": {"policy-alias": "a"}},""",
                                "\"x.example\": {\"policy-alias\": \"b\"}"));
        assertEquals(
                List.of(
                        "$.policy-aliases[\"b\"].policy-alias: an alias cannot point at another alias (\"a\"); give mode and "
                                + "mxs here",
                        "$.policies[\"x.example\"].policy-alias: no alias \"b\" in $.policy-aliases"),
                p);
    }

    @Test
    void aliasReferenceCannotCarryOtherFields() {
        assertEquals(
                List.of(
                        "$.policies[\"x.example\"].mode: not allowed beside policy-alias (an entry is either an "
                                + "alias reference or mode and mxs)"),
                problems(list("\"x.example\": {\"policy-alias\": \"a\", \"mode\": \"enforce\"}")));
    }

    @Test
    void badMxEntryIsReportedWithItsJsonPath() {
        assertEquals(
                List.of(
                        "$.policies[\"example.com\"].mxs[2]: \"bad..name\" is not a host name or .suffix"),
                problems(
                        list(
                                "\"example.com\": {\"mode\": \"enforce\", \"mxs\": [\"a.example\", \".b.example\", "
                                        + "\"bad..name\"]}")));
        assertEquals(
                List.of(
                        "$.policies[\"example.com\"].mxs[0]: \"*.example.net\": list patterns use a leading dot "
                                + "(.example.net), not the MTA-STS \"*.\""),
                problems(
                        list(
                                "\"example.com\": {\"mode\": \"enforce\", \"mxs\": [\"*.example.net\"]}")));
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        List<String> p =
                problems(
                        """
                {"timestamp": "2020-05-20 10:25:12", "expires": 12.5, "version": "1.0", "extra": true,
                 "policies": {"a.example": {"mode": "strict", "mxs": []},
                              "b.example": {"mode": "enforce", "mxs": "mx.b.example", "pin": "x"},
                              "A.example": {"mode": "testing", "mxs": ["mx.a.example"]},
                              "no_dot": {"mode": "testing", "mxs": ["x.example"]}}}""");
        assertEquals(
                List.of(
                        "$.extra: unknown field (allowed: timestamp, expires, version, author, policy-aliases, policies)",
                        "$.timestamp: \"2020-05-20 10:25:12\" is not an RFC 3339 date-time with offset "
                                + "(e.g. 2020-05-20T10:25:12.710034-07:00)",
                        "$.expires: 12.5 is not a whole number of epoch seconds",
                        "$.version: \"1.0\" is not supported (only \"0.1\")",
                        "$.policies[\"a.example\"].mode: \"strict\" is not a mode (enforce or testing)",
                        "$.policies[\"a.example\"].mxs: must name at least one MX host or .suffix",
                        "$.policies[\"b.example\"].pin: unknown field (allowed: mode, mxs, policy-alias)",
                        "$.policies[\"b.example\"].mxs: must be an array of host names, not a string",
                        "$.policies[\"A.example\"]: same domain as \"a.example\" (domain names are case-insensitive)",
                        "$.policies[\"no_dot\"]: not a mail domain name (ASCII, e.g. example.com; IDNs as xn-- A-labels)"),
                p);
    }

    @Test
    void missingRequiredFieldsAreNamed() {
        assertEquals(
                List.of(
                        "$.timestamp: is required",
                        "$.expires: is required",
                        "$.version: is required",
                        "$.policies: is required"),
                problems("{}"));
        assertEquals(List.of("$: must be a JSON object, not an array"), problems("[]"));
        assertEquals(List.of("$: empty document"), problems(""));
    }

    @Test
    void anExpiresNotLaterThanTheTimestampIsAWarningNotAnError() throws Exception {
        // the 0.1 format does not order them; EFF's own example list has both equal
        PolicyListDocument doc =
                PolicyListParser.parse(
                        """
                        {"timestamp": "2020-05-20T00:00:00Z", "expires": "2020-05-19T00:00:00Z", "version": "0.1",
                         "policies": {}}"""
                                .getBytes(StandardCharsets.UTF_8));
        assertEquals(
                List.of(
                        "$.expires: 2020-05-19T00:00:00Z is not later than timestamp 2020-05-20T00:00:00Z: "
                                + "the list is expired from the start"),
                doc.warnings());
        assertTrue(doc.isExpiredAt(Instant.parse("2020-05-20T00:00:00Z")));
        PolicyListDocument equal =
                PolicyListParser.parse(
                        """
                        {"timestamp": 1589995512, "expires": 1589995512, "version": "0.1", "policies": {}}"""
                                .getBytes(StandardCharsets.UTF_8));
        assertEquals(1, equal.warnings().size(), equal.warnings().toString());
    }

    @Test
    void syntaxErrorsAndDuplicateKeysCarryPathAndLine() {
        List<String> dup =
                problems(
                        """
                {"timestamp": 1, "expires": 2, "version": "0.1", "policies": {
                  "a.example": {"mode": "enforce", "mxs": ["x.example"]},
                  "a.example": {"mode": "testing", "mxs": ["x.example"]}}}""");
        assertEquals(1, dup.size());
        assertTrue(
                dup.get(0).startsWith("$.policies[\"a.example\"]: Duplicate field 'a.example'"),
                dup.get(0));
        assertTrue(dup.get(0).endsWith("(line 3, column 14)"), dup.get(0));

        List<String> syntax =
                problems("{\"timestamp\": 1, \"policies\": {\"a.example\": {\"mxs\": [\"x\",]}}}");
        assertEquals(1, syntax.size());
        assertTrue(syntax.get(0).startsWith("$.policies[\"a.example\"].mxs[1]: "), syntax.get(0));

        List<String> trailing =
                problems(
                        "{\"timestamp\": 1, \"expires\": 2, \"version\": \"0.1\", \"policies\": {}} {}");
        assertEquals(1, trailing.size());
        assertTrue(trailing.get(0).contains("Trailing token"), trailing.get(0));
    }
}
