package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.RetrySchedule;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.outbound.OutboundSettings;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.FakeDnsResolver;

/**
 * Issue 11 §2, one stuck MX host must not stall everyone else. Seen before: 15 domains whose MX accepts TCP and never
 * greets took all 100 delivery connections, and a healthy domain's mail waited for their timeouts. Here a blackhole
 * on 127.0.0.2 (two MX names, fifteen domains) and a healthy MX on 127.0.0.1, real sockets: the blackhole gets no
 * more than its per-host share, the healthy domain is delivered while the blackhole's connections still hang, and
 * once they time out the host's circuit breaker defers the rest without connecting.
 */
class StuckHostTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int TOTAL = 12;
    private static final int PER_HOST = 4;
    private static final Duration GREETING_TIMEOUT = Duration.ofSeconds(5);

    @TempDir Path dir;
    private final FakeDnsResolver dns = new FakeDnsResolver();
    private final List<AutoCloseable> closing = new ArrayList<>();
    private Spool spool;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    @Test
    void aBlackholeHostGetsItsShareAndTheHealthyDomainIsDeliveredWithinSeconds() throws Exception {
        spool = Spool.open(dir.resolve("spool"), Spool.Options.defaults());
        closing.add(spool);
        TestMx healthy = mx(TestMx.builder().hostname("mx.healthy.test"), "127.0.0.1", 0);
        TestMx blackhole =
                mx(TestMx.builder().silentAt(TestMx.Silence.GREETING), "127.0.0.2", healthy.port());
        dns.mx("healthy.test", 10, "mx.healthy.test").a("mx.healthy.test", "127.0.0.1");
        dns.a("mx1.blackhole.test", "127.0.0.2").a("mx2.blackhole.test", "127.0.0.2");
        List<String> stuck = new ArrayList<>();
        for (int d = 0; d < 15; d++) {
            String domain = "bh" + d + ".test";
            dns.mx(domain, 10, d % 2 == 0 ? "mx1.blackhole.test" : "mx2.blackhole.test");
            for (int i = 0; i < 4; i++) {
                stuck.add(enqueue("r" + i + "@" + domain));
            }
        }
        List<String> fine = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            fine.add(enqueue("r" + i + "@healthy.test"));
        }

        DeliveryEngine engine = engine(healthy.port());
        Instant start = Instant.now();
        AtomicInteger mostOpen = new AtomicInteger();
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        closing.add(0, sampler::shutdownNow);
        sampler.scheduleAtFixedRate(
                () -> mostOpen.accumulateAndGet(engine.openConnections(), Math::max),
                0,
                5,
                TimeUnit.MILLISECONDS);

        Await.until(
                () -> healthy.messages().size() == fine.size(),
                WAIT,
                "the healthy domain delivered");
        Duration healthyTook = Duration.between(start, Instant.now());
        assertTrue(
                stuck.stream().noneMatch(this::deferred),
                "delivered while the blackhole still holds its connections (" + healthyTook + ")");
        assertEquals(
                PER_HOST,
                blackhole.connections().size(),
                "the blackhole holds its per-host share, across its two names and fifteen domains");

        // the greeting timeouts open the host's breaker: the messages waiting for it are deferred
        // without connecting
        Await.until(
                () -> stuck.stream().allMatch(this::deferred),
                WAIT,
                "every message for the blackhole deferred");
        Duration stuckTook = Duration.between(start, Instant.now());
        assertEquals(
                PER_HOST, blackhole.connections().size(), "no connection after the breaker opened");
        long resting =
                stuck.stream()
                        .map(this::lastReply)
                        .filter(r -> r.contains("not connected: the host did not answer"))
                        .count();
        assertEquals(stuck.size() - PER_HOST, resting, "deferred by the breaker");
        assertTrue(mostOpen.get() <= TOTAL, "open connections " + mostOpen.get() + " > " + TOTAL);
        System.out.printf(
                "stuck host: %d healthy messages delivered in %d ms beside %d messages for a blackhole (%d "
                        + "connections to it, greeting timeout %s); all blackhole messages deferred after %d ms%n",
                fine.size(),
                healthyTook.toMillis(),
                stuck.size(),
                blackhole.connections().size(),
                GREETING_TIMEOUT,
                stuckTook.toMillis());
    }

    @Test
    void idleConnectionsCountAgainstTheTotalAndAreClosedToMakeRoom() throws Exception {
        spool = Spool.open(dir.resolve("spool"), Spool.Options.defaults());
        closing.add(spool);
        TestMx a = mx(TestMx.builder().hostname("mx.a.test"), "127.0.0.1", 0);
        TestMx b = mx(TestMx.builder().hostname("mx.b.test"), "127.0.0.3", a.port());
        TestMx c = mx(TestMx.builder().hostname("mx.c.test"), "127.0.0.4", a.port());
        dns.mx("a.test", 10, "mx.a.test").a("mx.a.test", "127.0.0.1");
        dns.mx("b.test", 10, "mx.b.test").a("mx.b.test", "127.0.0.3");
        dns.mx("c.test", 10, "mx.c.test").a("mx.c.test", "127.0.0.4");
        DeliveryEngine engine = engine(a.port(), 2);

        enqueue("x@a.test");
        enqueue("x@b.test");
        Await.until(
                () -> a.messages().size() == 1 && b.messages().size() == 1,
                WAIT,
                "a and b delivered");
        Await.until(() -> engine.idleConnections() == 2, WAIT, "both connections kept for reuse");
        assertEquals(2, engine.openConnections(), "idle connections count");

        enqueue("x@c.test");
        Await.until(() -> c.messages().size() == 1, WAIT, "c delivered, in room an idle one made");
        assertTrue(engine.openConnections() <= 2, "open " + engine.openConnections());
        assertTrue(
                a.commands().contains("QUIT") || b.commands().contains("QUIT"),
                "the idle connection unused for longest was closed with QUIT");
    }

    private boolean deferred(String id) {
        try {
            return spool.find(id)
                    .map(m -> m.state() == QueueState.DEFERRED && m.envelope().attempts() == 1)
                    .orElse(false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String lastReply(String id) {
        try {
            return spool.find(id).orElseThrow().envelope().recipients().get(0).lastReply();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private TestMx mx(TestMx.Builder b, String ip, int port) throws IOException {
        try {
            TestMx mx = b.bind(InetAddress.getByName(ip), port).start();
            closing.add(mx);
            return mx;
        } catch (BindException e) {
            throw new org.opentest4j.TestAbortedException(
                    "port " + port + " is taken on " + ip + ": " + e.getMessage());
        }
    }

    private DeliveryEngine engine(int port) {
        return engine(port, TOTAL);
    }

    private DeliveryEngine engine(int port, int total) {
        EngineSettings settings =
                new EngineSettings(
                                port,
                                total,
                                10,
                                new RetrySchedule(List.of(Duration.ofHours(1)), Duration.ofDays(5)),
                                "relay.test",
                                256,
                                2,
                                Duration.ofMillis(300))
                        .withHostLimits(PER_HOST, Duration.ofMinutes(10));
        DeliveryEngine e =
                DeliveryEngine.builder(spool, dns, new PolicyTable())
                        .settings(settings)
                        .outbound(
                                OutboundSettings.defaults("relay.test")
                                        .withTimeouts(Duration.ofSeconds(2), GREETING_TIMEOUT),
                                TrustMaterial.of(List.of()))
                        .random(new Random(1))
                        .start();
        closing.add(0, e);
        return e;
    }

    private String enqueue(String recipient) throws IOException {
        try (Spool.Reception r = spool.receive()) {
            r.body()
                    .write(
                            "Subject: stuck host\r\n\r\nhello\r\n"
                                    .getBytes(StandardCharsets.US_ASCII));
            Instant now = spool.clock().instant();
            QueuedMessage q =
                    r.commit(
                            Envelope.accepted(
                                    r.id(),
                                    now,
                                    "s@x.test",
                                    List.of(RecipientStatus.pending(recipient, Set.of(), "", now)),
                                    Envelope.BodyType.UNSPECIFIED,
                                    false,
                                    Envelope.Ret.UNSPECIFIED,
                                    "",
                                    Envelope.Source.local()));
            return q.id();
        }
    }
}
