package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.testkit.DnsStubServer;

/**
 * Runs the shaded {@code tlsrelay.jar} as an operator would ({@code java -jar}), after {@code package}: catches what
 * unit tests on the class path cannot, such as a library missing from the jar or a broken service file.
 */
class ShadedJarIT {
    private static final Path JAR = Path.of("target", "tlsrelay.jar");
    private static DnsStubServer dns;

    @TempDir Path dir;

    record Result(int exit, String out, String err) {}

    @BeforeAll
    static void startDns() throws IOException {
        dns = DnsStubServer.start();
    }

    @AfterAll
    static void stopDns() {
        dns.close();
    }

    private Result tlsrelay(String... args) throws Exception {
        List<String> command =
                new ArrayList<>(
                        List.of(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-jar",
                                JAR.toString()));
        command.addAll(List.of(args));
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process p =
                new ProcessBuilder(command)
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .start();
        assertTrue(
                p.waitFor(60, TimeUnit.SECONDS),
                "tlsrelay " + String.join(" ", args) + " did not finish");
        return new Result(
                p.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void printsVersionAndHelp() throws Exception {
        Result v = tlsrelay("--version");
        assertEquals(0, v.exit(), v.err());
        assertTrue(v.out().startsWith("tlsrelay "), v.out());
        Result h = tlsrelay("--help");
        assertEquals(0, h.exit(), h.err());
        assertTrue(h.out().contains("policy-list") && h.out().contains("queue"), h.out());
    }

    @Test
    void checksTheExampleAndContainerConfigurations() throws Exception {
        for (Path file :
                List.of(
                        Path.of("..", "config", "tlsrelay.yaml"),
                        Path.of("..", "docker", "tlsrelay.yaml"),
                        Path.of("..", "docker", "compose-test", "tlsrelay.yaml"),
                        Path.of("..", "packaging", "deb", "tlsrelay.yaml"))) {
            Result r = tlsrelay("config", "check", "--config", file.toString());
            assertEquals(0, r.exit(), file + ": " + r.err());
            assertTrue(r.out().startsWith("OK"), r.out());
        }
    }

    @Test
    void verifiesTheRealPolicyListWithBouncyCastleFromTheJar() throws Exception {
        Path eff = Path.of("..", "relay-core", "src", "test", "resources", "eff");
        Result r =
                tlsrelay(
                        "policy-list",
                        "verify",
                        "--key",
                        eff.resolve("eff-starttls-policy-pubkey.asc").toString(),
                        eff.resolve("policy.json").toString(),
                        eff.resolve("policy.json.asc").toString());
        assertEquals(0, r.exit(), r.out() + r.err());
    }

    @Test
    void resolvesPoliciesThroughDnsjavaFromTheJar() throws Exception {
        Path config =
                Files.writeString(
                        dir.resolve("tlsrelay.yaml"),
                        """
                spool: { dir: "%s" }
                dns: { servers: ["%s"], timeout: 2s }
                policy:
                  mta-sts: { enabled: true, https-port: 1 }
                  overrides: { "jar.test": { mode: enforce, mxs: [".mx.jar.test"] } }
                """
                                .formatted(
                                        dir.resolve("spool").toString().replace("\\", "/"),
                                        dns.address()));
        Result r = tlsrelay("policy", "show", "jar.test", "--json", "--config", config.toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("\"enforce\""), r.out());
        assertTrue(
                dns.queryCount("_mta-sts.jar.test", "TXT") > 0,
                "the relay asked the configured DNS server");
    }

    /**
     * The jar keeps only the ICU data IDNA needs (normalisation, properties, bidi; see the shade filter): an A-label
     * is decoded, checked (bidi, IDNA2008 code points) and used, or refused with the code point that is not allowed.
     */
    @Test
    void talksToRedisWithJedisFromTheJar() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                org.tlsrelay.testkit.RedisServer.installed(),
                "redis-server is not installed (.ci/run installs it)");
        try (org.tlsrelay.testkit.RedisServer redis = org.tlsrelay.testkit.RedisServer.start(dir);
                redis.clients.jedis.Jedis j =
                        new redis.clients.jedis.Jedis("127.0.0.1", redis.port())) {
            // a relay's heartbeat, as Membership writes it
            j.hset("tlsrelay:nodes", "relay-0", Long.toString(System.currentTimeMillis()));
            j.hset("tlsrelay:node:relay-0", java.util.Map.of("node", "relay-0", "queue", "3"));
            j.pexpire("tlsrelay:node:relay-0", 60_000);
            Path config =
                    Files.writeString(
                            dir.resolve("tlsrelay.yaml"),
                            "spool: { dir: "
                                    + dir.resolve("spool")
                                    + " }\ncluster: { redis: \""
                                    + redis.url()
                                    + "\", node-id: relay-0 }\n");
            Result r = tlsrelay("cluster", "status", "--json", "--config", config.toString());
            assertEquals(0, r.exit(), r.out() + r.err());
            assertTrue(r.out().contains("\"node\" : \"relay-0\""), r.out());
            assertTrue(r.out().contains("\"queue\" : 3"), r.out());
        }
    }

    @Test
    void checksInternationalisedNamesWithTheIcuDataInTheJar() throws Exception {
        Path config =
                Files.writeString(
                        dir.resolve("tlsrelay.yaml"),
                        """
                spool: { dir: "%s" }
                dns: { servers: ["%s"], timeout: 2s }
                policy: { mta-sts: { enabled: true, https-port: 1 } }
                """
                                .formatted(
                                        dir.resolve("spool").toString().replace("\\", "/"),
                                        dns.address()));
        String arabic = "xn--mgbcd4a2b0d2b.jar.test"; // العربية.jar.test
        Result ok = tlsrelay("policy", "show", arabic, "--json", "--config", config.toString());
        assertEquals(0, ok.exit(), ok.out() + ok.err());
        assertTrue(ok.out().contains("\"domain\" : \"" + arabic + "\""), ok.out());
        Result snowman =
                tlsrelay("policy", "show", "xn--n3h.jar.test", "--config", config.toString());
        assertEquals(2, snowman.exit(), snowman.out() + snowman.err());
        assertTrue(snowman.err().contains("U+2603"), snowman.err());
    }

    /**
     * The native outbound engines (BoringSSL from netty-tcnative, epoll) load from inside the jar on Linux x86-64,
     * as the delivery engine's start line says; elsewhere the line names the JDK's and why.
     */
    @Test
    void loadsTheNativeOutboundEnginesFromTheJar() throws Exception {
        Path config =
                Files.writeString(
                        dir.resolve("tlsrelay.yaml"),
                        """
                server: { listen: "127.0.0.1:0" }
                spool: { dir: "%s" }
                dns: { servers: ["%s"], dnssec: off }
                admin: { listen: "127.0.0.1:0" }
                reports: { enabled: false }
                """
                                .formatted(
                                        dir.resolve("spool").toString().replace("\\", "/"),
                                        dns.address()));
        Path err = dir.resolve("run.err");
        Process p =
                new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-jar",
                                JAR.toString(),
                                "run",
                                "--config",
                                config.toString())
                        .redirectOutput(dir.resolve("run.out").toFile())
                        .redirectError(err.toFile())
                        .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            String started = "";
            while (started.isEmpty() && System.nanoTime() < deadline && p.isAlive()) {
                started =
                        Files.readAllLines(err, StandardCharsets.UTF_8).stream()
                                .filter(l -> l.contains("delivery engine started"))
                                .findFirst()
                                .orElse("");
                if (started.isEmpty()) {
                    Thread.sleep(100);
                }
            }
            assertTrue(!started.isEmpty(), "no start line: " + Files.readString(err));
            boolean linuxX64 =
                    System.getProperty("os.name").startsWith("Linux")
                            && System.getProperty("os.arch").equals("amd64");
            assertTrue(
                    started.contains(
                            linuxX64 ? "; TLS by BoringSSL, epoll" : "; TLS by the JDK, nio ("),
                    started);
        } finally {
            p.destroy(); // SIGTERM: a clean stop
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "stopped");
        }
    }
}
