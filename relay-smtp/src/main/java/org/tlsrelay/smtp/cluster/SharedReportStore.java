package org.tlsrelay.smtp.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.report.ReportJson;
import org.tlsrelay.core.report.ReportService;
import org.tlsrelay.core.report.SharedReports;
import org.tlsrelay.core.report.TlsReport;
import redis.clients.jedis.params.SetParams;

/**
 * The TLS-RPT totals of a cluster's relays in Redis (RFC 8460 §4, one report per domain and day): per (day, domain)
 * a hash of node → that node's report of its own counts (its totals per policy, result type and MX, replaced on each
 * publish), the set of domains of the day and the set of nodes whose totals are final. The relay that reports a
 * (day, domain) holds a lock that expires ({@link #LOCK_TTL}: a relay that dies while building frees it) and leaves a
 * marker under the report id once the report is in its outbox. Keys of a day expire after {@link #KEEP_DAYS}.
 */
public final class SharedReportStore implements SharedReports {
    private static final Logger LOG = LoggerFactory.getLogger(SharedReportStore.class);

    /** How long a claim holds (building a report means one TLSRPT look-up: seconds). */
    static final java.time.Duration LOCK_TTL = java.time.Duration.ofMinutes(10);

    /** A month and a bit: longer than any report is retried. */
    static final long KEEP_DAYS = 40;

    private final RedisLink link;
    private final Membership members;
    private final Clock clock;

    public SharedReportStore(RedisLink link, Membership members, Clock clock) {
        this.link = link;
        this.members = members;
        this.clock = clock;
    }

    private static long keepSeconds() {
        return KEEP_DAYS * 24 * 3600;
    }

    @Override
    public void publish(LocalDate day, List<TlsReport> local, boolean complete) throws IOException {
        String node = link.nodeId();
        link.await(
                redis -> {
                    for (TlsReport r : local) {
                        String domain = r.policyDomain();
                        String key = Keys.reportParts(day, domain);
                        redis.hset(
                                key,
                                node,
                                new String(ReportJson.toJson(r), StandardCharsets.UTF_8));
                        redis.expire(key, keepSeconds());
                        redis.sadd(Keys.reportDomains(day), domain);
                    }
                    redis.expire(Keys.reportDomains(day), keepSeconds());
                    if (complete) {
                        redis.sadd(Keys.reportFinal(day), node);
                        redis.expire(Keys.reportFinal(day), keepSeconds());
                    }
                    return null;
                });
    }

    @Override
    public Set<String> domains(LocalDate day) throws IOException {
        Set<String> found = link.await(redis -> redis.smembers(Keys.reportDomains(day)));
        return new TreeSet<String>(found);
    }

    @Override
    public Map<String, TlsReport> parts(LocalDate day, String domain) throws IOException {
        Map<String, String> raw = link.await(redis -> redis.hgetAll(Keys.reportParts(day, domain)));
        Map<String, TlsReport> out = new TreeMap<>();
        raw.forEach(
                (node, json) -> {
                    try {
                        TlsReport r = ReportJson.parse(json.getBytes(StandardCharsets.UTF_8));
                        if (r.policies().stream()
                                .allMatch(p -> p.policy().policyDomain().equals(domain))) {
                            out.put(node, r);
                            return;
                        }
                        LOG.warn(
                                "cluster: TLS-RPT counts of node {} for {} on {} name another domain; ignored",
                                node,
                                domain,
                                day);
                    } catch (IOException | RuntimeException e) {
                        LOG.warn(
                                "cluster: TLS-RPT counts of node {} for {} on {} are unreadable ({}); ignored",
                                node,
                                domain,
                                day,
                                Problems.describe(e));
                    }
                });
        return out;
    }

    @Override
    public Claim claim(LocalDate day, String domain, String proposedId) throws IOException {
        String node = link.nodeId();
        String idKey = Keys.reportId(day, domain);
        String id =
                link.await(
                        redis -> {
                            redis.set(
                                    idKey,
                                    proposedId,
                                    SetParams.setParams().nx().ex(keepSeconds()));
                            return redis.get(idKey);
                        });
        String sentBy = link.await(redis -> redis.get(Keys.reportSent(id)));
        if (sentBy != null) {
            return new Claim.Elsewhere(sentBy, id);
        }
        Instant waitUntil =
                day.plusDays(1)
                        .atStartOfDay(ZoneOffset.UTC)
                        .toInstant()
                        .plus(ReportService.CLUSTER_WAIT);
        if (clock.instant().isBefore(waitUntil)) {
            Set<String> fin = link.await(redis -> redis.smembers(Keys.reportFinal(day)));
            List<String> pending = new ArrayList<>();
            for (String live : members.live()) {
                if (!fin.contains(live)) {
                    pending.add(live);
                }
            }
            if (!pending.isEmpty()) {
                return new Claim.NotYet(
                        "waiting for cluster node(s) "
                                + String.join(", ", pending)
                                + " to publish their final counts of "
                                + day
                                + " (at most until "
                                + waitUntil
                                + ")");
            }
        }
        String lockKey = Keys.reportLock(day, domain);
        String holder =
                link.await(
                        redis -> {
                            String ok =
                                    redis.set(
                                            lockKey,
                                            node,
                                            SetParams.setParams().nx().px(LOCK_TTL.toMillis()));
                            return "OK".equals(ok) ? node : redis.get(lockKey);
                        });
        if (!node.equals(holder)) {
            return new Claim.NotYet("cluster node " + holder + " is building the report now");
        }
        String sentNow = link.await(redis -> redis.get(Keys.reportSent(id)));
        if (sentNow != null) { // built between our two looks
            release(day, domain);
            return new Claim.Elsewhere(sentNow, id);
        }
        return new Claim.Mine(id, new LinkedHashMap<>(parts(day, domain)));
    }

    @Override
    public void built(LocalDate day, String domain, Claim.Mine claim) throws IOException {
        link.await(
                redis -> {
                    redis.set(
                            Keys.reportSent(claim.reportId()),
                            link.nodeId(),
                            SetParams.setParams().ex(keepSeconds()));
                    return null;
                });
        release(day, domain);
    }

    /** Frees the lock if this node holds it (a compare-and-delete, so another node's lock is never removed). */
    @Override
    public void release(LocalDate day, String domain) throws IOException {
        link.await(
                redis ->
                        redis.eval(
                                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end"
                                        + " return 0",
                                List.of(Keys.reportLock(day, domain)),
                                List.of(link.nodeId())));
    }
}
