package org.tlsrelay.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.tlsrelay.core.config.RedisUrl;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.report.ReportService;
import org.tlsrelay.core.report.TlsReport;
import org.tlsrelay.smtp.cluster.Cluster;
import org.tlsrelay.smtp.cluster.ClusterStatus;
import org.tlsrelay.smtp.cluster.Membership;
import org.tlsrelay.smtp.cluster.RedisLink;
import org.tlsrelay.smtp.cluster.SharedReportStore;

/**
 * What {@code report show} adds in a cluster: per policy domain the sum over all relays (this relay's counts from its
 * own outcome log, the others' as they last published them) and this relay's part, or why Redis could not be asked.
 */
record ClusterReportView(RedisUrl redis, Optional<String> error, List<Row> rows) {

    /** One domain: the cluster's sum, this node's part and the nodes that counted sessions. */
    record Row(
            String domain,
            long successful,
            long failed,
            long localSuccessful,
            long localFailed,
            List<String> nodes) {}

    static Optional<ClusterReportView> load(
            RelayConfig cfg, LocalDate day, Optional<String> domain, ReportService.Preview local) {
        Optional<RedisUrl> url = cfg.cluster().redisUrl();
        if (url.isEmpty()) {
            return Optional.empty();
        }
        String self = cfg.cluster().nodeId();
        Map<String, TlsReport> mine = new TreeMap<>();
        local.aggregate().reports().forEach(r -> mine.put(r.policyDomain(), r));
        try (RedisLink link = ClusterStatus.connect(url.get(), self + "-report", Cluster.TIMEOUT)) {
            SharedReportStore store =
                    new SharedReportStore(
                            link,
                            new Membership(link, Optional::empty, Clock.systemUTC()),
                            Clock.systemUTC());
            TreeSet<String> domains = new TreeSet<>(mine.keySet());
            if (domain.isEmpty()) {
                domains.addAll(store.domains(day));
            } else {
                domains.add(domain.get());
            }
            List<Row> rows = new ArrayList<>();
            for (String d : domains) {
                Map<String, TlsReport> parts = new TreeMap<>(store.parts(day, d));
                parts.remove(self); // this node's counts come from its log, fresher than what it
                // published
                Optional.ofNullable(mine.get(d)).ifPresent(r -> parts.put(self, r));
                if (parts.isEmpty()) {
                    continue;
                }
                long ok = 0;
                long failed = 0;
                for (TlsReport r : parts.values()) {
                    ok += ReportCommand.Show.successes(r);
                    failed += ReportCommand.Show.failures(r);
                }
                TlsReport own = mine.get(d);
                rows.add(
                        new Row(
                                d,
                                ok,
                                failed,
                                own == null ? 0 : ReportCommand.Show.successes(own),
                                own == null ? 0 : ReportCommand.Show.failures(own),
                                List.copyOf(parts.keySet())));
            }
            return Optional.of(new ClusterReportView(url.get(), Optional.empty(), rows));
        } catch (IOException e) {
            return Optional.of(
                    new ClusterReportView(url.get(), Optional.of(e.getMessage()), List.of()));
        }
    }

    void addTo(ObjectNode o) {
        ObjectNode c = o.putObject("cluster");
        c.put("redis", redis.toString());
        c.put("reachable", error.isEmpty());
        error.ifPresent(e -> c.put("error", e));
        ArrayNode domains = c.putArray("domains");
        for (Row r : rows) {
            ObjectNode d = domains.addObject();
            d.put("policy-domain", r.domain());
            d.put("successful-sessions", r.successful());
            d.put("failed-sessions", r.failed());
            d.put("local-successful-sessions", r.localSuccessful());
            d.put("local-failed-sessions", r.localFailed());
            ArrayNode nodes = d.putArray("nodes");
            r.nodes().forEach(nodes::add);
        }
    }

    void print(PrintWriter out) {
        out.println();
        if (error.isPresent()) {
            out.println("Cluster: " + error.get() + "; the counts above are this relay's only.");
            return;
        }
        out.println(
                "Cluster (Redis "
                        + redis
                        + "): every relay's counts, this one's from its log, the others' as last published");
        if (rows.isEmpty()) {
            out.println("  no sessions published by any relay");
            return;
        }
        out.printf(
                "%-32s %8s %8s %10s %10s  %s%n",
                "POLICY DOMAIN", "OK", "FAILED", "HERE OK", "HERE FAIL", "NODES");
        for (Row r : rows) {
            out.printf(
                    "%-32s %8d %8d %10d %10d  %s%n",
                    r.domain(),
                    r.successful(),
                    r.failed(),
                    r.localSuccessful(),
                    r.localFailed(),
                    String.join(", ", r.nodes()));
        }
    }
}
