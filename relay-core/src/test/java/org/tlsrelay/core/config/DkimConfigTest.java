package org.tlsrelay.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.dkim.DkimAlgorithm;
import org.tlsrelay.core.dkim.DkimKeyFile;
import org.tlsrelay.core.dkim.TestKeys;

/** {@code dkim:}: keys are read when the file is loaded, and every problem names its file, line and key. */
class DkimConfigTest {
    @TempDir Path dir;

    private static RelayConfig parse(String yaml) throws Exception {
        return ConfigLoader.parse(
                new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "tlsrelay.yaml");
    }

    private static List<String> problems(String yaml) {
        return assertThrows(ConfigException.class, () -> parse(yaml)).problems();
    }

    private Path key(String name, DkimAlgorithm a) throws Exception {
        Path file = dir.resolve(name);
        DkimKeyFile.write(file, TestKeys.pair(a).getPrivate());
        return file;
    }

    @Test
    void defaultsSignNothingRelayedAndOwnMailWhenAKeyCoversIt() throws Exception {
        RelayConfig.Dkim d = parse("").dkim();
        assertEquals(List.of(), d.keys());
        assertTrue(d.sign().reports());
        assertEquals(RelayConfig.RelayedSigning.NONE, d.sign().relayed());
    }

    @Test
    void readsKeysAndWhatToSign() throws Exception {
        Path rsa = key("rsa.pem", DkimAlgorithm.RSA_SHA256);
        Path ed = key("ed.pem", DkimAlgorithm.ED25519_SHA256);
        RelayConfig.Dkim d =
                parse(
                                """
                dkim:
                  keys:
                    - domain: Example.org
                      selector: tlsrelay2026
                      private-key: %s
                    - { domain: example.org, selector: ed.2026, private-key: %s }
                  sign:
                    reports: false
                    relayed: from-domain
                """
                                        .formatted(rsa, ed))
                        .dkim();
        assertEquals(2, d.keys().size());
        assertEquals(DkimAlgorithm.RSA_SHA256, d.keys().get(0).load().algorithm());
        assertEquals("example.org", d.keys().get(0).load().domain());
        assertEquals(DkimAlgorithm.ED25519_SHA256, d.keys().get(1).load().algorithm());
        assertEquals(false, d.sign().reports());
        assertEquals(RelayConfig.RelayedSigning.FROM_DOMAIN, d.sign().relayed());
    }

    @Test
    void aMissingShortOrForeignKeyIsAnErrorOnItsLine() throws Exception {
        Path good = key("good.pem", DkimAlgorithm.ED25519_SHA256);
        String yaml =
                """
                dkim:
                  keys:
                    - domain: example.org
                      selector: s1
                      private-key: %s
                    - domain: example.org
                      selector: s2
                      private-key: %s
                """;
        assertEquals(
                List.of(
                        "tlsrelay.yaml:8: dkim.keys.private-key: "
                                + dir.resolve("missing.pem")
                                + ": no such file"),
                problems(yaml.formatted(good, dir.resolve("missing.pem"))));

        java.security.KeyPair weak = shortRsa();
        Path shortKey = dir.resolve("short.pem");
        DkimKeyFile.write(shortKey, weak.getPrivate());
        List<String> p = problems(yaml.formatted(good, shortKey));
        assertEquals(1, p.size());
        assertTrue(
                p.get(0)
                        .startsWith(
                                "tlsrelay.yaml:8: dkim.keys.private-key: "
                                        + shortKey
                                        + ": the RSA key has 1024 bits"),
                p.get(0));
    }

    private static java.security.KeyPair shortRsa() throws Exception {
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("RSA");
        g.initialize(1024);
        return g.generateKeyPair();
    }

    @Test
    void aDomainOrSelectorThatIsNoDnsNameIsAnErrorOnItsLine() throws Exception {
        Path good = key("good.pem", DkimAlgorithm.ED25519_SHA256);
        assertEquals(
                List.of(
                        "tlsrelay.yaml:4: dkim.keys.domain: \"example_org\" is not a domain name (DNS labels of "
                                + "letters, digits and hyphens, dot-separated)"),
                problems(
                        """
                dkim:
                  keys:
                    - selector: s1
                      domain: example_org
                      private-key: %s
                """
                                .formatted(good)));
        assertEquals(
                List.of(
                        "tlsrelay.yaml:3: dkim.keys.selector: \"2026 key\" is not a selector (DNS labels of "
                                + "letters, digits and hyphens, dot-separated)"),
                problems(
                        """
                dkim:
                  keys:
                    - { domain: example.org, selector: "2026 key", private-key: %s }
                """
                                .formatted(good)));
        assertEquals(
                List.of(
                        "tlsrelay.yaml:4: dkim.sign.relayed: \"all\" is not one of none, from-domain"),
                problems("dkim:\n  sign:\n    reports: true\n    relayed: all\n"));
    }

    @Test
    void theSameDomainAndSelectorTwiceIsAnError() throws Exception {
        Path a = key("a.pem", DkimAlgorithm.ED25519_SHA256);
        List<String> p =
                problems(
                        """
                dkim:
                  keys:
                    - { domain: example.org, selector: s1, private-key: %s }
                    - { domain: EXAMPLE.org, selector: S1, private-key: %s }
                """
                                .formatted(a, a));
        assertEquals(
                List.of(
                        "tlsrelay.yaml:2: dkim.keys: domain EXAMPLE.org with selector S1 is listed twice"),
                p);
    }
}
