package org.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.smtp.testmx.TestMx;
import org.tlsrelay.testkit.Await;

/**
 * The message counters reconcile with the queue, as the README states: recovered + accepted + generated = delivered +
 * bounced + expired + queued (every state), each message counted once when it leaves. A mixed run (a delivery, a
 * message with one recipient refused and one delivered, one that expires, the DSNs these make), a message left queued,
 * and a restart that finds it again.
 */
class MetricsReconcileTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String SENDER = "alice@sender.test";

    @TempDir Path dir;
    private DeliveryFixture f;

    @AfterEach
    void tearDown() throws Exception {
        f.close();
    }

    /** The counters and the queue of the running relay, one scrape. */
    record Counts(
            double recovered,
            double accepted,
            double generated,
            double delivered,
            double bounced,
            double expired,
            double queued) {
        static Counts of(MeterRegistry r) {
            return new Counts(
                    r.get("tlsrelay.messages.recovered").counter().count(),
                    r.get("tlsrelay.messages.accepted").counter().count(),
                    r.get("tlsrelay.messages.generated").functionCounter().count(),
                    r.get("tlsrelay.messages.delivered").counter().count(),
                    r.get("tlsrelay.messages.bounced").counter().count(),
                    r.get("tlsrelay.messages.expired").counter().count(),
                    r.find("tlsrelay.queue.messages").gauges().stream()
                            .mapToDouble(Gauge::value)
                            .sum());
        }

        boolean reconciles() {
            return recovered + accepted + generated == delivered + bounced + expired + queued;
        }
    }

    private Counts counts() {
        return Counts.of(f.relay().metrics().registry());
    }

    @Test
    void messagesInEqualMessagesOutPlusTheQueueAcrossAMixedRunAndARestart() throws Exception {
        f = new DeliveryFixture(dir);
        TestMx senderMx =
                f.mx(
                        "mx.sender.test",
                        TestMx.builder().startTls(DeliveryFixture.CA.issue("mx.sender.test")));
        f.dns.mx("sender.test", 10, "mx.sender.test");
        TestMx dest =
                f.mx(
                        "mx.dest.test",
                        TestMx.builder()
                                .startTls(DeliveryFixture.CA.issue("mx.dest.test"))
                                .recipientReply("nobody@dest.test", "550 5.1.1 no such user"));
        f.dns.mx("dest.test", 10, "mx.dest.test");
        f.dns.servfail("down.test");

        // ---- a mixed run: every message leaves the queue
        f.start("  retry: { schedule: [200ms], max-age: 1s }\n", "");
        f.send(SENDER, List.of("bob@dest.test"), DeliveryFixture.message("delivered"));
        f.send(
                SENDER,
                List.of("nobody@dest.test", "carol@dest.test"),
                DeliveryFixture.message("mixed"));
        f.send(SENDER, List.of("dave@down.test"), DeliveryFixture.message("expires"));
        Await.until(
                () -> senderMx.messages().size() == 2,
                WAIT,
                "the two DSNs delivered to the sender");
        Await.until(
                () -> counts().queued() == 0 && counts().delivered() == 3, WAIT, "an empty queue");
        assertEquals(
                new Counts(0, 3, 2, 3, 1, 1, 0),
                counts(),
                "3 in, 2 DSNs made; 3 delivered (1 + 2 DSNs), 1 bounced (the mixed one), 1 expired");
        assertEquals(2, dest.messages().size());

        // ---- a message that stays queued, then a restart that finds it
        f.relay().close();
        f.start("  retry: { schedule: [1h], max-age: 5d }\n", "");
        f.send(SENDER, List.of("erin@down.test"), DeliveryFixture.message("waits"));
        Await.until(
                () -> counts().queued() == 1 && counts().reconciles(),
                WAIT,
                "the message deferred");
        assertEquals(new Counts(0, 1, 0, 0, 0, 0, 1), counts());

        f.relay().close();
        f.start("  retry: { schedule: [1h], max-age: 5d }\n", "");
        Await.until(() -> counts().queued() == 1, WAIT, "the queue read at start");
        assertEquals(new Counts(1, 0, 0, 0, 0, 0, 1), counts());
    }
}
