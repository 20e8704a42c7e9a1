package org.tlsrelay.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.queue.Envelope;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.RecipientStatus;
import org.tlsrelay.core.queue.RetrySchedule;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.outbound.OutboundSettings;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;
import org.tlsrelay.testkit.FakeDnsResolver;
import org.tlsrelay.testkit.MutableClock;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestPolicies;

/**
 * The engine with its real spool, outbound client and a test MX on loopback; DNS and policies from tables in memory.
 */
class DeliveryEngineTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final TestCa CA = TestCa.create("Engine Test CA");

    @TempDir Path dir;
    private final FakeDnsResolver dns = new FakeDnsResolver();
    private final PolicyTable policies = new PolicyTable();
    private final List<TlsOutcome> outcomes = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closeLast = new ArrayList<>();
    private final List<AutoCloseable> closeFirst = new ArrayList<>();
    private Spool spool;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeFirst) {
            c.close();
        }
        for (AutoCloseable c : closeLast) {
            c.close();
        }
    }

    private Spool spool(Spool.Options options) throws IOException {
        spool = Spool.open(dir.resolve("spool"), options);
        closeLast.add(spool);
        return spool;
    }

    private TestMx mx(TestMx.Builder b) throws IOException {
        TestMx mx = b.start();
        closeLast.add(mx);
        return mx;
    }

    private DeliveryEngine engine(
            int port, int total, int perDomain, RetrySchedule retry, PolicyOverride override) {
        EngineSettings settings =
                new EngineSettings(
                        port, total, perDomain, retry, "relay.test", 64, 2, Duration.ofMillis(300));
        DeliveryEngine e =
                DeliveryEngine.builder(spool, dns, policies)
                        .settings(settings)
                        .outbound(
                                OutboundSettings.defaults("relay.test")
                                        .withTimeouts(
                                                Duration.ofSeconds(5), Duration.ofSeconds(30)),
                                TrustMaterial.of(List.of(CA.certificate())))
                        .policyOverride(override)
                        .outcomes(outcomes::add)
                        .random(new Random(1))
                        .start();
        closeFirst.add(0, e);
        return e;
    }

    private DeliveryEngine engine(int port) {
        return engine(
                port,
                10,
                5,
                new RetrySchedule(List.of(Duration.ofHours(1)), Duration.ofDays(5)),
                PolicyOverride.none());
    }

    private String enqueue(String sender, RecipientStatus... rcpts) throws IOException {
        try (Spool.Reception r = spool.receive()) {
            r.body().write("Subject: test\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            Instant now = spool.clock().instant();
            return r.commit(
                            Envelope.accepted(
                                    r.id(),
                                    now,
                                    sender,
                                    List.of(rcpts),
                                    Envelope.BodyType.UNSPECIFIED,
                                    false,
                                    Envelope.Ret.UNSPECIFIED,
                                    "",
                                    Envelope.Source.local()))
                    .id();
        }
    }

    private static RecipientStatus rcpt(String address, RecipientStatus.Notify... notify) {
        return RecipientStatus.pending(address, Set.of(notify), "", Instant.EPOCH);
    }

    private Optional<QueuedMessage> find(String id) {
        try {
            return spool.find(id);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<QueuedMessage> queue() {
        try {
            return spool.list();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void keepsToTheLimitsInAllAndPerDomainAndGivesBackWhatDidNotRunAtShutdown() throws Exception {
        spool(Spool.Options.defaults());
        // the MX never answers the end of data: every attempt holds its connection
        TestMx mx = mx(TestMx.builder().silentAt(TestMx.Silence.END_OF_DATA));
        dns.mx("a.test", 10, "mx.a.test")
                .mx("b.test", 10, "mx.b.test")
                .a("mx.a.test", "127.0.0.1")
                .a("mx.b.test", "127.0.0.1");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ids.add(enqueue("s@x.test", rcpt("r" + i + "@a.test")));
            ids.add(enqueue("s@x.test", rcpt("r" + i + "@b.test")));
        }
        DeliveryEngine engine =
                engine(
                        mx.port(),
                        3,
                        2,
                        new RetrySchedule(List.of(Duration.ofHours(1)), Duration.ofDays(5)),
                        PolicyOverride.none());

        Await.until(
                () ->
                        engine.stats().inHand() == 8
                                && engine.stats().running() == 4
                                && engine.waitingForConnection() == 1
                                && mx.messages().size() == 3,
                WAIT,
                "two attempts per domain running, three of them connected (the total), four messages waiting");
        assertEquals(3, mx.connections().size(), "no more connections than the total limit");
        assertEquals(3, engine.openConnections());
        long perA =
                mx.messages().stream().filter(m -> m.rcptTo().get(0).contains("@a.test")).count();
        assertTrue(perA >= 1 && perA <= 2, "at most two per domain: " + perA);

        engine.close();

        // nothing lost: every message is still queued, none in active/, none completed
        List<QueuedMessage> left = queue();
        assertEquals(Set.copyOf(ids), Set.copyOf(left.stream().map(QueuedMessage::id).toList()));
        assertTrue(left.stream().noneMatch(m -> m.state() == QueueState.ACTIVE), left.toString());
        assertEquals(
                5,
                left.stream().filter(m -> m.envelope().attempts() == 0).count(),
                "the five that never connected were given back without an attempt");
        assertTrue(engine.cutAtStop(), "the three connected ones were cut after the grace");
        Instant now = spool.clock().instant();
        assertTrue(
                left.stream().noneMatch(m -> m.envelope().nextAttempt().isAfter(now)),
                "every one is due again at once: " + left);
    }

    @Test
    void recipientsAtSeveralDomainsAreDeliveredPerDomainAndAPermanentFailureBouncesOnce()
            throws Exception {
        spool(Spool.Options.defaults());
        TestMx mx = mx(TestMx.builder().recipientReply("gone@b.test", "550 5.1.1 no such user"));
        dns.mx("a.test", 10, "mx.a.test")
                .mx("b.test", 10, "mx.b.test")
                .mx("x.test", 10, "mx.x.test")
                .a("mx.a.test", "127.0.0.1")
                .a("mx.b.test", "127.0.0.1")
                .a("mx.x.test", "127.0.0.1");
        String id =
                enqueue("s@x.test", rcpt("one@a.test"), rcpt("two@b.test"), rcpt("gone@b.test"));
        engine(mx.port());

        Await.until(() -> mx.messages().size() == 3, WAIT, "a.test, b.test and the DSN to x.test");
        Await.until(
                () -> find(id).isEmpty() && queue().isEmpty(),
                WAIT,
                "the message and the DSN done");
        List<TestMx.Received> got = mx.messages();
        assertEquals(1, got.stream().filter(m -> m.rcptTo().get(0).contains("one@a.test")).count());
        assertEquals(1, got.stream().filter(m -> m.rcptTo().get(0).contains("two@b.test")).count());
        TestMx.Received dsn =
                got.stream().filter(m -> m.mailFrom().startsWith("<>")).findFirst().orElseThrow();
        assertTrue(dsn.text().contains("Final-Recipient: rfc822; gone@b.test"), dsn.text());
        assertFalse(dsn.text().contains("Final-Recipient: rfc822; two@b.test"), dsn.text());
    }

    @Test
    void noDsnForTheNullSenderOrForNotifyNever() throws Exception {
        spool(Spool.Options.defaults());
        TestMx mx = mx(TestMx.builder().recipientReply("gone@b.test", "550 5.1.1 no such user"));
        dns.mx("b.test", 10, "mx.b.test")
                .mx("x.test", 10, "mx.x.test")
                .a("mx.b.test", "127.0.0.1")
                .a("mx.x.test", "127.0.0.1");
        String bounce = enqueue("", rcpt("gone@b.test"));
        String never = enqueue("s@x.test", rcpt("gone@b.test", RecipientStatus.Notify.NEVER));
        DeliveryEngine engine = engine(mx.port());

        Await.until(() -> find(bounce).isEmpty() && find(never).isEmpty(), WAIT, "both done");
        assertTrue(queue().isEmpty(), "no DSN was queued");
        assertEquals(0, engine.stats().dsns());
        assertEquals(0, mx.messages().size());
    }

    @Test
    void relaysASuccessNotificationWhenTheMxCannot() throws Exception {
        spool(Spool.Options.defaults());
        TestMx mx = mx(TestMx.builder().dsn(false));
        dns.mx("b.test", 10, "mx.b.test")
                .mx("x.test", 10, "mx.x.test")
                .a("mx.b.test", "127.0.0.1")
                .a("mx.x.test", "127.0.0.1");
        enqueue("s@x.test", rcpt("carol@b.test", RecipientStatus.Notify.SUCCESS));
        engine(mx.port());

        Await.until(() -> mx.messages().size() == 2, WAIT, "the message and the relayed DSN");
        TestMx.Received dsn =
                mx.messages().stream()
                        .filter(m -> m.mailFrom().startsWith("<>"))
                        .findFirst()
                        .orElseThrow();
        assertTrue(dsn.text().contains("Action: relayed"), dsn.text());
    }

    @Test
    void aPolicyOverrideReplacesTheDomainPolicy() throws Exception {
        spool(Spool.Options.defaults());
        TestMx mx = mx(TestMx.builder()); // no STARTTLS
        dns.mx("strict.test", 10, "mx.strict.test").a("mx.strict.test", "127.0.0.1");
        policies.put(TestPolicies.enforce("strict.test", "mx.strict.test"));
        String refused = enqueue("s@x.test", rcpt("a@strict.test"));
        String exempt = enqueue("report@x.test", rcpt("b@strict.test"));
        engine(
                mx.port(),
                10,
                5,
                new RetrySchedule(List.of(Duration.ofHours(1)), Duration.ofDays(5)),
                (env, domain) ->
                        env.sender().startsWith("report@")
                                ? Optional.of(TestPolicies.none(domain))
                                : Optional.empty());

        Await.until(() -> find(exempt).isEmpty(), WAIT, "the exempt message delivered");
        Await.until(
                () -> find(refused).map(m -> m.state() == QueueState.DEFERRED).orElse(false),
                WAIT,
                "the other deferred");
        assertEquals(1, mx.messages().size());
        assertEquals(List.of("<b@strict.test>"), mx.messages().get(0).rcptTo());
    }

    @Test
    void reChecksThePolicyBeforeGivingUpAndDeliversUnderANewOne() throws Exception {
        MutableClock clock = MutableClock.atFixedStart();
        spool(Spool.Options.defaults().withClock(clock));
        TestMx mx = mx(TestMx.builder()); // no STARTTLS: enforce refuses it
        dns.mx("strict.test", 10, "mx.strict.test").a("mx.strict.test", "127.0.0.1");
        policies.put(TestPolicies.enforce("strict.test", "mx.strict.test"));
        policies.putRevalidated(TestPolicies.none("strict.test")); // the domain dropped its policy
        String id = enqueue("s@x.test", rcpt("a@strict.test"));
        clock.advance(Duration.ofDays(5)); // at max-age: the last attempt

        engine(mx.port());

        Await.until(() -> find(id).isEmpty(), WAIT, "delivered after the re-check");
        assertEquals(1, policies.revalidations());
        assertEquals(1, mx.messages().size());
    }

    @Test
    void givesUpAtMaxAgeWhenTheReCheckedPolicyIsUnchanged() throws Exception {
        MutableClock clock = MutableClock.atFixedStart();
        spool(Spool.Options.defaults().withClock(clock));
        TestMx mx = mx(TestMx.builder());
        dns.mx("strict.test", 10, "mx.strict.test")
                .a("mx.strict.test", "127.0.0.1")
                .mx("x.test", 10, "mx.x.test")
                .a("mx.x.test", "127.0.0.1");
        policies.put(TestPolicies.enforce("strict.test", "mx.strict.test"));
        String id = enqueue("s@x.test", rcpt("a@strict.test"));
        clock.advance(Duration.ofDays(5));

        engine(mx.port());

        Await.until(() -> mx.messages().size() == 1, WAIT, "the DSN to the sender");
        assertEquals(1, policies.revalidations());
        assertTrue(find(id).isEmpty());
        TestMx.Received dsn = mx.messages().get(0);
        assertTrue(dsn.mailFrom().startsWith("<>"));
        assertTrue(dsn.text().contains("Status: 4.7.5"), dsn.text());
        assertFalse(
                mx.commands().stream().anyMatch(c -> c.contains("a@strict.test")),
                "never sent to the MX");
    }

    @Test
    void deliversToTheImplicitMxOfADomainWithoutMxRecords() throws Exception {
        spool(Spool.Options.defaults());
        TestMx mx = mx(TestMx.builder().startTls(CA.issue("plain.test")));
        dns.a("plain.test", "127.0.0.1");
        enqueue("s@x.test", rcpt("a@plain.test"));
        engine(mx.port());

        Await.until(() -> mx.messages().size() == 1, WAIT, "delivery to the domain's own address");
        assertTrue(mx.messages().get(0).tls());
        assertTrue(dns.queries().contains("MX plain.test"));
    }

    @Test
    void skipsAnMxOutsideTheEnforcedPolicyWithoutConnectingAndStillRecordsTheOutcome()
            throws Exception {
        spool(Spool.Options.defaults());
        TestMx mx =
                mx(
                        TestMx.builder()
                                .hostname("mx1.example.test")
                                .startTls(CA.issue("mx1.example.test")));
        dns.mx("example.test", 10, "mx1.example.test").a("mx1.example.test", "127.0.0.1");
        policies.put(TestPolicies.sts("example.test", PolicyMode.ENFORCE, "*.mail.example.test"));
        String id = enqueue("s@x.test", rcpt("a@example.test"));

        engine(mx.port());

        AtomicReference<String> lastReply = new AtomicReference<>("");
        Await.until(
                () ->
                        find(id).filter(m -> m.envelope().attempts() > 0)
                                .map(
                                        m -> {
                                            lastReply.set(
                                                    m.envelope().recipients().get(0).lastReply());
                                            return true;
                                        })
                                .orElse(false),
                WAIT,
                "the attempt");
        String reply = lastReply.get();
        assertTrue(reply.startsWith("451 4.7.5 mx1.example.test matches no MX pattern"), reply);
        assertTrue(mx.connections().isEmpty(), "connected to an MX the policy does not list");
        assertEquals(1, outcomes.size(), outcomes.toString());
        TlsOutcome outcome = outcomes.get(0);
        assertEquals(
                TlsFailureType.VALIDATION_FAILURE, ((TlsResult.Failure) outcome.result()).type());
        assertEquals("refuse", outcome.verdict());
        assertEquals("", outcome.sendingIp());
    }

    @Test
    void aMessageQueuedWhileTheEngineRunsIsTakenAtOnce() throws Exception {
        spool(Spool.Options.defaults());
        TestMx mx = mx(TestMx.builder());
        dns.mx("a.test", 10, "mx.a.test").a("mx.a.test", "127.0.0.1");
        DeliveryEngine engine = engine(mx.port());
        Await.until(() -> engine.stats().inHand() == 0, WAIT, "the engine idle");

        spool.enqueue(
                "s@x.test",
                List.of("r@a.test"),
                new ByteArrayInputStream("Subject: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));

        Await.until(() -> mx.messages().size() == 1, WAIT, "the listener woke the engine");
    }
}
