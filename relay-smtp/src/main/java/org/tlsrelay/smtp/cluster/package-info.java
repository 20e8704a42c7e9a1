/**
 * Several relays as one (issue 18): the state they share through Redis, and the rule that Redis is never in the
 * delivery path.
 *
 * <ul>
 *   <li>{@link org.tlsrelay.smtp.cluster.RedisLink}: the one connection, on its own thread with short timeouts;
 *       whether Redis answers (one WARN when lost, one INFO when back, the {@code tlsrelay_cluster_redis_up} gauge),
 *       and what to reconcile when it returns.</li>
 *   <li>{@link org.tlsrelay.smtp.cluster.ClusterLimiter}: the per-domain and per-host concurrency limits across the
 *       relays, as slots leased ahead in the background (they expire unless renewed, so a dead relay's come back);
 *       {@code tryAcquire} never waits, and falls back to local counting while Redis is away.</li>
 *   <li>{@link org.tlsrelay.smtp.cluster.SharedPolicies}: the MTA-STS policy cache (RFC 8461 §5.1) shared: what one
 *       relay fetched the others adopt, each validating what it reads.</li>
 *   <li>{@link org.tlsrelay.smtp.cluster.SharedReportStore}: the TLS-RPT totals of every relay (RFC 8460), one
 *       report per domain and day sent by one relay.</li>
 *   <li>{@link org.tlsrelay.smtp.cluster.Membership} and {@link org.tlsrelay.smtp.cluster.ClusterStatus}: heartbeats
 *       with a time to live, and what {@code tlsrelay cluster status} lists.</li>
 *   <li>{@link org.tlsrelay.smtp.cluster.Cluster}: the parts started together for a running relay.</li>
 * </ul>
 *
 * Keys live under {@code tlsrelay:} ({@link org.tlsrelay.smtp.cluster.Keys}); times that decide expiry come from
 * Redis's own clock ({@code TIME}), so the relays' clocks need not agree.
 */
package org.tlsrelay.smtp.cluster;
