package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.DkimVerifier;
import org.tlsrelay.testkit.DkimVerifier.Verdict;
import org.tlsrelay.testkit.DnsStubServer;

/**
 * DKIM end to end: keys made with {@code dkim keygen} and published (from its output) in a DNS server on loopback; a
 * relay that signs what it accepts and the DSNs it sends; the signatures checked by dkimpy, an independent verifier.
 */
class DkimEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir Path dir;
    private DeliveryFixture f;
    private TestMx senderMx;

    @BeforeEach
    void setUp() throws Exception {
        f = new DeliveryFixture(dir);
        senderMx =
                f.mx(
                        "mx.example.org",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.example.org")));
        f.dns.mx("example.org", 10, "mx.example.org");
    }

    @AfterEach
    void tearDown() throws Exception {
        f.close();
    }

    /** Runs {@code dkim keygen} and publishes the TXT record it prints; returns the key file. */
    static Path keygen(
            Path dir, DnsStubServer dns, String domain, String selector, String algorithm) {
        Path key = dir.resolve(selector + ".pem");
        CliRun r =
                CliRun.run(
                        "dkim",
                        "keygen",
                        "--domain",
                        domain,
                        "--selector",
                        selector,
                        "--algorithm",
                        algorithm,
                        "--out",
                        key.toString());
        assertEquals(0, r.exit(), r.err());
        publish(dns, r.out());
        return key;
    }

    /** Reads the zone-file line {@code NAME. IN TXT ( "..." "..." )} and serves it, strings as printed. */
    static void publish(DnsStubServer dns, String keygenOutput) {
        String line =
                keygenOutput
                        .lines()
                        .filter(l -> l.contains(" IN TXT "))
                        .findFirst()
                        .orElseThrow(() -> new AssertionError("no TXT record in\n" + keygenOutput));
        String name = line.substring(0, line.indexOf(". IN TXT"));
        List<String> strings = new ArrayList<>();
        Matcher m = Pattern.compile("\"([^\"]*)\"").matcher(line);
        while (m.find()) {
            assertTrue(m.group(1).length() <= 255, "a TXT string has at most 255 octets");
            strings.add(m.group(1));
        }
        dns.txt(name, strings.toArray(String[]::new));
    }

    private String dkimYaml(String domain, Path rsa, Path ed, String relayed) {
        return "dkim:\n"
                + "  keys:\n"
                + "    - { domain: "
                + domain
                + ", selector: rsa2026, private-key: \""
                + rsa
                + "\" }\n"
                + "    - { domain: "
                + domain
                + ", selector: ed2026, private-key: \""
                + ed
                + "\" }\n"
                + "  sign: { reports: true, relayed: "
                + relayed
                + " }\n";
    }

    private static int signatures(byte[] message) {
        return new String(message, StandardCharsets.ISO_8859_1)
                        .split("\r\nDKIM-Signature:|^DKIM-Signature:", -1)
                        .length
                - 1;
    }

    private static void assertAllPass(List<Verdict> verdicts, int expected, String domain) {
        assertEquals(expected, verdicts.size(), verdicts.toString());
        for (Verdict v : verdicts) {
            assertTrue(v.pass(), v.toString());
            assertEquals(domain, v.domain(), v.toString());
        }
    }

    @Test
    void relayedMailIsSignedBeforeThe250AndTheSameSignedBytesGoOutAfterARestart() throws Exception {
        Path rsa = keygen(dir, f.dns, "example.org", "rsa2026", "rsa");
        Path ed = keygen(dir, f.dns, "example.org", "ed2026", "ed25519");
        f.extraYaml = dkimYaml("example.org", rsa, ed, "from-domain");
        // the destination's MX is down at first: nothing listens at its address
        f.dns.mx("dest.test", 10, "mx.dest.test");
        f.dns.a("mx.dest.test", "127.0.0.250");
        String retry = "  retry: { schedule: [1h] }\n";
        f.start(retry, "");

        String message =
                "From: Jörg Müller <joerg@mail.example.org>\r\n"
                        + "To: Bob <bob@dest.test>\r\n"
                        + "Subject: a long subject that the mail program folded over more than one\r\n"
                        + "   line,   with   odd  spacing\r\n"
                        + "References: <1@mail.example.org>\r\n <2@mail.example.org>\r\n <3@mail.example.org>\r\n"
                        + "Message-ID: <dkim-e2e@mail.example.org>\r\n"
                        + "MIME-Version: 1.0\r\n"
                        + "Content-Type: text/plain; charset=utf-8\r\n"
                        + "Content-Transfer-Encoding: 8bit\r\n"
                        + "\r\n"
                        + "Grüße — 8-bit text, spaces at the end   \r\n"
                        + ".a line that starts with a dot\r\n"
                        + "\r\n\r\n\r\n";
        String id;
        try (var c = f.client()) {
            id =
                    DeliveryFixture.queueId(
                            c.sendMessage(
                                    "joerg@mail.example.org", List.of("bob@dest.test"), message));
        }
        Await.until(
                () -> state(id).filter(s -> s == QueueState.DEFERRED).isPresent(),
                WAIT,
                "the first attempt deferred");
        byte[] spooled = Files.readAllBytes(f.queued(id).orElseThrow().body());
        assertEquals(2, signatures(spooled), new String(spooled, StandardCharsets.UTF_8));

        // Stop, bring the MX up, start again: the spooled, signed message goes out as it is.
        f.relay().close();
        f.dns.remove("mx.dest.test");
        TestMx dest =
                f.mx(
                        "mx.dest.test",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.dest.test")));
        f.start(retry, "");
        CliRun flush = CliRun.run("queue", "flush", "--config", f.configFile().toString());
        assertEquals(0, flush.exit(), flush.err());
        Await.until(() -> dest.messages().size() == 1, WAIT, "delivery after the restart");

        byte[] delivered = dest.messages().get(0).content();
        assertArrayEquals(
                spooled, delivered, "the MX got the spooled bytes: signed once, not again");
        List<List<Verdict>> v =
                DkimVerifier.verifyAll(
                        List.of(
                                delivered,
                                new String(delivered, StandardCharsets.UTF_8)
                                        .replace("Grüße", "Gruesse")
                                        .getBytes(StandardCharsets.UTF_8)),
                        f.dns);
        assertAllPass(v.get(0), 2, "example.org");
        assertEquals(2, v.get(1).size());
        v.get(1).forEach(x -> assertTrue(!x.pass(), "a changed body must fail: " + x));
        assertEquals(
                List.of("rsa-sha256", "ed25519-sha256"),
                v.get(0).stream().map(Verdict::algorithm).toList());

        // signed once, before the first relay stopped: the second relay signed nothing (its
        // counters, one per key, exist at 0)
        assertEquals(
                List.of(0.0, 0.0),
                f
                        .relay()
                        .metrics()
                        .registry()
                        .find("tlsrelay.dkim.signed")
                        .tags("domain", "example.org")
                        .counters()
                        .stream()
                        .map(io.micrometer.core.instrument.Counter::count)
                        .toList());
    }

    @Test
    void aDsnIsSignedWithTheKeyOfTheRelaysHostnameDomain() throws Exception {
        Path rsa = keygen(dir, f.dns, "relay.test", "rsa2026", "rsa");
        Path ed = keygen(dir, f.dns, "relay.test", "ed2026", "ed25519");
        f.extraYaml = dkimYaml("relay.test", rsa, ed, "none");
        TestMx dest =
                f.mx(
                        "mx.dest.test",
                        TestMx.builder()
                                .startTls(DeliveryFixture.CA.issue("mx.dest.test"))
                                .recipientReply("nobody@dest.test", "550 5.1.1 no such user"));
        f.dns.mx("dest.test", 10, "mx.dest.test");
        f.start("", "");

        f.send(
                "alice@example.org",
                List.of("nobody@dest.test"),
                DeliveryFixture.message("bounce me"));

        Await.until(() -> senderMx.messages().size() == 1, WAIT, "the DSN at the sender's MX");
        byte[] dsn = senderMx.messages().get(0).content();
        String text = new String(dsn, StandardCharsets.UTF_8);
        assertTrue(text.contains("report-type=delivery-status"), text);
        assertTrue(text.contains("From: Mail Delivery System <MAILER-DAEMON@relay.test>"), text);
        // relayed: none: the bounced message itself was not signed
        assertTrue(dest.messages().isEmpty());
        assertAllPass(DkimVerifier.verify(dsn, f.dns), 2, "relay.test");
    }

    private Optional<QueueState> state(String id) {
        try {
            return f.queued(id).map(QueuedMessage::state);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
