package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MtaStsLintCommandTest {
    static final String VALID =
            "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\n"
                    + "max_age: 604800\n";

    @TempDir Path dir;

    Path file(String content) throws Exception {
        return Files.writeString(dir.resolve("mta-sts.txt"), content);
    }

    static JsonNode json(CliRun r) throws Exception {
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void aValidPolicyPrintsItsFieldsAndExitsZero() throws Exception {
        CliRun r = CliRun.run("mta-sts", "lint", file(VALID).toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode j = json(r);
        assertTrue(j.get("valid").asBoolean());
        assertEquals("STSv1", j.get("version").asText());
        assertEquals("enforce", j.get("mode").asText());
        assertEquals("mx1.example.com", j.get("mx").get(0).asText());
        assertEquals("*.example.net", j.get("mx").get(1).asText());
        assertEquals(604800, j.get("max_age").asLong());
        assertEquals(0, j.get("errors").size());
        assertFalse(j.has("mx_allowed"));
    }

    @Test
    void anInvalidPolicyListsLineNumberedErrorsAndExitsOne() throws Exception {
        CliRun r =
                CliRun.run(
                        "mta-sts",
                        "lint",
                        file("version: STSv1\nmode: enforcing\nmx: mx1.example.com\n").toString());
        assertEquals(1, r.exit());
        JsonNode j = json(r);
        assertFalse(j.get("valid").asBoolean());
        assertTrue(j.get("mode").isNull());
        assertTrue(j.get("max_age").isNull());
        assertEquals(
                "line 2: mode: \"enforcing\" is not enforce, testing or none",
                j.get("errors").get(0).asText());
        assertTrue(j.get("errors").get(1).asText().startsWith("max_age: missing"));
        assertEquals(
                2,
                j.get("errors").size(),
                "the bad mode line is reported once, not also as missing");
    }

    @Test
    void checkMxSaysWhetherTheHostIsAllowed() throws Exception {
        Path f = file(VALID);
        CliRun allowed =
                CliRun.run("mta-sts", "lint", f.toString(), "--check-mx", "MX7.example.net");
        assertEquals(0, allowed.exit());
        assertTrue(json(allowed).get("mx_allowed").asBoolean());
        CliRun exact = CliRun.run("mta-sts", "lint", f.toString(), "--check-mx", "mx1.example.com");
        assertTrue(json(exact).get("mx_allowed").asBoolean());
        CliRun deeper =
                CliRun.run("mta-sts", "lint", f.toString(), "--check-mx", "a.b.example.net");
        assertEquals(1, deeper.exit());
        assertFalse(json(deeper).get("mx_allowed").asBoolean());
        assertTrue(json(deeper).get("valid").asBoolean());
    }

    @Test
    void modeNoneAllowsAnyMx() throws Exception {
        CliRun r =
                CliRun.run(
                        "mta-sts",
                        "lint",
                        file("version: STSv1\nmode: none\nmax_age: 86400\n").toString(),
                        "--check-mx",
                        "anything.example");
        assertEquals(0, r.exit());
        assertTrue(json(r).get("mx_allowed").asBoolean());
    }

    @Test
    void anOversizedFileIsInvalid() throws Exception {
        CliRun r =
                CliRun.run(
                        "mta-sts",
                        "lint",
                        file(VALID + "x: " + "a".repeat(70_000) + "\n").toString());
        assertEquals(1, r.exit());
        assertTrue(json(r).get("errors").get(0).asText().contains("more than 65536 bytes"));
    }

    @Test
    void aMissingFileOrABadHostIsAUsageError() throws Exception {
        CliRun missing = CliRun.run("mta-sts", "lint", dir.resolve("nope.txt").toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("no such file"), missing.err());
        CliRun badHost =
                CliRun.run("mta-sts", "lint", file(VALID).toString(), "--check-mx", "not a host");
        assertEquals(2, badHost.exit());
        assertEquals(2, CliRun.run("mta-sts", "lint").exit());
    }
}
