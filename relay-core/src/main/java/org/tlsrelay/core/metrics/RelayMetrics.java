package org.tlsrelay.core.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.queue.FreeSpace;
import org.tlsrelay.core.queue.QueueState;
import org.tlsrelay.core.queue.QueueStats;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;

/**
 * Every meter of the relay, behind one facade, so that the inbound server, the delivery engine, the policy machinery
 * and the reporter only call methods named after what happened. Every counter exists, at 0, from the start (labelled
 * ones with every label value they can take), so that rates and alerts work before the first event. Meter names as
 * Prometheus shows them:
 *
 * <ul>
 *   <li>{@code tlsrelay_messages_accepted_total}: messages queued (250 after DATA)</li>
 *   <li>{@code tlsrelay_messages_generated_total}: messages the relay queued itself (DSNs, TLS-RPT reports)</li>
 *   <li>{@code tlsrelay_messages_recovered_total}: messages found in the spool at start</li>
 *   <li>{@code tlsrelay_messages_rejected_total{reason}}: refusals by {@link Rejection} reason</li>
 *   <li>{@code tlsrelay_messages_delivered_total}, {@code tlsrelay_messages_bounced_total},
 *       {@code tlsrelay_messages_expired_total}: messages that left the queue, each once, by {@link Disposition}</li>
 *   <li>{@code tlsrelay_messages_deferred_total}: attempts that left recipients pending</li>
 *   <li>{@code tlsrelay_delivery_latency_seconds} (histogram, {@link #LATENCY_BUCKETS}): arrival to delivery</li>
 *   <li>{@code tlsrelay_queue_messages{state}}, {@code tlsrelay_queue_oldest_age_seconds}</li>
 *   <li>{@code tlsrelay_spool_free_bytes}: usable space on the spool's file system</li>
 *   <li>{@code tlsrelay_tls_outcomes_total{source,result,verdict}}: one per {@link TlsOutcome}; {@code result} is
 *       {@code success} or an RFC 8460 §4.3 result type</li>
 *   <li>{@code tlsrelay_policy_list_age_seconds{list}}, {@code tlsrelay_policy_list_expiry_seconds{list}}</li>
 *   <li>{@code tlsrelay_mta_sts_cache_policies}, {@code tlsrelay_mta_sts_fetch_failures_total{type}}</li>
 *   <li>{@code tlsrelay_reports_sent_total}, {@code tlsrelay_reports_failed_total}</li>
 *   <li>{@code tlsrelay_dnssec_validating}, {@code tlsrelay_dnssec_failures_total}</li>
 *   <li>{@code tlsrelay_dkim_signed_total{domain,algorithm}}: DKIM signatures added, by {@code d=} and {@code a=};
 *       {@code tlsrelay_dkim_failures_total{reason}}: messages that should have been signed but went unsigned</li>
 * </ul>
 *
 * Every method is cheap and thread-safe, and none blocks: they may be called on event-loop threads.
 */
public final class RelayMetrics implements TlsOutcomeListener {

    /** Why something submitted to the relay was refused (label {@code reason}). */
    public enum Rejection {
        /** RCPT from a client that may not relay (554 5.7.1). */
        RELAY_DENIED,
        /** A recipient form the relay never accepts: source route, address literal, no domain, non-ASCII (5xx). */
        BAD_RECIPIENT,
        /** More recipients than {@code server.limits.max-recipients} (452 4.5.3). */
        TOO_MANY_RECIPIENTS,
        /** Larger than {@code server.limits.max-message-size} (552 5.3.4). */
        MESSAGE_SIZE,
        /** A line longer than {@code server.limits.max-line-length} (554 5.6.0). */
        LINE_LENGTH,
        /** A bare CR or LF in DATA, the SMTP smuggling defence (550 5.6.0). */
        BARE_NEWLINE,
        /** The spool could not take the message (451 4.3.0). */
        QUEUE_ERROR,
        /** DATA took longer than {@code server.limits.data-timeout} (421 4.4.2). */
        DATA_TIMEOUT,
        /** A connection over {@code server.limits.max-connections} (421 4.7.0). */
        TOO_MANY_CONNECTIONS,
        /** A connection over {@code server.limits.max-connections-per-client} from one address (421 4.7.0). */
        TOO_MANY_CONNECTIONS_PER_CLIENT,
        /** A command line not complete within {@code server.limits.command-timeout} (421 4.4.2). */
        COMMAND_TIMEOUT,
        /** DATA slower than {@code server.limits.min-data-rate} (421 4.4.2). */
        DATA_RATE,
        /** A session closed after {@code server.limits.max-errors} error replies (421 4.7.0). */
        TOO_MANY_ERRORS,
        /** MAIL while the spool's file system is below {@code spool.min-free} (452 4.3.1). */
        INSUFFICIENT_STORAGE,
        /** A failed AUTH attempt (535 5.7.8). */
        AUTH_FAILED;

        /** The label value, e.g. {@code relay-denied}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * How a message left the queue. Every message is counted once, when it leaves, under the first of these that
     * applies, so that the counters reconcile with the queue: recovered + accepted + generated = delivered + bounced
     * + expired + queued (every state), as long as no message is removed with {@code tlsrelay queue delete}.
     */
    public enum Disposition {
        /** {@code delivery.retry.max-age} passed with recipients still pending: they failed (RFC 5321 §4.5.4.1). */
        EXPIRED,
        /** A recipient failed for good (a 5xx reply, a null MX, no such domain); others may have been delivered. */
        BOUNCED,
        /** Every recipient was delivered. */
        DELIVERED
    }

    /**
     * The delivery latency histogram's buckets (plus +Inf): a small fixed set from a second to {@code max-age}'s
     * default, around the retry schedule's steps, so that the series stay few and comparable across relays.
     */
    public static final List<Duration> LATENCY_BUCKETS =
            List.of(
                    Duration.ofSeconds(1),
                    Duration.ofSeconds(5),
                    Duration.ofSeconds(30),
                    Duration.ofMinutes(1),
                    Duration.ofMinutes(5),
                    Duration.ofMinutes(15),
                    Duration.ofHours(1),
                    Duration.ofHours(4),
                    Duration.ofHours(12),
                    Duration.ofDays(1),
                    Duration.ofDays(2),
                    Duration.ofDays(5));

    /** The {@code source} labels of TLS outcomes: the RFC 8460 policy types and the relay's own. */
    private static final List<String> SOURCES = List.of("sts", "tlsa", "list", "override", "none");

    private static final List<String> VERDICTS = List.of("deliver-tls", "deliver-clear", "refuse");

    /** RFC 8460 §4.3.2 policy failures of DANE: only a {@code tlsa} policy has them. */
    private static final Set<TlsFailureType> DANE_FAILURES =
            EnumSet.of(
                    TlsFailureType.TLSA_INVALID,
                    TlsFailureType.DNSSEC_INVALID,
                    TlsFailureType.DANE_REQUIRED);

    /** RFC 8460 §4.3.2 failures of an MTA-STS policy fetch, counted apart from sessions. */
    private static final Set<TlsFailureType> FETCH_FAILURES =
            EnumSet.of(
                    TlsFailureType.STS_POLICY_FETCH_ERROR,
                    TlsFailureType.STS_POLICY_INVALID,
                    TlsFailureType.STS_WEBPKI_INVALID);

    private final MeterRegistry registry;
    private final Clock clock;
    private final Counter accepted;
    private final Counter recovered;
    private final Counter expired;
    private final Map<Rejection, Counter> rejected = new ConcurrentHashMap<>();
    private final Counter delivered;
    private final Counter deferred;
    private final Counter bounced;
    private final Timer latency;
    private final Map<String, Counter> outcomes = new ConcurrentHashMap<>();
    private final Map<TlsFailureType, Counter> fetchFailures = new ConcurrentHashMap<>();
    private final Counter reportsSent;
    private final Counter reportsFailed;
    private final Map<String, Counter> dkimSigned = new ConcurrentHashMap<>();
    private final Map<String, Counter> dkimFailures = new ConcurrentHashMap<>();

    public RelayMetrics(MeterRegistry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
        this.accepted =
                Counter.builder("tlsrelay.messages.accepted")
                        .description("Messages accepted and queued (250 after DATA)")
                        .register(registry);
        this.recovered =
                Counter.builder("tlsrelay.messages.recovered")
                        .description(
                                "Messages found in the spool at start, queued before a restart")
                        .register(registry);
        for (Rejection r : Rejection.values()) {
            rejected.put(
                    r,
                    Counter.builder("tlsrelay.messages.rejected")
                            .tag("reason", r.label())
                            .description("Messages, recipients or connections refused, by reason")
                            .register(registry));
        }
        this.delivered =
                Counter.builder("tlsrelay.messages.delivered")
                        .description("Messages that left the queue with every recipient delivered")
                        .register(registry);
        this.deferred =
                Counter.builder("tlsrelay.messages.deferred")
                        .description(
                                "Delivery attempts that left recipients pending for a later attempt")
                        .register(registry);
        this.bounced =
                Counter.builder("tlsrelay.messages.bounced")
                        .description(
                                "Messages that left the queue with a recipient failed for good (a DSN goes to"
                                        + " the sender)")
                        .register(registry);
        this.expired =
                Counter.builder("tlsrelay.messages.expired")
                        .description(
                                "Messages that left the queue when delivery.retry.max-age passed with"
                                        + " recipients pending")
                        .register(registry);
        this.latency =
                Timer.builder("tlsrelay.delivery.latency")
                        .description(
                                "From arrival in the spool until every recipient was delivered")
                        .serviceLevelObjectives(LATENCY_BUCKETS.toArray(Duration[]::new))
                        .register(registry);
        for (String source : SOURCES) {
            for (String verdict : VERDICTS) {
                if (verdict.equals("deliver-tls")) {
                    outcome(source, "success", verdict);
                }
                for (TlsFailureType t : TlsFailureType.values()) {
                    if (!FETCH_FAILURES.contains(t)
                            && (source.equals("tlsa") || !DANE_FAILURES.contains(t))
                            && !(source.equals("none") && verdict.equals("refuse"))) {
                        outcome(source, t.resultType(), verdict);
                    }
                }
            }
        }
        FETCH_FAILURES.forEach(this::fetchFailure);
        this.reportsSent =
                Counter.builder("tlsrelay.reports.sent")
                        .description("TLS-RPT aggregate reports delivered (RFC 8460 §5)")
                        .register(registry);
        this.reportsFailed =
                Counter.builder("tlsrelay.reports.failed")
                        .description("TLS-RPT aggregate reports that could not be delivered")
                        .register(registry);
    }

    /** Metrics that go nowhere (tests, tools): a registry with no backend records nothing. */
    public static RelayMetrics noop() {
        return new RelayMetrics(new CompositeMeterRegistry(), Clock.systemUTC());
    }

    public MeterRegistry registry() {
        return registry;
    }

    // ---- inbound

    /** A message was queued (after the spool's fsync, as the 250 is sent). */
    public void accepted() {
        accepted.increment();
    }

    /** {@code n} messages were found in the spool at start (before the engine takes any). */
    public void recovered(long n) {
        recovered.increment(n);
    }

    public void rejected(Rejection reason) {
        rejected.get(reason).increment();
    }

    // ---- delivery (called by the delivery engine)

    /**
     * A message left the queue, {@code how}; a delivered one's latency is measured from {@code arrival} to now.
     * Called once per message.
     */
    public void left(Disposition how, Instant arrival) {
        switch (how) {
            case DELIVERED -> {
                delivered.increment();
                Duration d = Duration.between(arrival, clock.instant());
                latency.record(d.isNegative() ? Duration.ZERO : d);
            }
            case BOUNCED -> bounced.increment();
            case EXPIRED -> expired.increment();
        }
    }

    /** An attempt ended with recipients still pending: the message waits for its next attempt. */
    public void deferred() {
        deferred.increment();
    }

    /** Counts one TLS outcome; the TLS-RPT recorder gets the same event. Never blocks. */
    @Override
    public void record(TlsOutcome outcome) {
        String source = sourceLabel(outcome.policy());
        String result =
                outcome.result() instanceof TlsResult.Failure f ? f.type().resultType() : "success";
        outcome(source, result, outcome.verdict()).increment();
    }

    private Counter outcome(String source, String result, String verdict) {
        return outcomes.computeIfAbsent(
                source + '|' + result + '|' + verdict,
                k ->
                        Counter.builder("tlsrelay.tls.outcomes")
                                .description(
                                        "TLS outcomes of outbound connections, by policy source and RFC 8460"
                                                + " result type")
                                .tag("source", source)
                                .tag("result", result)
                                .tag("verdict", verdict)
                                .register(registry));
    }

    /**
     * {@code sts}, {@code tlsa}, {@code list}, {@code override} or {@code none}: the RFC 8460 policy-types for
     * MTA-STS and DANE.
     */
    static String sourceLabel(MxPolicy p) {
        if (p.daneApplies()) {
            return "tlsa";
        }
        return switch (p.domainPolicy().source()) {
            case MTA_STS_LIVE, MTA_STS_CACHED -> "sts";
            case LIST -> "list";
            case OVERRIDE -> "override";
            case NONE, TLSRPT_EXEMPT -> "none";
        };
    }

    // ---- queue

    /**
     * Gauges over the spool: messages per state and the age of the oldest waiting message (0 when none), and the
     * count of messages the relay queued itself. The directories are listed at most once a second, however many
     * gauges a scrape reads.
     */
    public void bindSpool(Spool spool) {
        // the function counter holds the spool weakly: the running relay holds it
        FunctionCounter.builder("tlsrelay.messages.generated", spool, Spool::enqueued)
                .description("Messages the relay queued itself: DSNs and TLS-RPT reports")
                .register(registry);
        Supplier<Optional<QueueStats>> stats =
                memoize(
                        () -> {
                            try {
                                return Optional.of(spool.stats());
                            } catch (IOException e) {
                                return Optional.empty();
                            }
                        },
                        Duration.ofSeconds(1));
        for (QueueState s : QueueState.values()) {
            Gauge.builder(
                            "tlsrelay.queue.messages",
                            stats,
                            x -> x.get().map(q -> (double) q.count(s)).orElse(Double.NaN))
                    .description("Messages in the spool, by state")
                    .tag("state", s.label())
                    .strongReference(true)
                    .register(registry);
        }
        Gauge.builder(
                        "tlsrelay.queue.oldest.age",
                        stats,
                        x ->
                                x.get()
                                        .map(
                                                q ->
                                                        q.oldestWaiting()
                                                                .map(
                                                                        a ->
                                                                                Math.max(
                                                                                                0,
                                                                                                Duration
                                                                                                        .between(
                                                                                                                a,
                                                                                                                clock
                                                                                                                        .instant())
                                                                                                        .toMillis())
                                                                                        / 1000.0)
                                                                .orElse(0.0))
                                        .orElse(Double.NaN))
                .description(
                        "Age of the oldest message waiting for delivery (incoming, active, deferred)")
                .baseUnit("seconds")
                .strongReference(true)
                .register(registry);
    }

    /** {@code tlsrelay_spool_free_bytes}: the bytes still usable on the spool's file system (NaN when unknown). */
    public void bindFreeSpace(FreeSpace space) {
        Gauge.builder(
                        "tlsrelay.spool.free",
                        space,
                        s -> {
                            var free = s.freeBytes();
                            return free.isPresent() ? free.getAsLong() : Double.NaN;
                        })
                .description(
                        "Bytes still usable on the spool's file system; below spool.min-free new mail is refused")
                .baseUnit("bytes")
                .strongReference(true)
                .register(registry);
    }

    // ---- policy sources

    /**
     * Gauges for one policy list: seconds since its {@code timestamp} and until its {@code expires} (negative once
     * expired). {@code installed} gives the installed copy's two times, or nothing before the first install.
     */
    public void bindPolicyList(String name, Supplier<Optional<ListTimes>> installed) {
        Gauge.builder(
                        "tlsrelay.policy.list.age",
                        installed,
                        s ->
                                s.get()
                                        .map(t -> seconds(t.timestamp(), clock.instant()))
                                        .orElse(Double.NaN))
                .description("Seconds since the installed policy list's timestamp")
                .baseUnit("seconds")
                .tag("list", name)
                .strongReference(true)
                .register(registry);
        Gauge.builder(
                        "tlsrelay.policy.list.expiry",
                        installed,
                        s ->
                                s.get()
                                        .map(t -> seconds(clock.instant(), t.expires()))
                                        .orElse(Double.NaN))
                .description("Seconds until the installed policy list expires (negative: expired)")
                .baseUnit("seconds")
                .tag("list", name)
                .strongReference(true)
                .register(registry);
    }

    // ---- DNSSEC

    /**
     * {@code tlsrelay_dnssec_validating}: 1 while the last check found every DNS server returning DNSSEC data that
     * validates, else 0; {@code tlsrelay_dnssec_failures_total}: look-ups whose answer could not be validated (bogus,
     * or its status unknown), each of which makes delivery that needs it wait.
     */
    public <T> void bindDnssec(T monitor, Predicate<T> validating, ToLongFunction<T> failures) {
        Gauge.builder("tlsrelay.dnssec.validating", monitor, m -> validating.test(m) ? 1 : 0)
                .description("1 while the DNS servers return DNSSEC data that validates, else 0")
                .strongReference(true)
                .register(registry);
        // A function counter holds its object weakly: the monitor, which the running relay holds,
        // not a method reference that only the meter would hold (and the collector would clear).
        FunctionCounter.builder("tlsrelay.dnssec.failures", monitor, m -> failures.applyAsLong(m))
                .description("Look-ups whose DNSSEC validation failed (bogus or unknown status)")
                .register(registry);
    }

    // ---- cluster (issue 18)

    /**
     * {@code tlsrelay_cluster_redis_up}: 1 while the cluster's Redis answers, else 0 (the relay then works on its
     * local state); {@code tlsrelay_cluster_redis_outages_total}: how often it was lost.
     */
    public <T> void bindCluster(T link, Predicate<T> up, ToLongFunction<T> outages) {
        Gauge.builder("tlsrelay.cluster.redis.up", link, l -> up.test(l) ? 1 : 0)
                .description(
                        "1 while the cluster's Redis answers, else 0 (the relay works on local state)")
                .strongReference(true)
                .register(registry);
        FunctionCounter.builder("tlsrelay.cluster.redis.outages", link, l -> outages.applyAsLong(l))
                .description("How often the connection to the cluster's Redis was lost")
                .register(registry);
    }

    /** A policy list's {@code timestamp} and {@code expires}. */
    public record ListTimes(Instant timestamp, Instant expires) {}

    /** A gauge of the MTA-STS policies cached ({@code size} is read on each scrape). */
    public <T> void bindMtaStsCache(T source, Function<T, Number> size) {
        Gauge.builder("tlsrelay.mta.sts.cache.policies", source, s -> size.apply(s).doubleValue())
                .description("MTA-STS policies in the cache")
                .strongReference(true)
                .register(registry);
    }

    /** A failed MTA-STS policy fetch, by its RFC 8460 type (sts-policy-fetch-error, ...). */
    public void mtaStsFetchFailed(TlsFailureType type) {
        fetchFailure(type).increment();
    }

    private Counter fetchFailure(TlsFailureType type) {
        return fetchFailures.computeIfAbsent(
                type,
                t ->
                        Counter.builder("tlsrelay.mta.sts.fetch.failures")
                                .description(
                                        "Failed MTA-STS policy fetches, by RFC 8460 result type")
                                .tag("type", t.resultType())
                                .register(registry));
    }

    // ---- reports

    public void reportSent() {
        reportsSent.increment();
    }

    public void reportFailed() {
        reportsFailed.increment();
    }

    // ---- DKIM

    /** One DKIM signature was added, with a key of {@code domain} and {@code algorithm} ({@code rsa-sha256}, ...). */
    public void dkimSigned(String domain, String algorithm) {
        dkimKey(domain, algorithm).increment();
    }

    /**
     * The counter of signatures with {@code domain}'s {@code algorithm} key, made (at 0) if it is not there yet: the
     * signer makes one for every key it has, before it signs anything.
     */
    public Counter dkimKey(String domain, String algorithm) {
        return dkimSigned.computeIfAbsent(
                domain + '|' + algorithm,
                k ->
                        Counter.builder("tlsrelay.dkim.signed")
                                .description(
                                        "DKIM signatures added, by signing domain and algorithm")
                                .tag("domain", domain)
                                .tag("algorithm", algorithm)
                                .register(registry));
    }

    /** A message that should have been DKIM-signed went out unsigned, for {@code reason} ({@code no-from}, ...). */
    public void dkimFailed(String reason) {
        dkimFailure(reason).increment();
    }

    /** The counter of messages left unsigned for {@code reason}, made (at 0) if it is not there yet. */
    public Counter dkimFailure(String reason) {
        return dkimFailures.computeIfAbsent(
                reason,
                r ->
                        Counter.builder("tlsrelay.dkim.failures")
                                .description(
                                        "Messages that should have been DKIM-signed but could not be, by reason")
                                .tag("reason", r)
                                .register(registry));
    }

    // ---- helpers

    private static double seconds(Instant from, Instant to) {
        return Duration.between(from, to).toMillis() / 1000.0;
    }

    private <T> Supplier<T> memoize(Supplier<T> source, Duration ttl) {
        return new Supplier<>() {
            private T value;
            private Instant until = Instant.MIN;

            @Override
            public synchronized T get() {
                Instant now = clock.instant();
                if (value == null || now.isAfter(until)) {
                    value = source.get();
                    until = now.plus(ttl);
                }
                return value;
            }
        };
    }
}
