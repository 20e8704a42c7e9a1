/**
 * MTA-STS (RFC 8461) as a sender applies it: TXT discovery at {@code _mta-sts.DOMAIN} (§3.1,
 * {@link org.tlsrelay.core.policy.mtasts.StsTxtRecord}), the policy fetch from
 * {@code https://mta-sts.DOMAIN/.well-known/mta-sts.txt} (§3.3, {@link org.tlsrelay.core.policy.mtasts.HttpsPolicyFetcher}),
 * the strict policy parser (§3.2, {@link org.tlsrelay.core.policy.mtasts.PolicyParser}), the on-disk cache and its
 * refresh (§3.3, §5.1, {@link org.tlsrelay.core.policy.mtasts.PolicyCache},
 * {@link org.tlsrelay.core.policy.mtasts.MtaStsResolver} with its per-domain {@code DomainState}, its fetch path
 * {@code PolicyFetch} and its {@code RefreshSchedule}, {@link org.tlsrelay.core.policy.mtasts.MtaStsRefresher}).
 * In a cluster the resolver also takes policies other relays fetched ({@code MtaStsResolver#adopt}, validated like
 * the cache's own files by {@code PolicyCache#fromJson}) and tells of the ones it fetched ({@code onFetched}).
 * Failures are recorded with their RFC 8460 §4.3.2.2 result types ({@code sts-policy-fetch-error},
 * {@code sts-policy-invalid}, {@code sts-webpki-invalid}). Which source finally applies to a domain is decided in
 * {@link org.tlsrelay.core.policy.resolve.PolicyResolver}, not here.
 */
package org.tlsrelay.core.policy.mtasts;
