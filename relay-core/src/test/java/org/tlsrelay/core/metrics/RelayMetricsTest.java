package org.tlsrelay.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.queue.QueuedMessage;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.testkit.MutableClock;
import org.tlsrelay.testkit.TestPolicies;

class RelayMetricsTest {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final MutableClock clock = MutableClock.atFixedStart();
    final RelayMetrics metrics = new RelayMetrics(registry, clock);

    @TempDir Path dir;

    double counter(String name, String... tags) {
        var c = registry.find(name).tags(tags).counter();
        return c == null ? 0 : c.count();
    }

    double gauge(String name, String... tags) {
        return registry.get(name).tags(tags).gauge().value();
    }

    @Test
    void countsTlsOutcomesByPolicySourceAndRfc8460ResultType() {
        MxPolicy sts =
                MxPolicy.domainWide(
                        TestPolicies.sts("example.com", PolicyMode.ENFORCE, "mx.example.com"));
        TlsOutcome ok =
                new TlsOutcome(
                        clock.instant(),
                        sts,
                        "mx.example.com",
                        "mx",
                        "127.0.0.1",
                        "192.0.2.1",
                        TlsResult.success(),
                        "deliver-tls",
                        "");
        TlsOutcome bad =
                new TlsOutcome(
                        clock.instant(),
                        sts,
                        "mx.example.com",
                        "mx",
                        "127.0.0.1",
                        "192.0.2.1",
                        TlsResult.failure(TlsFailureType.CERTIFICATE_EXPIRED, "expired"),
                        "refuse",
                        "");
        metrics.record(ok);
        metrics.record(ok);
        metrics.record(bad);
        metrics.record(
                new TlsOutcome(
                        clock.instant(),
                        MxPolicy.domainWide(TestPolicies.none("plain.example")),
                        "mx",
                        "",
                        "",
                        "",
                        TlsResult.failure(TlsFailureType.STARTTLS_NOT_SUPPORTED, "no"),
                        "deliver-clear",
                        ""));

        assertEquals(2, counter("tlsrelay.tls.outcomes", "source", "sts", "result", "success"));
        assertEquals(
                1,
                counter(
                        "tlsrelay.tls.outcomes",
                        "source",
                        "sts",
                        "result",
                        "certificate-expired",
                        "verdict",
                        "refuse"));
        assertEquals(
                1,
                counter(
                        "tlsrelay.tls.outcomes",
                        "source",
                        "none",
                        "result",
                        "starttls-not-supported",
                        "verdict",
                        "deliver-clear"));
    }

    @Test
    void countsMessagesAndRejectionsByReasonAndRecordsLatency() {
        metrics.accepted();
        metrics.accepted();
        metrics.rejected(RelayMetrics.Rejection.RELAY_DENIED);
        metrics.left(RelayMetrics.Disposition.DELIVERED, clock.instant().minusSeconds(3));
        metrics.deferred();
        metrics.left(RelayMetrics.Disposition.BOUNCED, clock.instant().minusSeconds(60));
        metrics.left(RelayMetrics.Disposition.EXPIRED, clock.instant().minus(Duration.ofDays(5)));
        metrics.recovered(4);
        metrics.reportSent();
        metrics.reportFailed();
        metrics.mtaStsFetchFailed(TlsFailureType.STS_WEBPKI_INVALID);

        assertEquals(2, counter("tlsrelay.messages.accepted"));
        assertEquals(1, counter("tlsrelay.messages.rejected", "reason", "relay-denied"));
        assertEquals(0, counter("tlsrelay.messages.rejected", "reason", "message-size"));
        assertEquals(1, counter("tlsrelay.messages.delivered"));
        assertEquals(1, counter("tlsrelay.messages.deferred"));
        assertEquals(1, counter("tlsrelay.messages.bounced"));
        assertEquals(1, counter("tlsrelay.messages.expired"));
        assertEquals(4, counter("tlsrelay.messages.recovered"));
        assertEquals(1, counter("tlsrelay.reports.sent"));
        assertEquals(1, counter("tlsrelay.reports.failed"));
        assertEquals(1, counter("tlsrelay.mta.sts.fetch.failures", "type", "sts-webpki-invalid"));
        var timer = registry.get("tlsrelay.delivery.latency").timer();
        assertEquals(1, timer.count(), "only a delivered message has a delivery latency");
        assertEquals(3.0, timer.totalTime(java.util.concurrent.TimeUnit.SECONDS), 0.001);
    }

    @Test
    void queueGaugesCountEachStateAndShowTheOldestWaitingMessage() throws Exception {
        try (Spool spool =
                Spool.open(dir.resolve("spool"), Spool.Options.defaults().withClock(clock))) {
            metrics.bindSpool(spool);
            assertEquals(0, gauge("tlsrelay.queue.messages", "state", "incoming"));
            assertEquals(0, gauge("tlsrelay.queue.oldest.age"));

            QueuedMessage first = enqueue(spool);
            clock.advance(Duration.ofMinutes(1));
            enqueue(spool);
            enqueue(spool);
            spool.hold(first.id()); // held messages wait for the operator, not for delivery
            clock.advance(Duration.ofSeconds(2)); // past the one-second snapshot

            assertEquals(2, gauge("tlsrelay.queue.messages", "state", "incoming"));
            assertEquals(1, gauge("tlsrelay.queue.messages", "state", "hold"));
            assertEquals(0, gauge("tlsrelay.queue.messages", "state", "deferred"));
            assertEquals(2.0, gauge("tlsrelay.queue.oldest.age"), 0.01);
        }
    }

    @Test
    void policyListGaugesShowAgeAndTimeToExpiry() {
        AtomicReference<Optional<RelayMetrics.ListTimes>> times =
                new AtomicReference<>(Optional.empty());
        metrics.bindPolicyList("partners", times::get);
        assertTrue(
                Double.isNaN(gauge("tlsrelay.policy.list.age", "list", "partners")),
                "not installed yet");

        Instant now = clock.instant();
        times.set(
                Optional.of(
                        new RelayMetrics.ListTimes(
                                now.minus(Duration.ofHours(2)), now.plus(Duration.ofDays(1)))));
        assertEquals(7200, gauge("tlsrelay.policy.list.age", "list", "partners"), 0.001);
        assertEquals(86400, gauge("tlsrelay.policy.list.expiry", "list", "partners"), 0.001);
    }

    @Test
    void healthListsEveryProblemAndReadinessIsASwitch() {
        Health health = new Health();
        AtomicReference<Optional<String>> spool = new AtomicReference<>(Optional.empty());
        health.register("listener", Optional::empty);
        health.register("spool", spool::get);
        assertTrue(health.problems().isEmpty());
        spool.set(Optional.of("not writable"));
        assertEquals(Optional.of("spool: not writable"), health.problems());

        assertEquals(Optional.of("starting"), health.readiness());
        health.ready();
        assertTrue(health.readiness().isEmpty());
        health.notReady("stopping");
        assertEquals(Optional.of("stopping"), health.readiness());
    }

    private static QueuedMessage enqueue(Spool spool) throws Exception {
        return spool.enqueue(
                "a@example.org",
                List.of("b@example.com"),
                new ByteArrayInputStream(
                        "Subject: x\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII)));
    }

    /** Rates and alerts work from the first scrape: no counter appears only with its first event. */
    @Test
    void everyCounterExistsAtZeroFromTheStart() {
        for (String name :
                List.of(
                        "tlsrelay.messages.accepted",
                        "tlsrelay.messages.recovered",
                        "tlsrelay.messages.delivered",
                        "tlsrelay.messages.bounced",
                        "tlsrelay.messages.expired",
                        "tlsrelay.messages.deferred",
                        "tlsrelay.reports.sent",
                        "tlsrelay.reports.failed")) {
            assertEquals(0, registry.get(name).counter().count(), name);
        }
        // one series per reason, each at 0 (the reasons grew from 10 to 15 with the inbound limits)
        assertEquals(
                RelayMetrics.Rejection.values().length,
                registry.find("tlsrelay.messages.rejected").counters().size());
        for (RelayMetrics.Rejection r : RelayMetrics.Rejection.values()) {
            assertEquals(0, counter("tlsrelay.messages.rejected", "reason", r.label()), r.label());
        }
        assertEquals(3, registry.find("tlsrelay.mta.sts.fetch.failures").counters().size());
        // the alert on refusals has its series before the first refusal
        assertEquals(
                0,
                registry.get("tlsrelay.tls.outcomes")
                        .tags("source", "sts", "result", "certificate-expired", "verdict", "refuse")
                        .counter()
                        .count());
        assertEquals(
                0,
                registry.get("tlsrelay.tls.outcomes")
                        .tags("source", "tlsa", "result", "tlsa-invalid", "verdict", "refuse")
                        .counter()
                        .count());
        assertTrue(
                registry.find("tlsrelay.tls.outcomes")
                        .tags("source", "none", "verdict", "refuse")
                        .counters()
                        .isEmpty(),
                "an opportunistic policy never refuses");
        assertTrue(
                registry.find("tlsrelay.tls.outcomes")
                        .tags("source", "sts", "result", "tlsa-invalid")
                        .counters()
                        .isEmpty(),
                "only DANE has DANE failures");
    }

    @Test
    void theLatencyHistogramHasASmallFixedSetOfBuckets() {
        metrics.left(RelayMetrics.Disposition.DELIVERED, clock.instant().minusSeconds(90));
        var buckets =
                registry.get("tlsrelay.delivery.latency").timer().takeSnapshot().histogramCounts();
        assertTrue(buckets.length + 1 <= 15, "with +Inf: " + (buckets.length + 1));
        assertEquals(RelayMetrics.LATENCY_BUCKETS.size(), buckets.length);
        for (var b : buckets) {
            double le = b.bucket(java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(le >= 300 ? 1 : 0, b.count(), "bucket le=" + le);
        }
    }
}
