package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.report.ReportJson;
import org.tlsrelay.core.report.ReportService;
import org.tlsrelay.core.report.ShadowCount;
import org.tlsrelay.core.report.TlsReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tlsrelay report ...}: the TLS-RPT (RFC 8460) aggregate reports of a day. */
@Command(
        name = "report",
        header = "TLS-RPT (RFC 8460) aggregate reports: show a day, send reports.",
        description = "Show or send the TLS-RPT (RFC 8460) aggregate reports of a UTC day.",
        mixinStandardHelpOptions = true,
        subcommands = {ReportCommand.Show.class, ReportCommand.Send.class})
final class ReportCommand extends CommandGroup {
    /** {@code YYYY-MM-DD}, {@code today} or {@code yesterday} (UTC); a bad value is a usage error. */
    static LocalDate parseDate(String text, LocalDate today) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("today")) {
            return today;
        }
        if (t.equals("yesterday")) {
            return today.minusDays(1);
        }
        try {
            return LocalDate.parse(t);
        } catch (DateTimeParseException e) {
            throw new UsageException(
                    "--date: \"" + text + "\" is not a date (YYYY-MM-DD, today or yesterday)");
        }
    }

    static LocalDate todayUtc() {
        return LocalDate.now(ZoneOffset.UTC);
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            header = "A UTC day's TLS sessions, reports and testing shadow counts.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {"0:the day was shown", "2:usage or configuration error"},
            description = {
                "Print a day's aggregate: per policy domain the sessions that succeeded and failed, the RFC "
                        + "8460 report that is (or would be) sent to the domain's TLSRPT addresses, and the shadow counts "
                        + "of testing policies: how many sessions enforce would have refused. Looks up each domain's "
                        + "_smtp._tls TXT record; sends nothing. In a cluster (cluster.redis) it also shows each "
                        + "domain's sum over all relays beside this relay's part. Exits 0, or 2 on a usage or "
                        + "configuration error."
            },
            footer = {
                "%nWith --json: {\"date\", \"complete\", \"reports\": [RFC 8460 reports], \"shadow\": "
                        + "[{\"policy-domain\", \"testing-sessions\", \"would-refuse\", \"by-result-type\"}], "
                        + "\"domains\": [{\"policy-domain\", \"tlsrpt\", \"rua\", \"note\", \"successful-sessions\", "
                        + "\"failed-sessions\"}]}. With cluster.redis set, also \"cluster\": {\"redis\", "
                        + "\"reachable\", \"domains\": [{\"policy-domain\", \"successful-sessions\", \"failed-sessions\" "
                        + "(all relays), \"local-successful-sessions\", \"local-failed-sessions\" (this relay), "
                        + "\"nodes\"}]}.",
                "%nExample:%n  tlsrelay report show --date 2025-06-01 --domain example.com --json"
            })
    static final class Show implements Callable<Integer> {
        @Option(
                names = "--date",
                paramLabel = "D",
                description =
                        "The UTC day: YYYY-MM-DD, today or yesterday. Default: today (so far).")
        String date;

        @Option(names = "--domain", paramLabel = "X", description = "Only this policy domain.")
        String domain;

        @Mixin JsonOption json;

        @Mixin ConfigOption config;

        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            LocalDate today = todayUtc();
            LocalDate day = date == null ? today : parseDate(date, today);
            if (domain != null && !DnsNames.isValid(domain)) {
                throw new UsageException("--domain: \"" + domain + "\" is not a domain name");
            }
            RelayConfig cfg = config.load();
            ReportService.Preview p;
            try (ReportWiring wiring = ReportWiring.open(cfg)) {
                p =
                        wiring.service()
                                .preview(day, Optional.ofNullable(domain).map(DnsNames::normalise));
            }
            PrintWriter out = output.out();
            boolean complete = day.isBefore(today);
            Optional<ClusterReportView> cluster =
                    ClusterReportView.load(
                            cfg, day, Optional.ofNullable(domain).map(DnsNames::normalise), p);
            if (json.on()) {
                ObjectNode o = toJson(day, complete, p);
                cluster.ifPresent(c -> c.addTo(o));
                output.json(o);
            } else {
                printText(out, day, complete, p, cfg);
                cluster.ifPresent(c -> c.print(out));
            }
            out.flush();
            return 0;
        }

        static ObjectNode toJson(LocalDate day, boolean complete, ReportService.Preview p) {
            ObjectMapper m = ReportJson.mapper();
            ObjectNode o = m.createObjectNode();
            o.put("date", day.toString());
            o.put("complete", complete);
            ArrayNode reports = o.putArray("reports");
            p.reportsToSend().forEach(r -> reports.add(m.valueToTree(r)));
            ArrayNode shadow = o.putArray("shadow");
            p.aggregate().shadow().forEach(s -> shadow.add(m.valueToTree(s)));
            ArrayNode domains = o.putArray("domains");
            for (TlsReport r : p.aggregate().reports()) {
                ReportService.Target t = p.targets().get(r.policyDomain());
                ObjectNode d = domains.addObject();
                d.put("policy-domain", r.policyDomain());
                d.put("tlsrpt", t.status().name().toLowerCase(Locale.ROOT).replace('_', '-'));
                ArrayNode rua = d.putArray("rua");
                t.rua().forEach(rua::add);
                d.put("note", t.note());
                d.put("successful-sessions", successes(r));
                d.put("failed-sessions", failures(r));
            }
            return o;
        }

        static void printText(
                PrintWriter out,
                LocalDate day,
                boolean complete,
                ReportService.Preview p,
                RelayConfig cfg) {
            out.println(
                    "TLS-RPT "
                            + day
                            + " (UTC, "
                            + (complete ? "whole day" : "so far")
                            + "), submitter "
                            + cfg.reports().submitter());
            if (p.aggregate().reports().isEmpty()) {
                out.println("no sessions recorded");
                return;
            }
            out.printf(
                    "%-32s %-9s %8s %8s  %s%n",
                    "POLICY DOMAIN", "TLSRPT", "OK", "FAILED", "REPORT TO");
            for (TlsReport r : p.aggregate().reports()) {
                ReportService.Target t = p.targets().get(r.policyDomain());
                String tlsrpt =
                        switch (t.status()) {
                            case REPORTING -> "yes";
                            case NOT_REPORTING -> "no";
                            case UNKNOWN -> "unknown";
                        };
                String to =
                        t.status() == ReportService.Target.Status.REPORTING
                                ? String.join(", ", t.rua())
                                : "(" + t.note() + ")";
                out.printf(
                        "%-32s %-9s %8d %8d  %s%n",
                        r.policyDomain(), tlsrpt, successes(r), failures(r), to);
            }
            boolean header = false;
            for (TlsReport r : p.aggregate().reports()) {
                for (TlsReport.PolicyResult pr : r.policies()) {
                    for (TlsReport.FailureDetail f : pr.failureDetails()) {
                        if (!header) {
                            out.println();
                            out.println("Failures:");
                            header = true;
                        }
                        String where =
                                f.receivingMxHostname().isEmpty()
                                        ? "-"
                                        : f.receivingMxHostname()
                                                + (f.receivingIp().isEmpty()
                                                        ? ""
                                                        : " [" + f.receivingIp() + "]");
                        out.printf(
                                "  %-30s %-26s %-40s %6d  %s%n",
                                r.policyDomain(),
                                f.resultType(),
                                where,
                                f.failedSessionCount(),
                                pr.policy().policyType()
                                        + (f.additionalInformation().isEmpty()
                                                ? ""
                                                : "; " + f.additionalInformation()));
                    }
                }
            }
            out.println();
            if (p.aggregate().shadow().isEmpty()) {
                out.println("Shadow report: no sessions under a testing policy.");
            } else {
                out.println(
                        "Shadow report (testing policies): sessions that enforce would have refused");
                for (ShadowCount s : p.aggregate().shadow()) {
                    String types =
                            s.byResultType().entrySet().stream()
                                    .map(e -> e.getKey() + " " + e.getValue())
                                    .collect(Collectors.joining(", "));
                    out.printf(
                            "  %-30s would refuse %d of %d%s%n",
                            s.policyDomain(),
                            s.wouldRefuse(),
                            s.testingSessions(),
                            types.isEmpty() ? "" : " (" + types + ")");
                }
            }
        }

        static long successes(TlsReport r) {
            return r.policies().stream()
                    .mapToLong(p -> p.summary().totalSuccessfulSessionCount())
                    .sum();
        }

        static long failures(TlsReport r) {
            return r.policies().stream()
                    .mapToLong(p -> p.summary().totalFailureSessionCount())
                    .sum();
        }
    }

    @Command(
            name = "send",
            mixinStandardHelpOptions = true,
            header = "Build a finished UTC day's TLS-RPT reports and send them now.",
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:every report was sent (or there was none)",
                "1:a report could not be sent (it is " + "retried later)",
                "2:usage or configuration error"
            },
            description = {
                "Build a finished UTC day's reports now and send them to every TLSRPT address (mail through "
                        + "the relay's spool, HTTPS directly). A report already sent is not sent again; a failed one is "
                        + "tried again now. Exits 0 when every report was sent (or there was none), 1 when any failed, "
                        + "2 on a usage or configuration error."
            },
            footer = {
                "%nExample:%n  tlsrelay report send --date 2025-06-01 --config /etc/tlsrelay/tlsrelay.yaml"
            })
    static final class Send implements Callable<Integer> {
        @Option(
                names = "--date",
                paramLabel = "D",
                description =
                        "The UTC day: YYYY-MM-DD or yesterday; it must be over. Default: yesterday.")
        String date;

        @Mixin ConfigOption config;

        @Mixin Output output;

        @Override
        public Integer call() throws Exception {
            LocalDate today = todayUtc();
            LocalDate day = date == null ? today.minusDays(1) : parseDate(date, today);
            if (!day.isBefore(today)) {
                throw new UsageException(
                        "--date: " + day + " is not over yet (UTC); reports cover whole days");
            }
            RelayConfig cfg = config.load();
            if (!cfg.reports().enabled()) {
                throw new UsageException("TLS reports are disabled (reports.enabled: false)");
            }
            ReportService.RunResult r;
            try (ReportWiring wiring = ReportWiring.open(cfg)) {
                r = wiring.service().run(day, true);
            }
            PrintWriter out = output.out();
            for (ReportService.Attempt a : r.attempts()) {
                String word =
                        a.ok()
                                ? (a.state().name().equals("PENDING") ? "handed" : "sent")
                                : "failed";
                out.printf("%-7s %s %s: %s%n", word, a.policyDomain(), a.uri(), a.detail());
            }
            r.lookupFailed()
                    .forEach(
                            (d, why) ->
                                    out.printf("failed  %s: TLSRPT look-up failed: %s%n", d, why));
            r.notReporting().forEach((d, why) -> out.printf("no report %s: %s%n", d, why));
            if (r.attempts().isEmpty() && r.lookupFailed().isEmpty()) {
                out.println("nothing to send for " + day);
            }
            out.flush();
            return r.allSent() ? 0 : 1;
        }
    }
}
