package org.tlsrelay.smtp.cluster;

import java.time.LocalDate;
import org.tlsrelay.smtp.outbound.ConcurrencyLimiter;

/** The Redis keys of the shared state, all under {@code tlsrelay:}. */
final class Keys {
    private Keys() {}

    static final String PREFIX = "tlsrelay:";

    /** Hash: node id → last heartbeat (epoch ms); lets {@code cluster status} name nodes that went silent. */
    static final String NODES = PREFIX + "nodes";

    /** Hash of one node's heartbeat, with a time to live. */
    static String node(String id) {
        return PREFIX + "node:" + id;
    }

    /** Sorted set of leased slots: member {@code NODE#N}, score the lease's expiry (Redis time, ms). */
    static String slots(ConcurrencyLimiter.Key key) {
        if (key instanceof ConcurrencyLimiter.Domain d) {
            return PREFIX + "slots:domain:" + d.name();
        }
        return PREFIX + "slots:host:" + ((ConcurrencyLimiter.Host) key).address().getHostAddress();
    }

    /** Sorted set of the nodes waiting for {@link #slots}: member the node, score when the wait lapses. */
    static String slotWaiters(ConcurrencyLimiter.Key key) {
        return slots(key) + ":want";
    }

    /** Hash: domain → cached MTA-STS policy JSON. */
    static final String MTA_STS = PREFIX + "mta-sts";

    /** Counter bumped on every change of {@link #MTA_STS}: a relay reads the hash again when it moved. */
    static final String MTA_STS_VERSION = PREFIX + "mta-sts:version";

    /** Hash: node → that node's TLS-RPT report of (day, domain) as JSON. */
    static String reportParts(LocalDate day, String domain) {
        return PREFIX + "tlsrpt:" + day + ":" + domain;
    }

    /** Set of the policy domains any node published for the day. */
    static String reportDomains(LocalDate day) {
        return PREFIX + "tlsrpt:" + day + ":domains";
    }

    /** Set of the nodes whose published totals of the day are final. */
    static String reportFinal(LocalDate day) {
        return PREFIX + "tlsrpt:" + day + ":final";
    }

    /** The report id all nodes use for (day, domain). */
    static String reportId(LocalDate day, String domain) {
        return PREFIX + "tlsrpt:" + day + ":" + domain + ":id";
    }

    /** Lock (with expiry) of the node building (day, domain)'s report. */
    static String reportLock(LocalDate day, String domain) {
        return PREFIX + "tlsrpt:" + day + ":" + domain + ":lock";
    }

    /** Marker: the report with this id is built (in the named node's outbox); no other node sends it. */
    static String reportSent(String reportId) {
        return PREFIX + "tlsrpt:sent:" + reportId;
    }
}
