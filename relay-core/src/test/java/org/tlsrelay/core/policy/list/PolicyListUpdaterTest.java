package org.tlsrelay.core.policy.list;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.config.ConfigLoader;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestHttpsServer;
import org.tlsrelay.testkit.TestHttpsServer.Response;

/**
 * Update end to end: a list signed in the test with a key made in the test, served over real HTTPS on loopback
 * (certificate from a test CA, trusted through {@code delivery.trust.extra-ca}), fetched, verified, installed.
 */
class PolicyListUpdaterTest {
    private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    private static TestCa ca;
    private static TestHttpsServer server;
    private static TestKeys publisher;

    @TempDir Path tmp;
    private RelayConfig config;
    private ListSource partners;
    private PolicyListUpdater updater;

    @BeforeAll
    static void startServer() throws Exception {
        ca = TestCa.create("list test CA");
        server = TestHttpsServer.start(ca.issue("127.0.0.1", "localhost").serverContext());
        publisher = TestKeys.generate("Partners List <lists@publisher.example>", "");
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void configure() throws Exception {
        Path caPem = ca.writeCertificatePem(tmp.resolve("ca.pem"));
        Path key = publisher.writePublic(tmp.resolve("partners-key.asc"));
        config =
                config(
                        tmp,
                        caPem,
                        """
                    - name: partners
                      url: "%s"
                      key: "%s"
                      refresh: 1h
                """
                                .formatted(
                                        server.url("/" + tmp.getFileName() + "/policy.json"), key));
        partners = config.policy().lists().get(0);
        updater = PolicyListUpdater.from(config.listSettings(), CLOCK);
    }

    static RelayConfig config(Path dir, Path caPem, String lists) throws Exception {
        String yaml =
                """
                spool: { dir: "%s" }
                delivery:
                  trust: { system: false, extra-ca: ["%s"] }
                policy:
                  lists:
                %s"""
                        .formatted(dir.resolve("spool"), caPem, lists);
        return ConfigLoader.parse(
                new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "test.yaml");
    }

    /** Serves a list (and its signature at list URL + ".asc") for this test's paths. */
    private void serve(byte[] policy, byte[] signature) {
        server.respond(partners.url().getPath(), Response.bytes("application/json", policy));
        server.respond(
                partners.signatureUrl().getPath(),
                Response.bytes("application/pgp-signature", signature));
    }

    private byte[] list(Duration age, String policies) {
        return TestKeys.list(NOW.minus(age), NOW.minus(age).plus(Duration.ofDays(14)), policies);
    }

    private byte[] installFirst() {
        byte[] policy = list(Duration.ofHours(2), TestKeys.POLICIES);
        byte[] signature = publisher.sign(policy, NOW.minus(Duration.ofHours(2)));
        serve(policy, signature);
        assertInstanceOf(UpdateOutcome.Installed.class, updater.update(partners));
        return policy;
    }

    private String failure(UpdateOutcome outcome) {
        return assertInstanceOf(UpdateOutcome.Failed.class, outcome).reason();
    }

    private void assertStillInstalled(byte[] policy) throws Exception {
        ListStore store = updater.store("partners");
        assertArrayEquals(policy, Files.readAllBytes(store.policyFile()));
        assertTrue(updater.installed(partners).isPresent(), "last good copy still verifies");
    }

    @Test
    void fetchesVerifiesAndInstallsBesideTheSpoolThenSurvivesAReloadFromDisk() throws Exception {
        byte[] policy = list(Duration.ofHours(1), TestKeys.POLICIES);
        byte[] signature = publisher.sign(policy, NOW.minus(Duration.ofMinutes(30)));
        serve(policy, signature);

        UpdateOutcome outcome = updater.update(partners);

        SignedList installed = assertInstanceOf(UpdateOutcome.Installed.class, outcome).installed();
        assertEquals(3, installed.document().entries().size());
        assertEquals(NOW.minus(Duration.ofMinutes(30)), installed.signature().created());
        Path dir = config.spool().stateDir().resolve("lists").resolve("partners");
        assertArrayEquals(policy, Files.readAllBytes(dir.resolve("policy.json")));
        assertArrayEquals(signature, Files.readAllBytes(dir.resolve("policy.json.asc")));
        List<String> paths = server.requests().stream().map(TestHttpsServer.Request::path).toList();
        assertTrue(
                paths.contains(partners.url().getPath())
                        && paths.contains(partners.signatureUrl().getPath()));

        // a restart: no network needed, the copy on disk is verified and used
        server.respond(partners.url().getPath(), Response.status(503));
        InstalledPolicyLists reloaded =
                new InstalledPolicyLists(
                        config.policy().lists(),
                        PolicyListUpdater.from(config.listSettings(), CLOCK),
                        o -> {});
        reloaded.reload();
        ListedPolicy p = reloaded.find("Customer.Example", NOW).orElseThrow();
        assertEquals("partners", p.listName());
        assertEquals(PolicyMode.ENFORCE, p.policy().mode());
        assertTrue(p.policy().allowsMx("a.b.mx.hosted.example"));

        // the same copy again is no news
        serve(policy, signature);
        assertInstanceOf(UpdateOutcome.Unchanged.class, updater.update(partners));
    }

    @Test
    void badSignatureKeepsTheLastGoodList() throws Exception {
        byte[] good = installFirst();
        byte[] tampered = list(Duration.ofHours(1), TestKeys.POLICIES);
        byte[] signature = publisher.sign(tampered, NOW.minus(Duration.ofMinutes(10)));
        tampered[tampered.length - 3] = ' '; // one byte changed after signing

        serve(tampered, signature);
        String reason = failure(updater.update(partners));

        assertTrue(reason.startsWith("signature refused: bad signature:"), reason);
        assertStillInstalled(good);
    }

    @Test
    void signatureByAnotherKeyKeepsTheLastGoodList() throws Exception {
        byte[] good = installFirst();
        byte[] policy = list(Duration.ofHours(1), TestKeys.POLICIES);
        serve(policy, TestKeys.generate("Mallory <m@evil.example>", "").sign(policy, NOW));

        assertTrue(failure(updater.update(partners)).startsWith("signature refused: unknown key:"));
        assertStillInstalled(good);
    }

    @Test
    void http404KeepsTheLastGoodList() throws Exception {
        byte[] good = installFirst();
        server.respond(partners.url().getPath(), Response.status(404));

        String reason = failure(updater.update(partners));

        assertTrue(reason.startsWith("fetch failed: ") && reason.endsWith(": HTTP 404"), reason);
        assertStillInstalled(good);
    }

    @Test
    void olderSignatureIsRefusedAsRollback() throws Exception {
        byte[] good = installFirst(); // signed 2 h ago
        byte[] newerStamp = list(Duration.ofMinutes(1), TestKeys.POLICIES);
        serve(newerStamp, publisher.sign(newerStamp, NOW.minus(Duration.ofHours(3))));

        String reason = failure(updater.update(partners));

        assertTrue(reason.startsWith("rollback refused: the signature was made"), reason);
        assertStillInstalled(good);
    }

    @Test
    void olderTimestampIsRefusedAsRollback() throws Exception {
        byte[] good = installFirst(); // timestamp 2 h ago
        byte[] olderStamp = list(Duration.ofHours(3), TestKeys.POLICIES);
        serve(olderStamp, publisher.sign(olderStamp, NOW.minus(Duration.ofMinutes(1))));

        String reason = failure(updater.update(partners));

        assertTrue(reason.startsWith("rollback refused: the list's timestamp"), reason);
        assertStillInstalled(good);
    }

    @Test
    void signedButInvalidListIsRefusedWithItsJsonPath() throws Exception {
        byte[] good = installFirst();
        byte[] invalid = list(Duration.ofHours(1), "\"x.example\": {\"policy-alias\": \"nope\"}");
        serve(invalid, publisher.sign(invalid, NOW));

        assertEquals(
                "not a valid list: $.policies[\"x.example\"].policy-alias: no alias \"nope\" in $.policy-aliases",
                failure(updater.update(partners)));
        assertStillInstalled(good);
    }

    @Test
    void redirectToPlainHttpIsNotFollowed() {
        server.respond(
                partners.url().getPath(), Response.redirect("http://127.0.0.1:9/policy.json"));
        String reason = failure(updater.update(partners));
        assertTrue(
                reason.contains("HTTP 302 redirect to http://127.0.0.1:9/policy.json not followed"),
                reason);
    }

    @Test
    void oversizedSignatureIsRefused() {
        byte[] policy = list(Duration.ofHours(1), TestKeys.POLICIES);
        serve(policy, new byte[ListStore.MAX_SIGNATURE_BYTES + 1]);
        String reason = failure(updater.update(partners));
        assertTrue(reason.contains("more than the 65536 allowed"), reason);
    }

    @Test
    void serverWithAnUntrustedCertificateIsRefused() throws Exception {
        Path otherCa = TestCa.create("some other CA").writeCertificatePem(tmp.resolve("other.pem"));
        RelayConfig distrusting =
                config(
                        tmp,
                        otherCa,
                        """
                    - name: partners
                      url: "%s"
                      key: "%s"
                """
                                .formatted(partners.url(), partners.key()));
        PolicyListUpdater strict = PolicyListUpdater.from(distrusting.listSettings(), CLOCK);

        String reason = failure(strict.update(distrusting.policy().lists().get(0)));
        assertTrue(
                reason.startsWith("fetch failed:")
                        && reason.contains("PKIX path building failed")
                        && !reason.contains("Exception"),
                reason);
    }

    @Test
    void realEffListIsInstalledFromAFileUrlAndTheOlderOneIsRefusedAsRollback() throws Exception {
        Path published = Files.createDirectories(tmp.resolve("published"));
        Path key = TestKeys.copyEff("eff-starttls-policy-pubkey.asc", tmp);
        RelayConfig effConfig =
                config(
                        tmp,
                        ca.writeCertificatePem(tmp.resolve("ca.pem")),
                        """
                    - name: eff
                      url: "%s"
                      key: "%s"
                """
                                .formatted(published.resolve("policy.json").toUri(), key));
        ListSource eff = effConfig.policy().lists().get(0);
        PolicyListUpdater effUpdater =
                PolicyListUpdater.from(
                        effConfig.listSettings(),
                        Clock.fixed(Instant.parse("2020-05-21T00:00:00Z"), ZoneOffset.UTC));

        Files.write(published.resolve("policy.json"), TestKeys.eff("policy.json"));
        Files.write(published.resolve("policy.json.asc"), TestKeys.eff("policy.json.asc"));
        SignedList installed =
                assertInstanceOf(UpdateOutcome.Installed.class, effUpdater.update(eff)).installed();
        assertEquals(926, installed.document().entries().size());

        Files.write(published.resolve("policy.json"), TestKeys.eff("policy-2020-05-06.json"));
        Files.write(
                published.resolve("policy.json.asc"), TestKeys.eff("policy-2020-05-06.json.asc"));
        String reason = failure(effUpdater.update(eff));

        assertEquals(
                "rollback refused: the signature was made 2020-05-06T18:19:07Z, before the installed copy's "
                        + "2020-05-20T17:25:12Z",
                reason);
        assertArrayEquals(
                TestKeys.eff("policy.json"),
                Files.readAllBytes(effUpdater.store("eff").policyFile()));
    }
}
