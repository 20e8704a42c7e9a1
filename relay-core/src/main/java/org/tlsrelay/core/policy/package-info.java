/**
 * Policies and where they come from: {@link org.tlsrelay.core.policy.MxPattern} (both notations),
 * {@link org.tlsrelay.core.policy.PolicyMode}, and the resolver that picks one source per domain
 * (MTA-STS, RFC 8461 &gt; signed lists &gt; local overrides).
 */
package org.tlsrelay.core.policy;
