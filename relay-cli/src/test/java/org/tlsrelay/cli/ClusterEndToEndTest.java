package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.config.ConfigLoader;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.report.PreparedReport;
import org.tlsrelay.core.report.ReportJson;
import org.tlsrelay.core.report.ReportService;
import org.tlsrelay.core.report.ReportTransport;
import org.tlsrelay.core.report.Rua;
import org.tlsrelay.core.report.TlsReport;
import org.tlsrelay.smtp.cluster.ClusterStatus;
import org.tlsrelay.smtp.dns.DnsjavaResolver;
import org.tlsrelay.smtp.inbound.RawSmtpClient;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.RedisServer;
import org.tlsrelay.testkit.TestHttpsServer;
import redis.clients.jedis.Jedis;

/**
 * Two relays sharing a real redis-server (issue 18), one MX, an MTA-STS policy host and a DNS stub, all on loopback:
 * one MTA-STS fetch serves both relays, a per-domain limit of 2 holds across both (the MX counts its concurrent DATA
 * phases), the day's traffic through both becomes one TLS-RPT report with the summed counts, sent once, and an outage
 * of Redis stops neither relay, which reconcile when it is back. The figures are printed as {@code MEASURED ...}.
 */
class ClusterEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String DOMAIN = "cluster.test";
    private static final String MX = "mx.cluster.test";

    @TempDir Path dir;
    private RedisServer redis;
    private DnsStubServer dns;
    private TestMx mx;
    private TestHttpsServer https;
    private Node a;
    private Node b;

    /** One relay of the cluster and what it saw. */
    private record Node(String id, Relay relay, Path config, List<TlsOutcome> outcomes) {
        long sessions() {
            return outcomes.stream()
                    .filter(o -> o.policy().domain().equals(DOMAIN) && o.success())
                    .count();
        }
    }

    /** Records report deliveries instead of mailing them (the mail path has its own tests). */
    private static final class Recorded implements ReportTransport {
        final List<TlsReport> sent = new CopyOnWriteArrayList<>();

        @Override
        public boolean accepts(Rua rua) {
            return rua.uri().startsWith("mailto:");
        }

        @Override
        public Result send(Rua rua, PreparedReport report) {
            try {
                sent.add(ReportJson.parseGzip(report.gzip()));
            } catch (IOException e) {
                return new Result.Failed(e.getMessage());
            }
            return new Result.Sent("recorded");
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(RedisServer.installed(), "redis-server is not installed (.ci/run installs it)");
        redis = RedisServer.start(Files.createDirectories(dir.resolve("redis")));
        dns = DnsStubServer.start();
        mx = TestMx.builder().hostname(MX).startTls(DeliveryFixture.CA.issue(MX)).start();
        https =
                TestHttpsServer.start(
                        DeliveryFixture.CA.issue("mta-sts." + DOMAIN).serverContext());
        https.respond(
                "/.well-known/mta-sts.txt",
                TestHttpsServer.Response.text(
                        "version: STSv1\nmode: enforce\nmx: " + MX + "\nmax_age: 86400\n"));
        dns.a(MX, "127.0.0.1")
                .mx(DOMAIN, 10, MX)
                .a("mta-sts." + DOMAIN, "127.0.0.1")
                .txt("_mta-sts." + DOMAIN, "v=STSv1; id=cluster1")
                .txt("_smtp._tls." + DOMAIN, "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test");
        a = start("relay-a");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Node n : new Node[] {a, b}) {
            if (n != null) {
                n.relay().close();
            }
        }
        if (https != null) {
            https.close();
        }
        if (mx != null) {
            mx.close();
        }
        if (dns != null) {
            dns.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    private Node start(String id) throws Exception {
        Path home = Files.createDirectories(dir.resolve(id));
        Path ca = DeliveryFixture.CA.writeCertificatePem(home.resolve("ca.pem"));
        String yaml =
                "server:\n"
                        + "  listen: \"127.0.0.1:0\"\n"
                        + "  hostname: "
                        + id
                        + ".test\n"
                        + "spool:\n"
                        + "  dir: "
                        + home.resolve("data/spool")
                        + "\n"
                        + "delivery:\n"
                        + "  port: "
                        + mx.port()
                        + "\n"
                        + "  helo-name: "
                        + id
                        + ".test\n"
                        + "  connect-timeout: 5s\n"
                        + "  command-timeout: 10s\n"
                        + "  trust: { system: false, extra-ca: [\""
                        + ca
                        + "\"] }\n"
                        + "  concurrency: { per-domain: 2 }\n"
                        + "dns:\n"
                        + "  servers: [\""
                        + dns.address()
                        + "\"]\n"
                        + "  timeout: 2s\n"
                        + "  dnssec: off\n"
                        + "policy:\n"
                        + "  mta-sts: { https-port: "
                        + https.port()
                        + " }\n"
                        + "reports: { enabled: true, organization: Cluster Test, submitter: "
                        + id
                        + ".test }\n"
                        + "admin: { listen: \"127.0.0.1:0\" }\n"
                        + "cluster:\n"
                        + "  redis: \""
                        + redis.url()
                        + "\"\n"
                        + "  node-id: "
                        + id
                        + "\n";
        Path config = Files.writeString(home.resolve("tlsrelay.yaml"), yaml);
        List<TlsOutcome> outcomes = new CopyOnWriteArrayList<>();
        Relay relay =
                Relay.start(
                        ConfigLoader.load(config),
                        new Relay.Hooks(outcomes::add, Relay.TLS_RPT_EXEMPTION));
        return new Node(id, relay, config, outcomes);
    }

    private static void send(Node n, int count, String tag) throws IOException {
        InetSocketAddress at = n.relay().address();
        try (RawSmtpClient c =
                new RawSmtpClient(new InetSocketAddress(at.getAddress(), at.getPort()))) {
            RawSmtpClient.expect(c.reply(), 220);
            RawSmtpClient.expect(c.command("EHLO client.test"), 250);
            for (int i = 0; i < count; i++) {
                String subject = tag + "-" + n.id() + "-" + i;
                RawSmtpClient.expect(
                        c.sendMessage(
                                "app@sender.test",
                                List.of("bob@" + DOMAIN),
                                DeliveryFixture.message(subject)),
                        250);
            }
        }
    }

    private void awaitDelivered(int total, String what) {
        Await.until(() -> mx.messages().size() >= total, WAIT, what);
        assertEquals(total, mx.messages().size(), "every message delivered exactly once");
    }

    /** Both relays send a burst to the one domain while the MX holds each end of data; returns the most at once. */
    private int burst(int perRelay, String tag) throws IOException {
        int before = mx.messages().size();
        mx.delayEndOfDataReply(Duration.ofMillis(250));
        mx.resetMaxConcurrentData();
        send(a, perRelay, tag);
        send(b, perRelay, tag);
        awaitDelivered(before + 2 * perRelay, tag + " burst delivered");
        mx.delayEndOfDataReply(Duration.ZERO);
        return mx.maxConcurrentData();
    }

    private ReportService reportService(Node n, Recorded transport, LocalDate day)
            throws Exception {
        var config = ConfigLoader.load(n.config());
        // the day is over for this service: it reports, as the relay's daily job would after
        // midnight
        Clock after =
                Clock.fixed(
                        day.plusDays(1).atTime(0, 10).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);
        ReportService s =
                ReportWiring.service(
                        config, DnsjavaResolver.create(config.dns()), List.of(transport), after);
        s.shareWith(n.relay().cluster().orElseThrow().reports());
        return s;
    }

    /** Waits until each relay's outcome log holds every session it saw (the recorder syncs in batches). */
    private void awaitLogged(LocalDate day) throws Exception {
        for (Node n : List.of(a, b)) {
            ReportService s = reportService(n, new Recorded(), day);
            Await.until(
                    () -> {
                        try {
                            return s
                                            .preview(day, java.util.Optional.of(DOMAIN))
                                            .aggregate()
                                            .reports()
                                            .stream()
                                            .mapToLong(ReportCommand.Show::successes)
                                            .sum()
                                    == n.sessions();
                        } catch (IOException e) {
                            return false;
                        }
                    },
                    WAIT,
                    n.id() + "'s outcome log complete");
        }
    }

    /** Runs the day's report on A, then B, then A again: returns what was sent. */
    private List<TlsReport> reportTheDay(LocalDate day) throws Exception {
        awaitLogged(day);
        Recorded sent = new Recorded();
        ReportService.RunResult first = reportService(a, sent, day).run(day, false);
        assertTrue(
                first.lookupFailed().getOrDefault(DOMAIN, "").contains("relay-b"),
                "A waits for B's final counts: " + first.lookupFailed());
        assertEquals(List.of(), sent.sent, "nothing sent before every live relay published");
        reportService(b, sent, day).run(day, false);
        reportService(a, sent, day).run(day, false);
        reportService(b, sent, day).run(day, false);
        return sent.sent;
    }

    private static long successes(TlsReport r) {
        return ReportCommand.Show.successes(r);
    }

    @Test
    void twoRelaysShareOnePolicyFetchOneDomainLimitAndOneSummedReport() throws Exception {
        LocalDate day = LocalDate.now(ZoneOffset.UTC);
        send(a, 1, "first");
        awaitDelivered(1, "A's first message");
        assertEquals(1, https.requests().size(), "A fetched the policy");

        try (Jedis j = new Jedis("127.0.0.1", redis.port())) {
            Await.until(() -> j.hexists("tlsrelay:mta-sts", DOMAIN), WAIT, "A shared the policy");
        }
        b = start("relay-b"); // a relay that starts beside a running cluster
        assertEquals(
                1,
                b.relay().cluster().orElseThrow().policiesAdopted(),
                "B took the shared policy while it started, before its first delivery");

        send(b, 1, "first");
        awaitDelivered(2, "B's first message");
        assertEquals(1, https.requests().size(), "B used A's policy without fetching it");
        assertTrue(
                b.outcomes().stream().anyMatch(o -> o.success() && o.policy().isMtaSts()),
                "B delivered under the MTA-STS policy: " + b.outcomes());

        int most = burst(6, "burst");
        assertTrue(
                most <= 2, "per-domain 2 across both relays, but the MX saw " + most + " at once");
        assertTrue(
                a.sessions() > 0 && b.sessions() > 0, "both relays delivered part of the traffic");

        List<TlsReport> sent = reportTheDay(day);
        assertEquals(1, sent.size(), "one report for the domain and day: " + sent);
        TlsReport r = sent.get(0);
        assertEquals(DOMAIN, r.policyDomain());
        assertEquals(a.sessions() + b.sessions(), successes(r), "the sum of both relays' sessions");
        assertEquals("sts", r.policies().get(0).policy().policyType());

        CliRun show = CliRun.run("report", "show", "--config", a.config().toString(), "--json");
        assertEquals(0, show.exit(), show.err());
        JsonNode cluster = new ObjectMapper().readTree(show.out()).get("cluster");
        assertEquals(
                a.sessions() + b.sessions(),
                cluster.get("domains").get(0).get("successful-sessions").asLong());
        assertEquals(
                a.sessions(),
                cluster.get("domains").get(0).get("local-successful-sessions").asLong());

        System.out.printf(
                "MEASURED cluster: policy fetches %d for 2 relays; max concurrent deliveries to %s %d (limit 2 across"
                        + " the cluster, 12 messages); sessions A %d + B %d = report %d; reports sent %d%n",
                https.requests().size(),
                DOMAIN,
                most,
                a.sessions(),
                b.sessions(),
                successes(r),
                sent.size());
    }

    @Test
    void aRedisOutageStopsNeitherRelayAndTheyReconcileWhenItIsBack() throws Exception {
        LocalDate day = LocalDate.now(ZoneOffset.UTC);
        b = start("relay-b");
        send(a, 1, "before");
        awaitDelivered(1, "a message before the outage");
        Await.until(
                () -> b.relay().cluster().orElseThrow().policiesAdopted() >= 1,
                WAIT,
                "B, running, took the policy A fetched");

        redis.stop();
        Await.until(
                () ->
                        !a.relay().cluster().orElseThrow().link().up()
                                && !b.relay().cluster().orElseThrow().link().up(),
                WAIT,
                "both relays notice Redis is gone");
        assertTrue(a.relay().health().readiness().isEmpty(), "A stays ready");
        assertTrue(
                a.relay().health().degraded().orElse("").contains("unreachable"),
                "A says it works on local state: " + a.relay().health().degraded());
        send(a, 4, "outage");
        send(b, 4, "outage");
        awaitDelivered(9, "the messages accepted during the outage");
        int duringOutage = mx.messages().size() - 1;
        assertEquals(
                1,
                https.requests().size(),
                "B used the policy it had taken, during the outage too");

        redis.start(); // empty, as after a restart without persistence
        Await.until(
                () ->
                        a.relay().cluster().orElseThrow().link().up()
                                && b.relay().cluster().orElseThrow().link().up(),
                WAIT,
                "both relays reconnect");
        Await.until(
                () -> {
                    try (var link =
                            ClusterStatus.connect(
                                    org.tlsrelay.core.config.RedisUrl.parse(redis.url()),
                                    "test",
                                    Duration.ofSeconds(1))) {
                        List<ClusterStatus.Node> nodes = ClusterStatus.read(link);
                        return nodes.size() == 2
                                && nodes.stream().allMatch(ClusterStatus.Node::live);
                    } catch (IOException e) {
                        return false;
                    }
                },
                WAIT,
                "both relays heart-beat again");
        try (Jedis j = new Jedis("127.0.0.1", redis.port())) {
            Await.until(
                    () -> j.hexists("tlsrelay:mta-sts", DOMAIN),
                    WAIT,
                    "the policy the relays hold is shared again");
        }
        int most = burst(4, "after");
        assertTrue(most <= 2, "the cluster-wide limit holds again, but the MX saw " + most);

        CliRun status =
                CliRun.run("cluster", "status", "--config", a.config().toString(), "--json");
        assertEquals(0, status.exit(), status.out() + status.err());
        JsonNode nodes = new ObjectMapper().readTree(status.out()).get("nodes");
        List<String> ids = new ArrayList<>();
        nodes.forEach(n -> ids.add(n.get("node").asText() + ":" + n.get("state").asText()));
        assertEquals(List.of("relay-a:live", "relay-b:live"), ids);

        List<TlsReport> sent = reportTheDay(day);
        assertEquals(1, sent.size(), "one report: " + sent);
        assertEquals(
                a.sessions() + b.sessions(),
                successes(sent.get(0)),
                "the report counts what both relays delivered, during the outage too");
        System.out.printf(
                "MEASURED cluster outage: delivered during the Redis outage %d of 8; after reconnect max concurrent"
                        + " %d (limit 2); report sessions %d (A %d + B %d); policy fetches %d%n",
                duringOutage,
                most,
                successes(sent.get(0)),
                a.sessions(),
                b.sessions(),
                https.requests().size());
    }
}
