package org.tlsrelay.core.report;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.tlsrelay.core.policy.PolicyMode;

/**
 * Turns one UTC day of {@link OutcomeEvent}s into one RFC 8460 report per policy domain (§4.4) and the local shadow
 * counts of {@code testing} policies. Pure: no I/O, no clock; the report ids come from the caller.
 *
 * <p>How events map to the report:
 * <ul>
 *   <li>An MTA-STS policy is its own {@code policies[]} entry, type {@code sts}, with its {@code policy-string}
 *       lines and {@code mx} patterns as {@code mx-host}; a domain whose policy changed during the day has one entry
 *       per policy.</li>
 *   <li>Everything else is type {@code no-policy-found}: no policy, and also policies from a policy list or a local
 *       override, which RFC 8460 has no type for. Their failures name the list (or the override) in
 *       {@code additional-information}, so the domain owner can tell them apart.</li>
 *   <li>A failed MTA-STS policy fetch counts as one failed session of type {@code sts-policy-fetch-error},
 *       {@code sts-policy-invalid} or {@code sts-webpki-invalid} in the {@code no-policy-found} entry, with the policy
 *       URL and the reason in {@code failure-reason-code}.</li>
 *   <li>Failures are grouped by result type, sending and receiving address, MX host and greeting name, additional
 *       information and reason; {@code failed-session-count} is the size of the group.</li>
 * </ul>
 */
public final class Aggregator {
    private static final DateTimeFormatter RFC3339 =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    private Aggregator() {}

    /** Who sends the reports: {@code reports.organization}, {@code reports.contact}, {@code reports.submitter}. */
    public record Identity(String organization, String contact, String submitter) {}

    /** A day's reports (sorted by domain) and shadow counts (sorted by domain). */
    public record DayAggregate(LocalDate day, List<TlsReport> reports, List<ShadowCount> shadow) {
        public DayAggregate {
            reports = List.copyOf(reports);
            shadow = List.copyOf(shadow);
        }

        public java.util.Optional<TlsReport> report(String domain) {
            return reports.stream().filter(r -> r.policyDomain().equals(domain)).findFirst();
        }
    }

    /** The first second of the day, as {@code start-datetime}. */
    public static String start(LocalDate day) {
        return RFC3339.format(day.atStartOfDay(ZoneOffset.UTC));
    }

    /** The last second of the day, as {@code end-datetime} (as in the RFC 8460 example, {@code 23:59:59Z}). */
    public static String end(LocalDate day) {
        return RFC3339.format(day.atStartOfDay(ZoneOffset.UTC).plusDays(1).minusSeconds(1));
    }

    /**
     * Aggregates {@code events} of {@code day} (events of other days are ignored).
     *
     * @param reportId gives the report id of a policy domain
     */
    public static DayAggregate aggregate(
            LocalDate day,
            List<OutcomeEvent> events,
            Identity identity,
            Function<String, String> reportId) {
        Accumulator acc = new Accumulator(day);
        events.forEach(acc);
        return acc.result(identity, reportId);
    }

    /**
     * Counts events one at a time (memory grows with the distinct policies and failure groups, not with the
     * sessions), then makes the day's reports.
     */
    public static final class Accumulator implements java.util.function.Consumer<OutcomeEvent> {
        private final LocalDate day;
        private final Map<String, Map<PolicyKey, Counts>> byDomain = new TreeMap<>();
        private final Map<String, Shadow> shadows = new TreeMap<>();

        public Accumulator(LocalDate day) {
            this.day = day;
        }

        @Override
        public void accept(OutcomeEvent e) {
            if (!e.day().equals(day)) {
                return;
            }
            PolicyKey key = policyKey(e);
            Counts c =
                    byDomain.computeIfAbsent(e.domain(), d -> new LinkedHashMap<>())
                            .computeIfAbsent(key, k -> new Counts());
            if (e.success()) {
                c.success++;
            } else {
                c.failure++;
                c.details.merge(detailKey(e), 1L, Long::sum);
            }
            if (e.isSession() && e.policyMode() == PolicyMode.TESTING) {
                Shadow s = shadows.computeIfAbsent(e.domain(), d -> new Shadow());
                s.sessions++;
                if (!e.success()) {
                    s.wouldRefuse++;
                    s.byType.merge(e.result(), 1L, Long::sum);
                }
            }
        }

        /** The reports (one per domain, sorted by domain) and shadow counts of what was added. */
        public DayAggregate result(Identity identity, Function<String, String> reportId) {
            List<TlsReport> reports = new ArrayList<>();
            byDomain.forEach(
                    (domain, policies) -> {
                        List<TlsReport.PolicyResult> results = new ArrayList<>();
                        policies.entrySet().stream()
                                .sorted(Map.Entry.comparingByKey(PolicyKey.ORDER))
                                .forEach(
                                        entry ->
                                                results.add(
                                                        Aggregator.result(
                                                                domain,
                                                                entry.getKey(),
                                                                entry.getValue())));
                        reports.add(
                                new TlsReport(
                                        identity.organization(),
                                        new TlsReport.DateRange(start(day), end(day)),
                                        identity.contact(),
                                        reportId.apply(domain),
                                        results));
                    });
            List<ShadowCount> shadow = new ArrayList<>();
            shadows.forEach(
                    (domain, s) ->
                            shadow.add(
                                    new ShadowCount(domain, s.sessions, s.wouldRefuse, s.byType)));
            return new DayAggregate(day, reports, shadow);
        }
    }

    /**
     * One report from several relays' reports of the same domain and day (a cluster, issue 18): an entry per policy,
     * summaries added, failure groups that are the same in every field counted together. Pure.
     */
    public static TlsReport merge(
            List<TlsReport> parts, Identity identity, LocalDate day, String reportId) {
        Map<TlsReport.PolicyInfo, long[]> summaries = new LinkedHashMap<>();
        Map<TlsReport.PolicyInfo, Map<TlsReport.FailureDetail, Long>> details =
                new LinkedHashMap<>();
        for (TlsReport part : parts) {
            for (TlsReport.PolicyResult r : part.policies()) {
                long[] sum = summaries.computeIfAbsent(r.policy(), k -> new long[2]);
                sum[0] += r.summary().totalSuccessfulSessionCount();
                sum[1] += r.summary().totalFailureSessionCount();
                Map<TlsReport.FailureDetail, Long> groups =
                        details.computeIfAbsent(r.policy(), k -> new LinkedHashMap<>());
                for (TlsReport.FailureDetail d : r.failureDetails()) {
                    groups.merge(withCount(d, 0), d.failedSessionCount(), Long::sum);
                }
            }
        }
        List<TlsReport.PolicyResult> results = new ArrayList<>();
        summaries.entrySet().stream()
                .sorted(
                        Map.Entry.comparingByKey(
                                Comparator.comparing(
                                        (TlsReport.PolicyInfo p) ->
                                                new PolicyKey(
                                                        p.policyType(),
                                                        p.policyString(),
                                                        p.mxHost()),
                                        PolicyKey.ORDER)))
                .forEach(
                        e -> {
                            List<TlsReport.FailureDetail> groups = new ArrayList<>();
                            details.get(e.getKey()).forEach((d, n) -> groups.add(withCount(d, n)));
                            groups.sort(DETAIL_ORDER);
                            results.add(
                                    new TlsReport.PolicyResult(
                                            e.getKey(),
                                            new TlsReport.Summary(e.getValue()[0], e.getValue()[1]),
                                            groups));
                        });
        return new TlsReport(
                identity.organization(),
                new TlsReport.DateRange(start(day), end(day)),
                identity.contact(),
                reportId,
                results);
    }

    private static TlsReport.FailureDetail withCount(TlsReport.FailureDetail d, long n) {
        return new TlsReport.FailureDetail(
                d.resultType(),
                d.sendingMtaIp(),
                d.receivingMxHostname(),
                d.receivingMxHelo(),
                d.receivingIp(),
                n,
                d.additionalInformation(),
                d.failureReasonCode());
    }

    private static final Comparator<TlsReport.FailureDetail> DETAIL_ORDER =
            Comparator.comparing(TlsReport.FailureDetail::resultType)
                    .thenComparing(TlsReport.FailureDetail::receivingMxHostname)
                    .thenComparing(TlsReport.FailureDetail::receivingIp)
                    .thenComparing(TlsReport.FailureDetail::sendingMtaIp)
                    .thenComparing(TlsReport.FailureDetail::additionalInformation)
                    .thenComparing(TlsReport.FailureDetail::failureReasonCode);

    private static TlsReport.PolicyResult result(String domain, PolicyKey key, Counts c) {
        List<TlsReport.FailureDetail> details = new ArrayList<>();
        c.details.forEach(
                (k, n) ->
                        details.add(
                                new TlsReport.FailureDetail(
                                        k.resultType,
                                        k.sendingIp,
                                        k.mxHost,
                                        k.mxHelo,
                                        k.receivingIp,
                                        n,
                                        k.additional,
                                        k.reason)));
        details.sort(DETAIL_ORDER);
        return new TlsReport.PolicyResult(
                new TlsReport.PolicyInfo(key.type, key.strings, domain, key.mx),
                new TlsReport.Summary(c.success, c.failure),
                details);
    }

    /** RFC 8460 has policy types only for MTA-STS and DANE; everything else is "no-policy-found". */
    static PolicyKey policyKey(OutcomeEvent e) {
        if (e.isSession() && e.source().equals("mta-sts")) {
            return new PolicyKey(TlsReport.STS, e.policyString(), e.mx());
        }
        if (e.isSession() && e.source().equals("dane")) {
            return new PolicyKey(TlsReport.TLSA, e.policyString(), e.mx());
        }
        return new PolicyKey(TlsReport.NO_POLICY_FOUND, List.of(), List.of());
    }

    /** What {@code additional-information} says about a policy that RFC 8460 cannot name. */
    static String additionalInformation(OutcomeEvent e) {
        if (!e.isSession()) {
            return "";
        }
        String mx = e.mx().isEmpty() ? "" : ", mx " + String.join(" ", e.mx());
        return switch (e.source()) {
            case "list" ->
                    "policy from the STARTTLS policy list \""
                            + e.sourceName()
                            + "\" (mode "
                            + e.mode()
                            + mx
                            + "); RFC 8460 has no policy type for it";
            case "override" ->
                    "policy from a local override (mode "
                            + e.mode()
                            + mx
                            + "); RFC 8460 has no policy type for it";
            default -> "";
        };
    }

    private static DetailKey detailKey(OutcomeEvent e) {
        return new DetailKey(
                e.result(),
                e.sendingIp(),
                e.mxHost(),
                e.mxHelo(),
                e.receivingIp(),
                additionalInformation(e),
                e.detail());
    }

    record PolicyKey(String type, List<String> strings, List<String> mx) {
        static final Comparator<PolicyKey> ORDER =
                Comparator.comparing(PolicyKey::type)
                        .thenComparing(k -> String.join("\n", k.strings()))
                        .thenComparing(k -> String.join(" ", k.mx()));
    }

    private record DetailKey(
            String resultType,
            String sendingIp,
            String mxHost,
            String mxHelo,
            String receivingIp,
            String additional,
            String reason) {}

    private static final class Counts {
        long success;
        long failure;
        final Map<DetailKey, Long> details = new LinkedHashMap<>();
    }

    private static final class Shadow {
        long sessions;
        long wouldRefuse;
        final Map<String, Long> byType = new TreeMap<>();
    }
}
