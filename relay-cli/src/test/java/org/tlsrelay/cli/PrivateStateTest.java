package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.policy.list.TestKeys;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestHttpsServer;

/**
 * Queued mail and the relay's other state are private to its user whatever the umask: under umask 022 (which makes
 * 0644 files), a real run (spool, MTA-STS cache, TLS-RPT outcome log), {@code policy-list update} and
 * {@code dkim keygen}, each a child process, leave only 0600 files in 0700 directories; a spool that others could
 * read is closed at start with one WARN line.
 */
class PrivateStateTest {
    private static final TestCa CA = TestCa.create("Private State CA");
    private static final Pattern LISTENING =
            Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) ");

    @TempDir Path dir;

    private static void chmod(Path p, String mode) throws Exception {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
    }

    @Test
    void everythingTheRelayWritesIsPrivateUnderUmask022() throws Exception {
        // the operator's state directory, and a spool an earlier version left readable by everyone
        Path state = Files.createDirectories(dir.resolve("data"));
        Path hold = Files.createDirectories(state.resolve("spool/hold"));
        Path lock = Files.writeString(state.resolve("spool/lock"), "");
        chmod(state, "rwxr-xr-x");
        chmod(hold.getParent(), "rwxr-xr-x");
        chmod(hold, "rwxr-xr-x");
        chmod(lock, "rw-r--r--");

        TestKeys publisher = TestKeys.generate("Partners List <lists@publisher.example>", "");
        Path pub = Files.createDirectories(dir.resolve("pub"));
        Instant now = Instant.now();
        byte[] list =
                TestKeys.list(
                        now.minus(Duration.ofHours(1)),
                        now.plus(Duration.ofDays(14)),
                        TestKeys.POLICIES);
        Files.write(pub.resolve("policy.json"), list);
        Files.write(
                pub.resolve("policy.json.asc"),
                publisher.sign(list, now.minus(Duration.ofMinutes(5))));
        Path key = publisher.writePublic(pub.resolve("key.asc"));

        Path dkimKey = state.resolve("dkim-example.org.pem");
        try (DnsStubServer dns = DnsStubServer.start();
                TestMx mx =
                        TestMx.builder()
                                .hostname("mx.sts.test")
                                .bind(InetAddress.getLoopbackAddress(), 0)
                                .startTls(CA.issue("mx.sts.test"))
                                .start();
                TestHttpsServer https =
                        TestHttpsServer.start(CA.issue("mta-sts.sts.test").serverContext())) {
            dns.mx("sts.test", 10, "mx.sts.test")
                    .a("mx.sts.test", "127.0.0.1")
                    .txt("_mta-sts.sts.test", "v=STSv1; id=20260101")
                    .a("mta-sts.sts.test", "127.0.0.1")
                    .servfail("later.test");
            https.respond(
                    "/.well-known/mta-sts.txt",
                    TestHttpsServer.Response.text(
                            "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n"));
            Path config =
                    Files.writeString(
                            dir.resolve("tlsrelay.yaml"),
                            """
                            server: { listen: "127.0.0.1:0", hostname: relay, shutdown-grace: 5s }
                            spool: { dir: "%s" }
                            delivery:
                              port: %d
                              connect-timeout: 5s
                              trust: { system: false, extra-ca: ["%s"] }
                            dns: { servers: ["%s"], timeout: 2s, dnssec: off }
                            policy:
                              mta-sts: { https-port: %d }
                              lists: [{ name: partners, url: "%s", key: "%s" }]
                            reports: { enabled: true }
                            admin: { listen: "127.0.0.1:0" }
                            """
                                    .formatted(
                                            state.resolve("spool"),
                                            mx.port(),
                                            CA.writeCertificatePem(dir.resolve("ca.pem")),
                                            dns.address(),
                                            https.port(),
                                            pub.resolve("policy.json").toUri(),
                                            key));

            // three processes at once, each under umask 022: a list update, a key, the relay
            RelayProcess update =
                    RelayProcess.withUmask(
                            "022", "policy-list", "update", "--config", config.toString());
            RelayProcess keygen =
                    RelayProcess.withUmask(
                            "022",
                            "dkim",
                            "keygen",
                            "--domain",
                            "example.org",
                            "--selector",
                            "s1",
                            "--out",
                            dkimKey.toString());
            try (RelayProcess relay =
                    RelayProcess.withUmask("022", "run", "--config", config.toString())) {
                int smtp = relay.awaitNumber(LISTENING);
                try (RawSmtpClient c =
                        new RawSmtpClient(new InetSocketAddress("127.0.0.1", smtp))) {
                    RawSmtpClient.expect(c.reply(), 220);
                    RawSmtpClient.expect(c.command("EHLO client.test"), 250);
                    for (String to : List.of("a@sts.test", "b@later.test")) {
                        RawSmtpClient.expect(
                                c.sendMessage(
                                        "s@client.test",
                                        List.of(to),
                                        "Subject: private\r\n\r\nhi\r\n"),
                                250);
                    }
                }
                TestMx.await(
                        () -> !mx.messages().isEmpty(),
                        Duration.ofSeconds(30),
                        "delivery to mx.sts.test");
                TestMx.await(
                        () -> count(state.resolve("spool/deferred"), ".json") == 1,
                        Duration.ofSeconds(30),
                        "the message to later.test deferred");
                assertEquals(0, exit(update), "policy-list update");
                assertEquals(0, exit(keygen), "dkim keygen");
                relay.sigterm();
                assertTrue(relay.process.waitFor(30, TimeUnit.SECONDS), "stopped");
                List<String> log = relay.drain();
                List<String> repaired =
                        log.stream()
                                .filter(l -> l.contains("was readable by other users"))
                                .toList();
                assertEquals(1, repaired.size(), String.join("\n", log));
                assertTrue(
                        repaired.get(0).contains("WARN")
                                && repaired.get(0)
                                        .contains("made 1 file(s) 0600 and 2 directory(ies) 0700"),
                        repaired.get(0));
                assertEquals(
                        1,
                        log.stream()
                                .filter(
                                        l ->
                                                l.contains("WARN")
                                                        && l.contains(
                                                                "server.hostname \"relay\" is not a fully qualified"))
                                .count(),
                        String.join("\n", log));
            }
        }

        assertTrue(
                Files.exists(state.resolve("mta-sts/sts.test.json")),
                "the MTA-STS policy was cached");
        assertTrue(
                Files.exists(state.resolve("lists/partners/policy.json")),
                "the list was installed");
        assertTrue(count(state.resolve("reports"), "") > 0, "TLS-RPT outcomes were recorded");
        Map<String, String> notPrivate = new TreeMap<>();
        for (Path own :
                List.of("spool", "lists", "mta-sts", "reports").stream()
                        .map(state::resolve)
                        .toList()) {
            try (Stream<Path> all = Files.walk(own)) {
                for (Path p : all.toList()) {
                    String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
                    if (!mode.equals(Files.isDirectory(p) ? "rwx------" : "rw-------")) {
                        notPrivate.put(dir.relativize(p).toString(), mode);
                    }
                }
            }
        }
        assertEquals(Map.of(), notPrivate, "files and directories others could read or enter");
        assertEquals(
                "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dkimKey)));
        assertEquals(
                "rwxr-xr-x",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(state)),
                "not ours");
    }

    private static int exit(RelayProcess p) throws Exception {
        try (p) {
            assertTrue(p.process.waitFor(60, TimeUnit.SECONDS), "finished");
            p.drain();
            return p.process.exitValue();
        }
    }

    private static long count(Path dir, String suffix) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> Files.isRegularFile(p) && p.toString().endsWith(suffix)).count();
        } catch (java.io.IOException e) {
            return 0;
        }
    }
}
