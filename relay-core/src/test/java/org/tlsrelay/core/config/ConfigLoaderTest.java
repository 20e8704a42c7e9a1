package org.tlsrelay.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.queue.SpaceReserve;

class ConfigLoaderTest {

    private static RelayConfig parse(String yaml) throws Exception {
        return ConfigLoader.parse(
                new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "tlsrelay.yaml");
    }

    private static List<String> problems(String yaml) {
        return assertThrows(ConfigException.class, () -> parse(yaml)).problems();
    }

    @Test
    void emptyFileGivesEmbeddedDefaults() throws Exception {
        RelayConfig c = parse("");
        assertEquals(new HostPort("127.0.0.1", 2525), c.server().listen());
        assertEquals(Path.of("data", "spool"), c.spool().dir());
        assertTrue(c.policy().mtaSts().enabled());
        assertTrue(c.policy().lists().isEmpty());
        assertEquals(50L * 1024 * 1024, c.server().limits().maxMessageSize().bytes());
        assertEquals(
                List.of(
                        Duration.ofMinutes(5),
                        Duration.ofMinutes(15),
                        Duration.ofHours(1),
                        Duration.ofHours(4)),
                c.delivery().retry().schedule());
        assertEquals(Duration.ofDays(5), c.delivery().retry().maxAge());
        assertEquals(25, c.delivery().port());
        assertTrue(
                c.server().networks().get(0).contains(java.net.InetAddress.getLoopbackAddress()));
    }

    @Test
    void exampleConfigInTheRepositoryIsValid() throws Exception {
        Path example = Path.of("..", "config", "tlsrelay.yaml");
        RelayConfig c = ConfigLoader.load(example);
        assertEquals(RelayConfig.defaults().server().hostname(), c.server().hostname());
        assertEquals(RelayConfig.DnssecMode.VALIDATE, c.dns().dnssec());
    }

    @Test
    void readsDurationsSizesAndOverrides() throws Exception {
        RelayConfig c =
                parse(
                        """
                server:
                  limits: { max-message-size: 10MB, max-recipients: 7 }
                delivery:
                  connect-timeout: 1m30s
                  retry: { schedule: [1s, 2m], max-age: 2d }
                dns:
                  servers: ["127.0.0.1:5353", "::1"]
                policy:
                  overrides:
                    Example.COM: { mode: enforce, mxs: [".mx.example.com", "*.example.net"], force: true }
                """);
        assertEquals(10L << 20, c.server().limits().maxMessageSize().bytes());
        assertEquals(7, c.server().limits().maxRecipients());
        assertEquals(Duration.ofSeconds(90), c.delivery().connectTimeout());
        assertEquals(
                List.of(Duration.ofSeconds(1), Duration.ofMinutes(2)),
                c.delivery().retry().schedule());
        assertEquals(new HostPort("127.0.0.1", 5353), c.dns().servers().get(0));
        assertEquals(new HostPort("::1", 53), c.dns().servers().get(1));
        RelayConfig.LocalOverride o = c.policy().overrides().get("example.com");
        assertEquals(PolicyMode.ENFORCE, o.mode());
        assertTrue(o.force());
        assertTrue(o.asPolicy().allowsMx("a.b.mx.example.com"));
        assertTrue(o.asPolicy().allowsMx("mx1.example.net"));
        assertFalse(o.asPolicy().allowsMx("a.mx1.example.net"));
    }

    @Test
    void dnssecValidatesWithTheBuiltInRootAnchorByDefault() throws Exception {
        RelayConfig c = parse("");
        assertEquals(RelayConfig.DnssecMode.VALIDATE, c.dns().dnssec());
        assertTrue(c.dns().trustAnchors().isEmpty());
        assertEquals(
                RelayConfig.DnssecMode.VALIDATE,
                new RelayConfig.Dns(List.of(), Duration.ofSeconds(1)).dnssec());
    }

    @Test
    void readsDnssecModeAndTrustAnchorFiles() throws Exception {
        RelayConfig c =
                parse(
                        """
                dns:
                  dnssec: off
                  trust-anchors: [/etc/tlsrelay/anchors.zone, local.ds]
                """);
        assertEquals(RelayConfig.DnssecMode.OFF, c.dns().dnssec());
        assertEquals(
                List.of(Path.of("/etc/tlsrelay/anchors.zone"), Path.of("local.ds")),
                c.dns().trustAnchors());
        assertEquals(
                RelayConfig.DnssecMode.VALIDATE, parse("dns: { dnssec: validate }").dns().dnssec());
    }

    @Test
    void daneInsecureMxIsOpportunisticByDefaultAndDaneOnRequest() throws Exception {
        assertEquals(
                org.tlsrelay.core.dane.InsecureMxPolicy.OPPORTUNISTIC,
                parse("dns: { dnssec: validate }").dane().insecureMx());
        assertEquals(
                org.tlsrelay.core.dane.InsecureMxPolicy.DANE,
                parse("dane:\n  insecure-mx: dane\n").dane().insecureMx());
        List<String> p = problems("dane:\n  insecure-mx: always\n");
        assertEquals(1, p.size(), p.toString());
        assertTrue(
                p.get(0).startsWith("tlsrelay.yaml:2: dane.insecure-mx: \"always\" is not one of"),
                p.get(0));
    }

    @Test
    void unknownDnssecModeNamesLineAndKey() {
        List<String> p =
                problems(
                        """
                dns:
                  timeout: 2s
                  dnssec: strict
                """);
        assertEquals(1, p.size(), p.toString());
        assertTrue(
                p.get(0).startsWith("tlsrelay.yaml:3: dns.dnssec: \"strict\" is not one of"),
                p.get(0));
        assertTrue(p.get(0).contains("validate") && p.get(0).contains("off"), p.get(0));
    }

    @Test
    void readsTheInboundLimitsAndTheSpoolReserve() throws Exception {
        RelayConfig d = parse("");
        RelayConfig.Limits l = d.server().limits();
        assertEquals(50, l.maxConnectionsPerClient());
        assertEquals(List.of(), l.exemptNetworks());
        assertEquals(500, l.minDataRate());
        assertEquals(Duration.ofSeconds(30), l.minDataRateGrace());
        assertEquals(20, l.maxErrors());
        assertEquals(0, l.listenBacklog());
        assertEquals(SpaceReserve.DEFAULT, d.spool().minFree());
        assertEquals(100L << 20, d.spool().minFree().bytesOf(1L << 40));

        RelayConfig c =
                parse(
                        """
                server:
                  limits:
                    max-connections-per-client: 10
                    exempt-networks: ["192.0.2.0/24"]
                    min-data-rate: 0
                    min-data-rate-grace: 1m
                    max-errors: 5
                    listen-backlog: 1024
                spool:
                  min-free: 5%
                """);
        l = c.server().limits();
        assertEquals(10, l.maxConnectionsPerClient());
        assertEquals(List.of(Network.parse("192.0.2.0/24")), l.exemptNetworks());
        assertEquals(0, l.minDataRate());
        assertEquals(Duration.ofMinutes(1), l.minDataRateGrace());
        assertEquals(5, l.maxErrors());
        assertEquals(1024, l.listenBacklog());
        assertEquals(new SpaceReserve.Percent(5), c.spool().minFree());
    }

    @Test
    void aReserveThatIsNeitherASizeNorAPercentageNamesTheKey() {
        List<String> p =
                problems(
                        """
                spool:
                  min-free: 5x
                server:
                  limits:
                    max-errors: 0
                """);
        assertEquals(2, p.size(), p.toString());
        assertTrue(
                p.get(0)
                        .startsWith(
                                "tlsrelay.yaml:2: spool.min-free: \"5x\" is not a size or a percentage"),
                p.get(0));
        assertTrue(p.get(1).contains("server.limits"), p.get(1));
    }

    @Test
    void badDurationNamesFileLineAndKey() {
        List<String> p =
                problems(
                        """
                server:
                  listen: "127.0.0.1:2525"
                delivery:
                  retry:
                    schedule: [5m, "5x"]
                """);
        assertEquals(1, p.size(), p.toString());
        assertTrue(
                p.get(0)
                        .startsWith(
                                "tlsrelay.yaml:5: delivery.retry.schedule: \"5x\" is not a duration"),
                p.get(0));
    }

    @Test
    void reportsEveryErrorNotJustTheFirst() {
        List<String> p =
                problems(
                        """
                server:
                  listen: "nohost:"
                  colour: blue
                  limits:
                    max-message-size: lots
                delivery:
                  connect-timeout: soon
                policy:
                  overrides:
                    example.com: { mode: strict, mxs: [mx.example.com] }
                """);
        assertEquals(5, p.size(), String.join("\n", p));
        assertTrue(p.get(0).startsWith("tlsrelay.yaml:2: server.listen: "), p.get(0));
        assertEquals("tlsrelay.yaml:3: server.colour: unknown key", p.get(1));
        assertTrue(
                p.get(2)
                        .startsWith(
                                "tlsrelay.yaml:5: server.limits.max-message-size: \"lots\" is not a size"),
                p.get(2));
        assertTrue(
                p.get(3)
                        .startsWith(
                                "tlsrelay.yaml:7: delivery.connect-timeout: \"soon\" is not a duration"),
                p.get(3));
        assertTrue(
                p.get(4)
                        .startsWith(
                                "tlsrelay.yaml:10: policy.overrides.example.com.mode: \"strict\" is not one of"),
                p.get(4));
    }

    @Test
    void wrongTypeIsReported() {
        List<String> p =
                problems(
                        """
                server:
                  networks: "127.0.0.0/8"
                  limits:
                    max-recipients: [1, 2]
                """);
        assertEquals(2, p.size(), String.join("\n", p));
        assertTrue(
                p.get(1)
                        .startsWith(
                                "tlsrelay.yaml:4: server.limits.max-recipients: expected a whole number"),
                p.get(1));
    }

    @Test
    void semanticErrorNamesTheKey() {
        List<String> p =
                problems(
                        """
                policy:
                  lists:
                    - name: eff
                      url: "http://example.org/policy.json"
                      key: /etc/key.asc
                """);
        assertEquals(1, p.size());
        assertTrue(p.get(0).contains("policy.lists") && p.get(0).contains("https"), p.get(0));
    }

    @Test
    void missingFileIsAClearError(@org.junit.jupiter.api.io.TempDir Path dir) {
        ConfigException e =
                assertThrows(
                        ConfigException.class, () -> ConfigLoader.load(dir.resolve("nope.yaml")));
        assertTrue(e.getMessage().endsWith("nope.yaml: no such file"));
    }

    @Test
    void notAMappingIsAnError(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("x.yaml"), "- a\n- b\n");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f));
        assertTrue(
                e.getMessage().contains("x.yaml:1: the file must be a YAML mapping"),
                e.getMessage());
    }

    /**
     * The first hour of mistakes: every one is reported, type errors and values a section refuses alike, each on its
     * own line with what is wrong, in words (no Java type, no Jackson message), in the order of the file.
     */
    @Test
    void typicalMistakesAreAllReportedInPlainWords() {
        List<String> p =
                problems(
                        """
                server:
                  listen: "127.0.0.1:25x"
                  limits:
                    max-recipients: "7"
                    max-connections: 0
                  shutdown-grace: soon
                delivery:
                  port: "25x"
                  concurrency: { total: 1.5, per-domain: [1] }
                policy:
                  mta-sts: { enabled: maybe, https-port: 70000 }
                  overrides:
                    example.com: { mode: test, mxs: [".mx.example.com"] }
                    example.net: { mode: enforce }
                    example.org:
                      mode: testing
                      mxs: ["mx..example.org"]
                admin:
                  listen: localhost
                """);
        assertEquals(
                List.of(
                        "tlsrelay.yaml:2: server.listen: \"127.0.0.1:25x\": \"25x\" is not a port number"
                                + " (0-65535, 0: any free port)",
                        "tlsrelay.yaml:4: server.limits.max-recipients: \"7\" is not a whole number",
                        "tlsrelay.yaml:5: server.limits.max-connections: 0 is not a whole number of 1 or more",
                        "tlsrelay.yaml:6: server.shutdown-grace: \"soon\" is not a duration (e.g. 30s, 5m,"
                                + " 12h, 5d)",
                        "tlsrelay.yaml:8: delivery.port: \"25x\" is not a port number (1-65535)",
                        "tlsrelay.yaml:9: delivery.concurrency.total: 1.5 is not a whole number",
                        "tlsrelay.yaml:9: delivery.concurrency.per-domain: expected a whole number, found a"
                                + " list",
                        "tlsrelay.yaml:11: policy.mta-sts.enabled: \"maybe\" is not true or false",
                        "tlsrelay.yaml:11: policy.mta-sts.https-port: 70000 is not a port number (1-65535)",
                        "tlsrelay.yaml:13: policy.overrides.example.com.mode: \"test\" is not one of enforce,"
                                + " testing, none",
                        "tlsrelay.yaml:14: policy.overrides.example.net.mxs: is required for mode enforce: the"
                                + " MX hosts allowed",
                        "tlsrelay.yaml:17: policy.overrides.example.org.mxs: \"mx..example.org\" is not a host"
                                + " name",
                        "tlsrelay.yaml:19: admin.listen: \"localhost\" needs a port (host:port)"),
                p);
    }
}
