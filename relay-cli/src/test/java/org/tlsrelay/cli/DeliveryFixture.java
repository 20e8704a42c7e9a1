package org.tlsrelay.cli;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.tlsrelay.core.config.ConfigLoader;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.smtp.delivery.PolicyOverride;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.TestCa;

/**
 * A relay started with {@link Relay#start} on a test configuration, a DNS stub, and destination MXs that all listen on
 * one port ({@code delivery.port}) on different loopback addresses (127.0.0.2, 127.0.0.3, ...), so that each MX host
 * name in DNS reaches its own server. Everything on loopback; close it at the end of the test.
 */
final class DeliveryFixture implements AutoCloseable {
    static final TestCa CA = TestCa.create("Delivery Test CA");
    static final TestCa ROGUE = TestCa.create("Rogue CA");

    final Path dir;
    final DnsStubServer dns;
    final List<TestMx> mxs = new ArrayList<>();
    final List<TlsOutcome> outcomes = new CopyOnWriteArrayList<>();
    private int port;
    private int nextAddress = 2;
    private Relay relay;
    private Path configFile;

    /** Whether the relay records TLS-RPT outcomes (off unless a test is about reports). */
    boolean reportsEnabled;

    /**
     * The {@code dns:} keys after servers and timeout: DNSSEC off unless a test serves signed zones (the stub's
     * plain zones cannot be validated from the root anchors).
     */
    String dnsExtra = "  dnssec: off\n";

    /** The resolver the relay asks ({@code dns.servers}); the stub unless a test puts a proxy or unbound before it. */
    HostPort dnsServer;

    /** The {@code policy.mta-sts} line: off unless a test serves MTA-STS policies (then with its HTTPS port). */
    String mtaSts = "  mta-sts: { enabled: false }\n";

    /** Top-level sections appended to the configuration (e.g. {@code dkim:}). */
    String extraYaml = "";

    /** Keys added to the {@code server:} section (e.g. {@code shutdown-grace}), each line indented by two. */
    String serverExtra = "";

    DeliveryFixture(Path dir) throws IOException {
        this.dir = dir;
        this.dns = DnsStubServer.start();
    }

    /** Starts an MX on the next loopback address and the shared port, and points {@code host}'s A record at it. */
    TestMx mx(String host, TestMx.Builder builder) throws IOException {
        for (int tries = 0; ; tries++) {
            String ip = "127.0.0." + nextAddress;
            try {
                TestMx mx = builder.hostname(host).bind(InetAddress.getByName(ip), port).start();
                nextAddress++;
                port = mx.port();
                mxs.add(mx);
                dns.a(host, ip);
                return mx;
            } catch (BindException e) {
                if (tries > 5 || mxs.isEmpty()) {
                    throw e;
                }
                // someone else holds the shared port on this address: skip the address
                nextAddress++;
            }
        }
    }

    int port() {
        return port;
    }

    /**
     * Starts the relay. {@code yaml} is the configuration after the common part (server, spool, delivery port,
     * trust, DNS): e.g. a {@code policy.overrides} block and {@code delivery.retry}.
     */
    Relay start(String deliveryExtra, String policyYaml) throws Exception {
        return start(deliveryExtra, policyYaml, Relay.TLS_RPT_EXEMPTION);
    }

    Relay start(String deliveryExtra, String policyYaml, PolicyOverride override) throws Exception {
        writeConfig(deliveryExtra, policyYaml);
        relay =
                Relay.start(
                        ConfigLoader.load(configFile), new Relay.Hooks(outcomes::add, override));
        return relay;
    }

    /** Writes the configuration {@link #start} would use, without starting: for {@code tlsrelay run} itself. */
    Path writeConfig(String deliveryExtra, String policyYaml) throws IOException {
        Path ca = CA.writeCertificatePem(dir.resolve("ca.pem"));
        String yaml =
                "server:\n"
                        + "  listen: \"127.0.0.1:0\"\n"
                        + "  hostname: relay.test\n"
                        + serverExtra
                        + "spool:\n"
                        + "  dir: "
                        + dir.resolve("data/spool")
                        + "\n"
                        + "delivery:\n"
                        + "  port: "
                        + port
                        + "\n"
                        + "  helo-name: relay.test\n"
                        + "  connect-timeout: 5s\n"
                        + "  command-timeout: 10s\n"
                        + "  trust: { system: false, extra-ca: [\""
                        + ca
                        + "\"] }\n"
                        + deliveryExtra
                        + "dns:\n"
                        + "  servers: [\""
                        + (dnsServer != null ? dnsServer : dns.address())
                        + "\"]\n"
                        + "  timeout: 2s\n"
                        + dnsExtra
                        + "policy:\n"
                        + mtaSts
                        + policyYaml
                        + "reports: { enabled: "
                        + reportsEnabled
                        + " }\n"
                        + "admin: { listen: \"127.0.0.1:0\" }\n"
                        + extraYaml;
        configFile = Files.writeString(dir.resolve("tlsrelay.yaml"), yaml);
        return configFile;
    }

    Path configFile() {
        return configFile;
    }

    Relay relay() {
        return relay;
    }

    /** Submits one message to the relay over SMTP; returns the relay's queue id. */
    String send(String from, List<String> to, String content) throws IOException {
        try (RawSmtpClient c = client()) {
            return queueId(c.sendMessage(from, to, content));
        }
    }

    /** A connected, greeted client (after EHLO) for several messages. */
    RawSmtpClient client() throws IOException {
        RawSmtpClient c =
                new RawSmtpClient(
                        new InetSocketAddress(
                                relay.address().getAddress(), relay.address().getPort()));
        RawSmtpClient.expect(c.reply(), 220);
        RawSmtpClient.expect(c.command("EHLO client.test"), 250);
        return c;
    }

    static String queueId(RawSmtpClient.Reply reply) throws IOException {
        RawSmtpClient.expect(reply, 250);
        String text = reply.last();
        int at = text.indexOf("queued as ");
        return at < 0 ? text : text.substring(at + "queued as ".length()).trim();
    }

    /** The message in the spool, if still queued. */
    java.util.Optional<QueuedMessage> queued(String id) throws IOException {
        return relay.spool().find(id);
    }

    static String message(String subject) {
        return "From: sender@sender.test\r\nTo: someone\r\nSubject: "
                + subject
                + "\r\nMessage-ID: <"
                + subject
                + "@client.test>\r\n\r\nHello, "
                + subject
                + ".\r\n";
    }

    @Override
    public void close() throws IOException {
        if (relay != null) {
            relay.close();
        }
        for (TestMx mx : mxs) {
            mx.close();
        }
        dns.close();
    }
}
