/**
 * The one place that decides which policy applies to a recipient domain:
 * {@link org.tlsrelay.core.policy.resolve.PolicyResolver} asks the sources in order of precedence (a local override
 * with {@code force: true}; a valid MTA-STS policy, RFC 8461; the first unexpired signed list that names the domain;
 * a local override without {@code force}; else opportunistic TLS) and returns a
 * {@link org.tlsrelay.core.policy.resolve.ResolvedPolicy} that says why that source won. It takes its own
 * {@link org.tlsrelay.core.policy.resolve.PolicyResolver.Settings}, not the configuration record.
 */
package org.tlsrelay.core.policy.resolve;
