/**
 * The vocabulary of TLS policies, whatever their source: {@link org.tlsrelay.core.policy.Policy} (a mode and the MX
 * host names it allows), {@link org.tlsrelay.core.policy.PolicyMode} ({@code enforce}, {@code testing}, {@code none};
 * RFC 8461 §5), {@link org.tlsrelay.core.policy.MxPattern} (the MTA-STS and the STARTTLS-Everywhere notations, which
 * do not mean the same) and {@link org.tlsrelay.core.policy.PolicySource}. It imports nothing else of the relay.
 *
 * <p>The sources live below it: MTA-STS ({@code policy.mtasts}, RFC 8461), signed lists ({@code policy.list}) and the
 * local overrides of the configuration; {@code policy.resolve} picks one per domain: a local override with
 * {@code force: true} first, then MTA-STS &gt; signed lists &gt; a local override without {@code force}. Its answer,
 * {@code ResolvedPolicy}, is the one policy value: the delivery engine runs under it, TLS-RPT reports it,
 * {@code policy show} and {@code policy check} print it.
 */
package org.tlsrelay.core.policy;
