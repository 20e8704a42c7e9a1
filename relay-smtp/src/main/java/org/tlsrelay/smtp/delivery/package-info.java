/**
 * The delivery engine: takes due messages from the spool and delivers them, one attempt per (message, recipient
 * domain), through the outbound client, under each domain's TLS policy.
 * {@link org.tlsrelay.smtp.delivery.DeliveryEngine} is the entry point.
 *
 * <ul>
 *   <li>MX selection (RFC 5321 §5.1): MX records by preference, equal preferences in random order; the domain itself
 *       as an implicit MX when it has no MX record; a null MX (RFC 7505 §3) fails at once with {@code 556 5.1.10}; a
 *       domain that does not exist fails with {@code 550 5.1.2}; a DNS failure only defers.</li>
 *   <li>For each MX in order (one {@link org.tlsrelay.smtp.delivery.MxWalk}, shared with {@code policy check}'s
 *       {@link org.tlsrelay.smtp.delivery.MxProbe}, over the same {@link org.tlsrelay.smtp.delivery.MxResolvers}):
 *       the policy may rule it out before connecting (RFC 8461 §4.1); each of its addresses is
 *       tried until one completes a transaction; recipients an MX deferred may go to the next MX. A policy refusal
 *       is temporary ({@code 4.7.5}); before a message under an enforced policy is given up, the MTA-STS policy is
 *       checked again (RFC 8461 §5.1).</li>
 *   <li>DANE (RFC 7672), with a validating resolver: the MX RRset's security, then each MX host's DANE policy;
 *       where TLSA records apply, TLS must match them whatever the domain's policy (RFC 8461 §2), and a DNSSEC
 *       failure keeps the host waiting. A REQUIRETLS message (RFC 8689) fails with {@code 5.7.30} once no MX
 *       qualifies. Every one of these decisions (skip, refuse, defer, fail) is a value
 *       {@link org.tlsrelay.core.enforce.Enforcer} returns; the attempt only acts on it.</li>
 *   <li>Retries per {@code delivery.retry}; after {@code max-age} the pending recipients fail (RFC 5321
 *       §4.5.4.1).</li>
 *   <li>Delivery status notifications (RFC 3464, RFC 3461 RET/ENVID/NOTIFY/ORCPT) go back to the envelope sender
 *       through the spool with the null reverse-path, DKIM-signed when a signer is given; a message with a null
 *       reverse-path never gets one (RFC 5321 §4.5.5).</li>
 *   <li>Concurrency limits ({@code delivery.concurrency}): attempts per recipient domain, taken in turns; open
 *       connections in all (idle ones included) and per MX host address, kept by the outbound client, with a circuit
 *       breaker per host after a connect or greeting timeout. Slots per domain and per host come from a
 *       {@link org.tlsrelay.smtp.outbound.ConcurrencyLimiter}, which a cluster can share. No thread ever waits on a
 *       network reply; spool I/O runs on a small worker pool, never on a Netty event loop.</li>
 *   <li>Faults and stops: results the spool cannot write are held in memory and written later, never a reason to
 *       send again; a stop gives running attempts the whole shutdown grace, then cuts them, due again at once, a cut
 *       after the end of data logged as a possible duplicate (RFC 1047).</li>
 * </ul>
 */
package org.tlsrelay.smtp.delivery;
