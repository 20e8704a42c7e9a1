package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.policy.list.TestKeys;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestHttpsServer;
import org.tlsrelay.testkit.TestHttpsServer.Response;

/** {@code tlsrelay policy-list ...} through {@link Main#execute}: exit codes and what is printed. */
class PolicyListCommandTest {
    private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

    private static TestKeys publisher;
    private static TestCa ca;
    private static TestHttpsServer server;

    @TempDir Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        publisher = TestKeys.generate("Partners List <lists@publisher.example>", "");
        ca = TestCa.create("cli test CA");
        server = TestHttpsServer.start(ca.issue("127.0.0.1").serverContext());
    }

    @AfterAll
    static void tearDown() {
        server.close();
    }

    record Run(int code, String out, String err) {
        String all() {
            return out + err;
        }
    }

    private static synchronized Run run(String... args) {
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.execute(args);
            return new Run(
                    code,
                    out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }

    private Path eff(String name) throws Exception {
        return TestKeys.copyEff(name, tmp);
    }

    private String s(Path p) {
        return p.toString();
    }

    private Path validList(String name) throws Exception {
        return Files.write(
                tmp.resolve(name),
                TestKeys.list(
                        NOW.minus(Duration.ofHours(1)),
                        NOW.plus(Duration.ofDays(14)),
                        TestKeys.POLICIES));
    }

    // ---- verify ----

    @Test
    void verifyAcceptsTheRealEffListAndSaysWhoSignedWhen() throws Exception {
        Run r =
                run(
                        "policy-list",
                        "verify",
                        "--key",
                        s(eff("eff-starttls-policy-pubkey.asc")),
                        s(eff("policy.json")),
                        s(eff("policy.json.asc")));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("good signature"), r.out());
        assertTrue(r.out().contains("STARTTLS Everywhere Team <starttls-policy@eff.org>"), r.out());
        assertTrue(
                r.out()
                        .contains(
                                "2C319DE47066C200DFDC4D6B842AEA40C5BCD6E1 (signing subkey of "
                                        + "B693F33372E965D76D55368616EEA65D03326C9D)"),
                r.out());
        assertTrue(r.out().contains("2020-05-20T17:25:12Z"), r.out());
    }

    @Test
    void verifyRefusesAOneByteChangeAsBadSignature() throws Exception {
        Path policy = eff("policy.json");
        String text = Files.readString(policy);
        Files.writeString(
                policy, text.replaceFirst("\"enforce\"", "\"testing\"")); // still valid JSON
        Run r =
                run(
                        "policy-list",
                        "verify",
                        "--key",
                        s(eff("eff-starttls-policy-pubkey.asc")),
                        s(policy),
                        s(eff("policy.json.asc")));
        assertEquals(1, r.code(), r.all());
        assertTrue(r.out().contains("NOT valid: bad signature"), r.out());
    }

    @Test
    void verifyNamesUnknownKeyAndMalformedInput() throws Exception {
        Path key = publisher.writePublic(tmp.resolve("other.asc"));
        Run unknown =
                run(
                        "policy-list",
                        "verify",
                        "--key",
                        s(key),
                        s(eff("policy.json")),
                        s(eff("policy.json.asc")));
        assertEquals(1, unknown.code(), unknown.all());
        assertTrue(unknown.out().contains("NOT valid: unknown key"), unknown.out());

        Path garbage = Files.writeString(tmp.resolve("garbage.asc"), "not a signature\n");
        Run malformed =
                run(
                        "policy-list",
                        "verify",
                        "--key",
                        s(eff("eff-starttls-policy-pubkey.asc")),
                        s(eff("policy.json")),
                        s(garbage));
        assertEquals(1, malformed.code(), malformed.all());
        assertTrue(malformed.out().contains("NOT valid: malformed"), malformed.out());

        Run badKey =
                run(
                        "policy-list",
                        "verify",
                        "--key",
                        s(garbage),
                        s(eff("policy.json")),
                        s(eff("policy.json.asc")));
        assertEquals(1, badKey.code(), badKey.all());
        assertTrue(badKey.out().contains("malformed"), badKey.out());
    }

    @Test
    void verifyUsageErrorsExitTwo() throws Exception {
        assertEquals(
                2,
                run("policy-list", "verify", s(eff("policy.json")), s(eff("policy.json.asc")))
                        .code());
        Run missing =
                run(
                        "policy-list",
                        "verify",
                        "--key",
                        s(eff("eff-starttls-policy-pubkey.asc")),
                        s(eff("policy.json")),
                        s(tmp.resolve("nope.asc")));
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("no such file"), missing.err());
    }

    // ---- lint ----

    @Test
    void lintAcceptsTheRealListAndSaysItExpired() throws Exception {
        Run r = run("policy-list", "lint", s(eff("policy.json")));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("valid policy list"), r.out());
        assertTrue(
                r.out().contains("926 (361 enforce, 565 testing; 12 through 4 aliases)"), r.out());
        assertTrue(r.out().contains("2020-06-03T17:25:12.710055Z -- EXPIRED"), r.out());
    }

    @Test
    void lintCheckSaysWhetherAndByWhichPatternAnMxIsAllowed() throws Exception {
        Path policy = eff("policy.json");
        Run allowed =
                run(
                        "policy-list",
                        "lint",
                        s(policy),
                        "--check",
                        "yahoo.com",
                        "mta7.am0.yahoodns.net");
        assertEquals(0, allowed.code(), allowed.all());
        assertTrue(
                allowed.out()
                        .contains(
                                "mta7.am0.yahoodns.net is allowed for yahoo.com by suffix pattern "
                                        + "\".am0.yahoodns.net\" (mode testing, through alias \"yahoo\")"),
                allowed.out());

        Run exact =
                run("policy-list", "lint", s(policy), "--check", "Comcast.NET", "MX1.comcast.net");
        assertEquals(0, exact.code(), exact.all());
        assertTrue(
                exact.out()
                        .contains(
                                "allowed for comcast.net by exact name \"mx1.comcast.net\" (mode enforce)"),
                exact.out());

        Run no = run("policy-list", "lint", s(policy), "--check", "eff.org", "eff.org");
        assertEquals(1, no.code(), no.all());
        assertTrue(
                no.out()
                        .contains(
                                "eff.org is NOT allowed for eff.org (mode testing; allowed: .eff.org)"),
                no.out());

        Run unlisted =
                run(
                        "policy-list",
                        "lint",
                        s(policy),
                        "--check",
                        "unlisted.example",
                        "mx.unlisted.example");
        assertEquals(1, unlisted.code(), unlisted.all());
        assertTrue(unlisted.out().contains("unlisted.example is NOT listed"), unlisted.out());
    }

    @Test
    void lintCheckRefusesWhatIsNoHostName() throws Exception {
        Path policy = eff("policy.json");
        for (String host : List.of("mta7..yahoodns.net", "*.am0.yahoodns.net")) {
            Run r = run("policy-list", "lint", s(policy), "--check", "yahoo.com", host);
            assertEquals(2, r.code(), r.all());
            assertTrue(r.err().contains("--check: \"" + host + "\" is not a host name"), r.all());
            assertFalse(r.out().contains("is allowed"), r.all());
        }
    }

    @Test
    void lintWarnsOfAnExpiresNotLaterThanTheTimestampAndCallsTheListValid() throws Exception {
        Path same =
                Files.writeString(
                        tmp.resolve("same.json"),
                        """
                {"timestamp": "2024-01-01T00:00:00Z", "expires": "2024-01-01T00:00:00Z", "version": "0.1",
                 "policies": {"x.example": {"mode": "enforce", "mxs": ["mx.x.example"]}}}""");
        Run r = run("policy-list", "lint", s(same));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("valid policy list"), r.out());
        assertFalse(r.out().contains("INVALID"), r.out());
        assertTrue(
                r.out()
                        .contains(
                                "warning: $.expires: 2024-01-01T00:00:00Z is not later than timestamp"
                                        + " 2024-01-01T00:00:00Z"),
                r.out());
        assertTrue(r.out().contains("EXPIRED"), r.out());
    }

    @Test
    void lintPrintsEveryProblemWithItsJsonPath() throws Exception {
        Path bad =
                Files.writeString(
                        tmp.resolve("bad.json"),
                        """
                {"timestamp": "2024-01-01T00:00:00Z", "expires": "2024-01-15T00:00:00Z", "version": "0.1",
                 "policy-aliases": {"a": {"policy-alias": "b"}},
                 "policies": {"x.example": {"policy-alias": "a"},
                              "y.example": {"mode": "enforce", "mxs": ["ok.example", "also.ok", "not valid"]}}}""");
        Run r = run("policy-list", "lint", s(bad));
        assertEquals(1, r.code(), r.all());
        assertTrue(r.out().contains("INVALID policy list, 3 problems"), r.out());
        assertTrue(
                r.out()
                        .contains(
                                "bad.json: $.policy-aliases[\"a\"].policy-alias: an alias cannot point at "
                                        + "another alias"),
                r.out());
        assertTrue(
                r.out()
                        .contains(
                                "bad.json: $.policies[\"x.example\"].policy-alias: no alias \"a\""),
                r.out());
        assertTrue(
                r.out()
                        .contains(
                                "bad.json: $.policies[\"y.example\"].mxs[2]: \"not valid\" is not a host name"),
                r.out());
    }

    // ---- sign ----

    @Test
    void signWritesADetachedSignatureThatVerifies() throws Exception {
        Path policy = validList("policy.json");
        Path secret = publisher.writeSecret(tmp.resolve("secret.asc"));

        Run signed = run("policy-list", "sign", "--secret-key", s(secret), s(policy));
        assertEquals(0, signed.code(), signed.all());
        Path asc = tmp.resolve("policy.json.asc");
        assertTrue(Files.readString(asc).startsWith("-----BEGIN PGP SIGNATURE-----"));
        assertTrue(
                signed.out().contains("Wrote " + asc + ": signed by Partners List"), signed.out());

        Run verified =
                run(
                        "policy-list",
                        "verify",
                        "--key",
                        s(publisher.writePublic(tmp.resolve("pub.asc"))),
                        s(policy),
                        s(asc));
        assertEquals(0, verified.code(), verified.all());
        assertTrue(
                verified.out().contains("Partners List <lists@publisher.example>"), verified.out());
    }

    @Test
    void signWithAProtectedKeyReadsThePassphraseFile() throws Exception {
        TestKeys guarded = TestKeys.generate("Guarded <g@publisher.example>", "s3cret phrase");
        Path secret = guarded.writeSecret(tmp.resolve("secret.asc"));
        Path policy = validList("policy.json");

        Run without = run("policy-list", "sign", "--secret-key", s(secret), s(policy));
        assertEquals(1, without.code(), without.all());
        assertTrue(without.err().contains("protected by a passphrase"), without.err());
        assertFalse(Files.exists(tmp.resolve("policy.json.asc")));

        Path wrong = Files.writeString(tmp.resolve("wrong.txt"), "nope\n");
        Run wrongRun =
                run(
                        "policy-list",
                        "sign",
                        "--secret-key",
                        s(secret),
                        "--passphrase-file",
                        s(wrong),
                        s(policy));
        assertEquals(1, wrongRun.code(), wrongRun.all());
        assertTrue(wrongRun.err().contains("wrong passphrase"), wrongRun.err());

        Path right = Files.writeString(tmp.resolve("pass.txt"), "s3cret phrase\n");
        Run ok =
                run(
                        "policy-list",
                        "sign",
                        "--secret-key",
                        s(secret),
                        "--passphrase-file",
                        s(right),
                        s(policy));
        assertEquals(0, ok.code(), ok.all());
        assertEquals(
                0,
                run(
                                "policy-list",
                                "verify",
                                "--key",
                                s(guarded.writePublic(tmp.resolve("pub.asc"))),
                                s(policy),
                                s(tmp.resolve("policy.json.asc")))
                        .code());
    }

    @Test
    void signRefusesAnInvalidList() throws Exception {
        Path policy = Files.writeString(tmp.resolve("policy.json"), "{\"version\": \"0.1\"}");
        Run r =
                run(
                        "policy-list",
                        "sign",
                        "--secret-key",
                        s(publisher.writeSecret(tmp.resolve("k.asc"))),
                        s(policy));
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("$.timestamp: is required"), r.err());
        assertFalse(Files.exists(tmp.resolve("policy.json.asc")));
    }

    // ---- update and export of installed lists ----

    private Path config(String listName) throws Exception {
        Path caPem = ca.writeCertificatePem(tmp.resolve("ca.pem"));
        Path key = publisher.writePublic(tmp.resolve("key.asc"));
        return Files.writeString(
                tmp.resolve("tlsrelay.yaml"),
                """
                spool: { dir: "%s" }
                delivery:
                  trust: { system: false, extra-ca: ["%s"] }
                policy:
                  lists:
                    - name: %s
                      url: "%s"
                      key: "%s"
                """
                        .formatted(
                                tmp.resolve("data/spool"),
                                caPem,
                                listName,
                                server.url("/" + tmp.getFileName() + "/policy.json"),
                                key));
    }

    private void publish(byte[] policy, byte[] signature) {
        String path = "/" + tmp.getFileName() + "/policy.json";
        server.respond(path, Response.bytes("application/json", policy));
        server.respond(path + ".asc", Response.bytes("text/plain", signature));
    }

    @Test
    void updateInstallsEveryListAndAFailedUpdateKeepsTheLastGoodCopy() throws Exception {
        Path config = config("partners");
        byte[] policy =
                TestKeys.list(
                        NOW.minus(Duration.ofHours(1)),
                        NOW.plus(Duration.ofDays(14)),
                        TestKeys.POLICIES);
        publish(policy, publisher.sign(policy, NOW.minus(Duration.ofMinutes(30))));

        Run first = run("policy-list", "update", "--config", s(config));
        assertEquals(0, first.code(), first.all());
        assertTrue(first.out().contains("partners: fetching https://127.0.0.1:"), first.out());
        assertTrue(first.out().contains("partners: installed 3 domains"), first.out());
        Path installed = tmp.resolve("data/lists/partners/policy.json");
        assertArrayEquals(policy, Files.readAllBytes(installed));
        assertTrue(Files.exists(tmp.resolve("data/lists/partners/policy.json.asc")));

        Run again = run("policy-list", "update", "--config", s(config));
        assertEquals(0, again.code(), again.all());
        assertTrue(again.out().contains("partners: unchanged"), again.out());

        server.respond("/" + tmp.getFileName() + "/policy.json", Response.status(404));
        Run failed = run("policy-list", "update", "--config", s(config));
        assertEquals(1, failed.code(), failed.all());
        assertTrue(failed.out().contains("partners: FAILED: fetch failed: "), failed.out());
        assertTrue(failed.out().contains("HTTP 404"), failed.out());
        assertTrue(failed.out().contains("partners: keeping the last good copy"), failed.out());
        assertArrayEquals(policy, Files.readAllBytes(installed));

        // export reads the installed, verified copy
        Run exported = run("policy-list", "export", "--format", "postfix", "--config", s(config));
        assertEquals(0, exported.code(), exported.all());
        assertTrue(
                exported.out()
                        .contains("\nexample.com secure match=mx1.example.com:.example.net\n"),
                exported.out());
        assertTrue(
                exported.out().contains("\n# testing: example.org secure match=mail.example.org\n"),
                exported.out());
        Run early =
                run(
                        "policy-list",
                        "export",
                        "--format",
                        "postfix",
                        "--early-adopter",
                        "--config",
                        s(config),
                        "--list",
                        "partners");
        assertEquals(0, early.code(), early.all());
        assertTrue(
                early.out().contains("\nexample.org secure match=mail.example.org\n"), early.out());
    }

    @Test
    void updateWithoutListsSaysSoAndBadConfigIsAUsageError() throws Exception {
        Path empty = Files.writeString(tmp.resolve("empty.yaml"), "");
        Run r = run("policy-list", "update", "--config", s(empty));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("No policy lists are configured"), r.out());

        Path bad =
                Files.writeString(tmp.resolve("bad.yaml"), "policy: { lists: [ { name: x } ] }\n");
        assertEquals(2, run("policy-list", "update", "--config", s(bad)).code());
    }

    @Test
    void exportOfAListNotInstalledOrNotConfiguredFails() throws Exception {
        Path config = config("partners");
        Run notInstalled =
                run("policy-list", "export", "--format", "postfix", "--config", s(config));
        assertEquals(1, notInstalled.code(), notInstalled.all());
        assertTrue(
                notInstalled.err().contains("list partners is not installed yet"),
                notInstalled.err());

        assertEquals(
                2,
                run(
                                "policy-list",
                                "export",
                                "--format",
                                "postfix",
                                "--config",
                                s(config),
                                "--list",
                                "nope")
                        .code());
        assertEquals(
                2, run("policy-list", "export", "--format", "exim", s(eff("policy.json"))).code());
    }

    @Test
    void exportOfTheExpiredRealListIsOneCommentLine() throws Exception {
        Run r = run("policy-list", "export", "--format", "postfix", s(eff("policy.json")));
        assertEquals(0, r.code(), r.all());
        assertEquals(
                "# tlsrelay: policy list policy.json expired at 2020-06-03T17:25:12.710055Z; no TLS policies "
                        + "exported (opportunistic TLS)\n",
                r.out());
    }

    @Test
    void exportFromAFileWritesTheTable() throws Exception {
        Path policy = validList("partners.json");
        Run r = run("policy-list", "export", "--format", "postfix", s(policy));
        assertEquals(0, r.code(), r.all());
        assertEquals(6, r.out().lines().count(), r.out());
        assertTrue(
                r.out().contains("\ncustomer.example secure match=.mx.hosted.example\n"), r.out());
    }

    // ---- help ----

    @Test
    void everySubcommandHasManPageStyleHelp() {
        Run top = run("policy-list");
        assertEquals(0, top.code());
        for (String c : new String[] {"verify", "lint", "sign", "update", "export"}) {
            assertTrue(top.out().contains("  " + c + "  "), top.out());
            Run help = run("policy-list", c, "--help");
            assertEquals(0, help.code());
            assertTrue(
                    help.out().contains("Examples:") && help.out().contains("Exit status:"),
                    help.out());
        }
        assertTrue(run("--help").out().contains("policy-list"));
    }
}
