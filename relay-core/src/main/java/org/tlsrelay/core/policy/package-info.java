/**
 * Policies and where they come from: {@link org.tlsrelay.core.policy.MxPattern} (both notations),
 * {@link org.tlsrelay.core.policy.PolicyMode}, and the resolver that picks one source per domain
 * (MTA-STS, RFC 8461 &gt; signed lists &gt; local overrides). Its answer, {@link org.tlsrelay.core.policy.ResolvedPolicy}
 * (with its {@link org.tlsrelay.core.policy.PolicySource}), is the one policy value: the delivery engine runs under
 * it, TLS-RPT reports it, {@code policy show} and {@code policy check} print it.
 */
package org.tlsrelay.core.policy;
