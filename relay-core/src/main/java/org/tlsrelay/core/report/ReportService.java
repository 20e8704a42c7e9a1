package org.tlsrelay.core.report;

import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.Durations;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.io.Problems;

/**
 * Builds a day's reports and delivers them (RFC 8460 §4, §5): for every domain that had sessions that day, look up
 * its TLSRPT record; for one that publishes it, aggregate the day into a report, store it in the
 * {@link ReportOutbox} and send it to each {@code rua} through the matching {@link ReportTransport}. A failed
 * delivery is retried with growing waits for up to {@link Settings#retryWindow()} after its first attempt (§5.5:
 * "up to 24 hours ... with exponential backoff"); a sent one is never sent again, also after a restart. A domain
 * whose TXT look-up failed is looked up again on the next run.
 *
 * <p>Blocking: it reads files, waits for DNS and calls transports that block. Run it on a scheduler thread
 * ({@link ReportScheduler}) or from the command line, never on a network thread.
 */
public final class ReportService {
    private static final Logger LOG = LoggerFactory.getLogger(ReportService.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * @param identity organization, contact and submitter written into each report
     * @param backoff the waits after the first, second, ... failed attempt; the last repeats
     * @param retryWindow how long after the first attempt a failed delivery is still retried
     * @param dnsTimeout how long a run waits for the TLSRPT look-ups
     * @param retentionDays outcome logs and outbox days older than this are deleted by {@link #prune}
     */
    public record Settings(
            Aggregator.Identity identity,
            List<Duration> backoff,
            Duration retryWindow,
            Duration dnsTimeout,
            int retentionDays) {
        public Settings {
            backoff = List.copyOf(backoff);
            if (backoff.isEmpty() || backoff.stream().anyMatch(d -> d.isNegative() || d.isZero())) {
                throw new IllegalArgumentException("the report back-off needs positive waits");
            }
            if (retentionDays < 2) {
                throw new IllegalArgumentException("keep at least two days of report data");
            }
        }

        /** 5, 15, 30 minutes, then 1, 2 and 4 hours; 24 hours in all; 30 s for DNS; 31 days kept. */
        public static Settings defaults(Aggregator.Identity identity) {
            return new Settings(
                    identity,
                    List.of(
                            Duration.ofMinutes(5),
                            Duration.ofMinutes(15),
                            Duration.ofMinutes(30),
                            Duration.ofHours(1),
                            Duration.ofHours(2),
                            Duration.ofHours(4)),
                    Duration.ofHours(24),
                    Duration.ofSeconds(30),
                    31);
        }
    }

    /** What a domain's TLSRPT record says, for {@link #preview}. */
    public record Target(String policyDomain, Status status, List<String> rua, String note) {
        public enum Status {
            /** The domain publishes a usable TLSRPT record: the report is (or would be) sent to {@code rua}. */
            REPORTING,
            /** It publishes none (or an unusable one): no report. */
            NOT_REPORTING,
            /** DNS did not answer: unknown yet; the daily job asks again. */
            UNKNOWN
        }

        public Target {
            rua = List.copyOf(rua);
        }
    }

    /** A day's aggregate with each domain's reporting target. */
    public record Preview(Aggregator.DayAggregate aggregate, Map<String, Target> targets) {
        public Preview {
            targets = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(targets));
        }

        /** The reports that are (or would be) sent: those of domains that publish a TLSRPT record. */
        public List<TlsReport> reportsToSend() {
            return aggregate.reports().stream()
                    .filter(
                            r -> {
                                Target t = targets.get(r.policyDomain());
                                return t != null && t.status() == Target.Status.REPORTING;
                            })
                    .toList();
        }
    }

    /**
     * One delivery as a run left it.
     *
     * @param ok sent now or earlier, or handed to the running relay
     */
    public record Attempt(
            String policyDomain, String uri, OutboxEntry.State state, boolean ok, String detail) {}

    /** What one run did. */
    public record RunResult(
            LocalDate day,
            List<Attempt> attempts,
            Map<String, String> notReporting,
            Map<String, String> lookupFailed) {
        public RunResult {
            attempts = List.copyOf(attempts);
            notReporting = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(notReporting));
            lookupFailed = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(lookupFailed));
        }

        /** No delivery failed and every domain's TLSRPT record could be looked up. */
        public boolean allSent() {
            return lookupFailed.isEmpty() && attempts.stream().allMatch(Attempt::ok);
        }
    }

    private final OutcomeLog log;
    private final ReportOutbox outbox;
    private final TlsRptLookup lookup;
    private final List<ReportTransport> transports;
    private final Settings settings;
    private final Clock clock;
    private final Supplier<String> uniqueIds;
    private final ReportSender sender;
    private volatile Optional<SharedReports> shared = Optional.empty();
    private volatile Instant lastPublished = Instant.EPOCH;

    /**
     * How long after its end a day's report waits for every relay of a cluster to publish its final totals; then the
     * relays that did are summed (a relay that died keeps its last published totals).
     */
    public static final Duration CLUSTER_WAIT = Duration.ofHours(1);

    /**
     * How long after its end a day's report waits for an unreachable cluster store; then each relay reports alone.
     * Within the next day, while {@link ReportScheduler} still runs the day again.
     */
    public static final Duration CLUSTER_FALLBACK = Duration.ofHours(12);

    /** How often today's totals are published to the cluster ({@link #publishToday}). */
    static final Duration PUBLISH_PERIOD = Duration.ofMinutes(5);

    public ReportService(
            OutcomeLog log,
            ReportOutbox outbox,
            TlsRptLookup lookup,
            List<ReportTransport> transports,
            Settings settings,
            Clock clock) {
        this(
                log,
                outbox,
                lookup,
                transports,
                settings,
                clock,
                () -> HexFormat.of().formatHex(randomBytes()));
    }

    /** With the unique part of report ids given (tests). */
    public ReportService(
            OutcomeLog log,
            ReportOutbox outbox,
            TlsRptLookup lookup,
            List<ReportTransport> transports,
            Settings settings,
            Clock clock,
            Supplier<String> uniqueIds) {
        this.log = log;
        this.outbox = outbox;
        this.lookup = lookup;
        this.transports = List.copyOf(transports);
        this.settings = settings;
        this.clock = clock;
        this.uniqueIds = uniqueIds;
        this.sender = new ReportSender(outbox, this.transports, settings, clock);
    }

    public Settings settings() {
        return settings;
    }

    /**
     * Makes this relay one of a cluster's (issue 18): its totals are published to {@code store}, and a domain's report
     * for a day is built by one relay with every relay's counts. Call before the first run.
     */
    public void shareWith(SharedReports store) {
        this.shared = Optional.of(store);
    }

    /** The cluster store, when this relay is one of a cluster's. */
    public Optional<SharedReports> sharing() {
        return shared;
    }

    /**
     * Publishes today's totals so far to the cluster (for {@code report show} and for a relay that dies before the
     * day ends), at most every {@link #PUBLISH_PERIOD}; nothing without a cluster. Reads the day's outcome log.
     */
    public void publishToday() throws IOException {
        if (shared.isEmpty() || clock.instant().isBefore(lastPublished.plus(PUBLISH_PERIOD))) {
            return;
        }
        LocalDate day = today();
        Aggregator.Accumulator acc = new Aggregator.Accumulator(day);
        log.forEach(day, acc);
        shared.get().publish(day, validReports(acc.result(settings.identity(), d -> "")), false);
        lastPublished = clock.instant();
    }

    public Clock clock() {
        return clock;
    }

    /** Today's UTC date by the service's clock. */
    public LocalDate today() {
        return LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    }

    // ---- preview ----

    /**
     * The day's aggregate and what each domain's TLSRPT record says, without storing or sending anything. A report
     * already in the outbox keeps its id.
     *
     * @param domain only this domain, when given
     */
    public Preview preview(LocalDate day, Optional<String> domain) throws IOException {
        Aggregator.Accumulator acc = new Aggregator.Accumulator(day);
        Optional<String> only = domain.map(DnsNames::normalise);
        log.forEach(
                day,
                e -> {
                    if (only.isEmpty() || only.get().equals(e.domain())) {
                        acc.accept(e);
                    }
                });
        Map<String, OutboxEntry> stored = new LinkedHashMap<>();
        for (OutboxEntry e : outbox.entries(day)) {
            stored.put(e.policyDomain(), e);
        }
        Aggregator.DayAggregate agg =
                acc.result(
                        settings.identity(),
                        d -> {
                            OutboxEntry e = stored.get(d);
                            return e != null && e.reporting() ? e.reportId() : newReportId();
                        });
        List<String> toLookUp =
                agg.reports().stream()
                        .map(TlsReport::policyDomain)
                        .filter(d -> !stored.containsKey(d))
                        .toList();
        Map<String, TlsRptRecord.Discovery> found = discover(toLookUp);
        Map<String, Target> targets = new LinkedHashMap<>();
        for (TlsReport r : agg.reports()) {
            String d = r.policyDomain();
            OutboxEntry e = stored.get(d);
            targets.put(d, e != null ? target(e) : target(d, found.get(d)));
        }
        return new Preview(agg, targets);
    }

    private static Target target(OutboxEntry e) {
        return e.reporting()
                ? new Target(
                        e.policyDomain(),
                        Target.Status.REPORTING,
                        e.deliveries().stream().map(OutboxEntry.Delivery::uri).toList(),
                        e.tlsrpt())
                : new Target(e.policyDomain(), Target.Status.NOT_REPORTING, List.of(), e.tlsrpt());
    }

    private static Target target(String domain, TlsRptRecord.Discovery d) {
        if (d instanceof TlsRptRecord.Found f) {
            return new Target(
                    domain,
                    Target.Status.REPORTING,
                    f.rua().stream().map(Rua::uri).toList(),
                    f.record());
        }
        if (d instanceof TlsRptRecord.NotFound n) {
            return new Target(domain, Target.Status.NOT_REPORTING, List.of(), n.reason());
        }
        return new Target(
                domain,
                Target.Status.UNKNOWN,
                List.of(),
                d instanceof TlsRptRecord.LookupFailed l ? l.reason() : "no answer");
    }

    // ---- building and sending ----

    /**
     * Builds the reports of {@code day} that are not in the outbox yet and sends the deliveries that are due.
     *
     * @param now also send deliveries whose next attempt is later, and retry those given up on ({@code report send})
     */
    public RunResult run(LocalDate day, boolean now) throws IOException {
        return outbox.locked(
                () -> {
                    Map<String, String> notReporting = new LinkedHashMap<>();
                    Map<String, String> lookupFailed = new LinkedHashMap<>();
                    build(day, notReporting, lookupFailed);
                    List<Attempt> attempts = new ArrayList<>();
                    for (OutboxEntry e : outbox.entries(day)) {
                        if (e.reporting()) {
                            sender.deliver(e, now, attempts);
                        } else {
                            notReporting.putIfAbsent(e.policyDomain(), e.tlsrpt());
                        }
                    }
                    return new RunResult(day, attempts, notReporting, lookupFailed);
                });
    }

    /** Sends every pending delivery that is due, of any day still in the outbox (the retry tick). */
    public List<Attempt> deliverDue() throws IOException {
        return outbox.locked(
                () -> {
                    List<Attempt> attempts = new ArrayList<>();
                    Instant t = clock.instant();
                    for (LocalDate day : outbox.days()) {
                        for (OutboxEntry e : outbox.entries(day)) {
                            if (e.deliveries().stream().anyMatch(d -> d.dueAt(t))) {
                                sender.deliver(e, false, attempts);
                            }
                        }
                    }
                    return attempts;
                });
    }

    /** Deletes outcome logs and outbox days older than {@link Settings#retentionDays()}. */
    public void prune() throws IOException {
        LocalDate keepFrom = today().minusDays(settings.retentionDays());
        int logs = log.deleteBefore(keepFrom);
        int days = outbox.locked(() -> outbox.deleteBefore(keepFrom));
        if (logs + days > 0) {
            LOG.info(
                    "TLS-RPT: deleted {} outcome log(s) and {} outbox day(s) before {}",
                    logs,
                    days,
                    keepFrom);
        }
    }

    private void build(
            LocalDate day, Map<String, String> notReporting, Map<String, String> lookupFailed)
            throws IOException {
        Aggregator.Accumulator acc = new Aggregator.Accumulator(day);
        log.forEach(day, acc);
        Aggregator.DayAggregate agg = acc.result(settings.identity(), d -> newReportId());
        if (shared.isPresent()) {
            if (buildShared(day, agg, shared.get(), notReporting, lookupFailed)) {
                return;
            }
        }
        List<TlsReport> missing = new ArrayList<>();
        for (TlsReport r : agg.reports()) {
            if (!DnsNames.isValid(r.policyDomain())) {
                LOG.warn(
                        "TLS-RPT {}: \"{}\" in the outcome log is not a domain name; no report",
                        day,
                        r.policyDomain());
            } else if (outbox.load(day, r.policyDomain()).isEmpty()) {
                missing.add(r);
            }
        }
        Map<String, TlsRptRecord.Discovery> found =
                discover(missing.stream().map(TlsReport::policyDomain).toList());
        for (TlsReport r : missing) {
            store(day, r, found.get(r.policyDomain()), notReporting, lookupFailed);
        }
    }

    /**
     * Puts the report of one domain in the outbox as its TLSRPT record says: with its deliveries, as not reporting,
     * or not at all when the look-up failed. Returns whether it is in the outbox now.
     */
    private boolean store(
            LocalDate day,
            TlsReport r,
            TlsRptRecord.Discovery d,
            Map<String, String> notReporting,
            Map<String, String> lookupFailed)
            throws IOException {
        Instant created = clock.instant();
        String domain = r.policyDomain();
        if (d instanceof TlsRptRecord.Found f) {
            List<OutboxEntry.Delivery> deliveries =
                    f.rua().stream()
                            .map(u -> OutboxEntry.Delivery.pending(u.uri(), created))
                            .toList();
            OutboxEntry entry =
                    new OutboxEntry(
                            domain,
                            day.toString(),
                            r.reportId(),
                            f.record(),
                            created.toString(),
                            deliveries);
            outbox.create(entry, ReportJson.toGzip(r));
            f.ignored().forEach(i -> LOG.info("TLS-RPT {}: rua {} ignored", domain, i));
            LOG.info(
                    "TLS-RPT {}: report {} for {} built for {}",
                    domain,
                    r.reportId(),
                    day,
                    deliveries.stream().map(OutboxEntry.Delivery::uri).toList());
        } else if (d instanceof TlsRptRecord.NotFound n) {
            outbox.create(
                    new OutboxEntry(
                            domain, day.toString(), "", n.reason(), created.toString(), List.of()),
                    new byte[0]);
            notReporting.put(domain, n.reason());
        } else {
            String why = d instanceof TlsRptRecord.LookupFailed l ? l.reason() : "no answer";
            LOG.warn(
                    "TLS-RPT {}: TLSRPT look-up failed ({}); trying again on the next run",
                    domain,
                    why);
            lookupFailed.put(domain, why);
            return false;
        }
        return true;
    }

    /**
     * A cluster's day (issue 18): publishes this relay's final totals, then for every domain any relay saw, claims the
     * report; the relay that gets it sums every relay's part and puts the report in its outbox, the others note who
     * sends it. Returns false when the cluster store cannot be reached and has not been for {@link
     * #CLUSTER_FALLBACK} after the day: the caller then reports this relay's own counts, as a standalone relay does.
     */
    private boolean buildShared(
            LocalDate day,
            Aggregator.DayAggregate agg,
            SharedReports store,
            Map<String, String> notReporting,
            Map<String, String> lookupFailed)
            throws IOException {
        Instant dayEnd = day.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
        boolean complete = !clock.instant().isBefore(dayEnd.plus(ReportScheduler.MIN_DELAY));
        java.util.TreeSet<String> domains = new java.util.TreeSet<>();
        List<TlsReport> local = validReports(agg);
        local.forEach(r -> domains.add(r.policyDomain()));
        try {
            store.publish(day, local, complete);
            domains.addAll(store.domains(day));
        } catch (IOException e) {
            if (!clock.instant().isBefore(dayEnd.plus(CLUSTER_FALLBACK))) {
                LOG.warn(
                        "TLS-RPT {}: the cluster's shared state has been unreachable since the day ended ({});"
                                + " reporting this relay's own counts",
                        day,
                        Problems.describe(e));
                return false;
            }
            for (String d : domains) {
                if (outbox.load(day, d).isEmpty()) {
                    lookupFailed.put(
                            d,
                            "the cluster's shared state cannot be reached: "
                                    + Problems.describe(e));
                }
            }
            return true;
        }
        for (String domain : domains) {
            if (!DnsNames.isValid(domain) || outbox.load(day, domain).isPresent()) {
                continue;
            }
            SharedReports.Claim claim;
            try {
                claim = store.claim(day, domain, newReportId());
            } catch (IOException e) {
                lookupFailed.put(
                        domain,
                        "the cluster's shared state cannot be reached: " + Problems.describe(e));
                continue;
            }
            if (claim instanceof SharedReports.Claim.Elsewhere e) {
                outbox.create(
                        new OutboxEntry(
                                domain,
                                day.toString(),
                                "",
                                "reported by cluster node "
                                        + e.node()
                                        + " (report "
                                        + e.reportId()
                                        + ")",
                                clock.instant().toString(),
                                List.of()),
                        new byte[0]);
                LOG.info(
                        "TLS-RPT {}: report {} for {} is sent by cluster node {}",
                        domain,
                        e.reportId(),
                        day,
                        e.node());
            } else if (claim instanceof SharedReports.Claim.NotYet n) {
                lookupFailed.put(domain, n.why());
            } else if (claim instanceof SharedReports.Claim.Mine m) {
                List<TlsReport> parts =
                        m.parts().entrySet().stream()
                                .sorted(Map.Entry.comparingByKey())
                                .map(Map.Entry::getValue)
                                .toList();
                TlsReport sum = Aggregator.merge(parts, settings.identity(), day, m.reportId());
                TlsRptRecord.Discovery d = discover(List.of(domain)).get(domain);
                if (store(day, sum, d, notReporting, lookupFailed)) {
                    store.built(day, domain, m);
                    LOG.info(
                            "TLS-RPT {}: report {} for {} sums the counts of cluster node(s) {}",
                            domain,
                            m.reportId(),
                            day,
                            m.parts().keySet().stream().sorted().toList());
                } else {
                    store.release(day, domain);
                }
            }
        }
        return true;
    }

    /** The reports of valid domain names (the outcome log is data; a broken line names no domain). */
    private static List<TlsReport> validReports(Aggregator.DayAggregate agg) {
        return agg.reports().stream().filter(r -> DnsNames.isValid(r.policyDomain())).toList();
    }

    private Map<String, TlsRptRecord.Discovery> discover(List<String> domains) {
        Map<String, CompletableFuture<TlsRptRecord.Discovery>> futures = new LinkedHashMap<>();
        for (String d : domains) {
            futures.put(d, lookup.lookup(d));
        }
        Map<String, TlsRptRecord.Discovery> out = new LinkedHashMap<>();
        long deadline = System.nanoTime() + settings.dnsTimeout().toNanos();
        for (Map.Entry<String, CompletableFuture<TlsRptRecord.Discovery>> e : futures.entrySet()) {
            try {
                long left = Math.max(0, deadline - System.nanoTime());
                out.put(e.getKey(), e.getValue().get(left, TimeUnit.NANOSECONDS));
            } catch (TimeoutException ex) {
                out.put(
                        e.getKey(),
                        new TlsRptRecord.LookupFailed(
                                "no answer within " + Durations.format(settings.dnsTimeout())));
            } catch (ExecutionException ex) {
                out.put(e.getKey(), new TlsRptRecord.LookupFailed(String.valueOf(ex.getCause())));
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                out.put(e.getKey(), new TlsRptRecord.LookupFailed("interrupted"));
            }
        }
        return out;
    }

    private String newReportId() {
        return uniqueIds.get() + "@" + settings.identity().submitter();
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return b;
    }
}
