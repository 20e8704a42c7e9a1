package org.tlsrelay.smtp.cluster;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import org.tlsrelay.core.config.RedisUrl;
import org.tlsrelay.core.policy.mtasts.MtaStsResolver;
import org.tlsrelay.core.queue.QueueStats;
import org.tlsrelay.core.report.SharedReports;
import org.tlsrelay.smtp.outbound.ConcurrencyLimiter;

/**
 * A running relay's part in a cluster: the Redis link, the cluster-wide limiter, the shared MTA-STS cache, the shared
 * TLS-RPT totals and the heartbeat, started together (before the delivery engine, which takes {@link #limiter}).
 * {@link #start} waits at most {@link #FIRST_CONTACT} for Redis, so that a relay that starts beside a running cluster
 * has its policies and slots at once; without Redis it starts anyway, on local state.
 */
public final class Cluster implements AutoCloseable {
    /** Connect and reply timeout of every Redis call. */
    public static final Duration TIMEOUT = Duration.ofSeconds(1);

    /** How long a start waits for Redis before it goes on without it. */
    static final Duration FIRST_CONTACT = Duration.ofSeconds(2);

    private final RedisLink link;
    private final ClusterLimiter limiter;
    private final SharedPolicies policies;
    private final Membership membership;
    private final SharedReportStore reports;

    private Cluster(
            RedisLink link,
            ClusterLimiter limiter,
            SharedPolicies policies,
            Membership membership,
            SharedReportStore reports) {
        this.link = link;
        this.limiter = limiter;
        this.policies = policies;
        this.membership = membership;
        this.reports = reports;
    }

    /**
     * @param perDomain {@code delivery.concurrency.per-domain}, across the cluster
     * @param perHost {@code delivery.concurrency.per-host}, across the cluster
     * @param mtaSts the resolver whose cache is shared
     * @param queue the spool's counts for the heartbeat
     */
    public static Cluster start(
            RedisUrl url,
            String nodeId,
            int perDomain,
            int perHost,
            MtaStsResolver mtaSts,
            Supplier<Optional<QueueStats>> queue,
            Clock clock) {
        RedisLink link = new RedisLink(url, nodeId, TIMEOUT);
        ClusterLimiter limiter = new ClusterLimiter(link, perDomain, perHost);
        SharedPolicies policies = new SharedPolicies(link, mtaSts);
        Membership membership = new Membership(link, queue, clock);
        SharedReportStore reports = new SharedReportStore(link, membership, clock);
        link.start(); // the first probe runs first, then the reconcile tasks
        limiter.start();
        policies.start();
        membership.start();
        link.awaitFirstContact(FIRST_CONTACT);
        return new Cluster(link, limiter, policies, membership, reports);
    }

    public ConcurrencyLimiter limiter() {
        return limiter;
    }

    public SharedReports reports() {
        return reports;
    }

    public RedisLink link() {
        return link;
    }

    /** Policies adopted from the cluster so far. */
    public int policiesAdopted() {
        return policies.adopted();
    }

    /** A clean stop: the node leaves the member list, then the link closes. */
    @Override
    public void close() {
        if (link.up()) {
            membership.leave();
        }
        link.close();
    }
}
