package org.tlsrelay.core.policy.list;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class PostfixExportTest {
    private static final Instant TIMESTAMP = Instant.parse("2024-01-01T00:00:00Z");
    private static final Instant EXPIRES = Instant.parse("2024-01-15T00:00:00Z");
    private static final Instant DURING = Instant.parse("2024-01-02T00:00:00Z");

    private static PolicyListDocument small() throws Exception {
        return PolicyListParser.parse(
                TestKeys.list(
                        TIMESTAMP,
                        EXPIRES,
                        """
                "example.com": { "mode": "enforce", "mxs": ["MX1.example.com", ".Example.NET."] },
                "example.org": { "mode": "testing", "mxs": ["mail.example.org"] },
                "customer.example": { "policy-alias": "hosted" }"""));
    }

    @Test
    void enforceEntriesAreSecureWithMatchListAndTestingEntriesCommentedOut() throws Exception {
        assertEquals(
                """
                # Postfix smtp_tls_policy_maps table from policy list partners
                # timestamp 2024-01-01T00:00:00Z, expires 2024-01-15T00:00:00Z: regenerate before then
                # testing entries are commented out
                example.com secure match=mx1.example.com:.example.net
                # testing: example.org secure match=mail.example.org
                customer.example secure match=.mx.hosted.example
                """,
                PostfixExport.render(small(), "partners", DURING, false));
    }

    @Test
    void earlyAdopterEnforcesTestingEntriesToo() throws Exception {
        assertEquals(
                """
                # Postfix smtp_tls_policy_maps table from policy list partners
                # timestamp 2024-01-01T00:00:00Z, expires 2024-01-15T00:00:00Z: regenerate before then
                # testing entries are enforced (--early-adopter)
                example.com secure match=mx1.example.com:.example.net
                example.org secure match=mail.example.org
                customer.example secure match=.mx.hosted.example
                """,
                PostfixExport.render(small(), "partners", DURING, true));
    }

    @Test
    void expiredListGivesASingleCommentLine() throws Exception {
        assertEquals(
                "# tlsrelay: policy list partners expired at 2024-01-15T00:00:00Z; no TLS policies exported "
                        + "(opportunistic TLS)\n",
                PostfixExport.render(small(), "partners", EXPIRES, true));
    }

    @Test
    void realEffListExportsOneLinePerDomain() throws Exception {
        PolicyListDocument eff = PolicyListParser.parse(TestKeys.eff("policy.json"));
        Instant valid = Instant.parse("2020-05-25T00:00:00Z");

        String table = PostfixExport.render(eff, "eff", valid, false);
        List<String> lines = table.lines().toList();
        assertEquals(3 + 926, lines.size());
        assertEquals(361, lines.stream().filter(l -> !l.startsWith("#")).count());
        assertTrue(lines.contains("comcast.net secure match=mx1.comcast.net:mx2.comcast.net"));
        assertTrue(lines.contains("# testing: eff.org secure match=.eff.org"));
        assertTrue(
                lines.contains(
                        "# testing: aol.com secure match=.am0.yahoodns.net:mta5.am0.yahoodns.net:"
                                + "mta6.am0.yahoodns.net:mta7.am0.yahoodns.net"));
        assertEquals(new String(TestKeys.eff("postfix-golden.txt"), StandardCharsets.UTF_8), table);

        List<String> early = PostfixExport.render(eff, "eff", valid, true).lines().toList();
        assertEquals(926, early.stream().filter(l -> !l.startsWith("#")).count());
        assertTrue(early.contains("eff.org secure match=.eff.org"));

        assertEquals(
                1,
                PostfixExport.render(eff, "eff", Instant.parse("2020-06-04T00:00:00Z"), false)
                        .lines()
                        .count());
    }
}
