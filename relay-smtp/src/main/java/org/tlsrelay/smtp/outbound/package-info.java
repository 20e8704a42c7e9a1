/**
 * The outbound SMTP client (Netty): one delivery attempt of one message to one MX address, under the recipient
 * domain's policy. {@link org.tlsrelay.smtp.outbound.OutboundClient} is the entry point.
 *
 * <ul>
 *   <li>SMTP per RFC 5321 (greeting, EHLO with HELO fallback §3.2, MAIL/RCPT/DATA §3.3, dot-stuffing §4.5.2, replies
 *       §4.2) through Netty's SMTP codec; PIPELINING command groups (RFC 2920 §3.1); SIZE (RFC 1870), 8BITMIME
 *       (RFC 6152), SMTPUTF8 (RFC 6531), DSN parameters (RFC 3461), enhanced status codes (RFC 3463, RFC 2034).</li>
 *   <li>STARTTLS (RFC 3207) that observes instead of aborting: chain, validity period and MX name are recorded in a
 *       {@link org.tlsrelay.core.enforce.TlsObservation}, and {@link org.tlsrelay.core.enforce.Enforcer} decides
 *       before MAIL FROM (RFC 8461 §4, §5), with the EHLO keywords the MX advertised (RFC 8689 REQUIRETLS). The
 *       client connects only with Enforcer's {@link org.tlsrelay.core.enforce.Admission.Connect} for the MX host,
 *       and sends MAIL FROM only holding a {@link org.tlsrelay.core.enforce.Verdict.Deliver}, which nothing else can
 *       make. Plain text after the STARTTLS 220 is never read (RFC 3207 §5).</li>
 *   <li>The engines ({@link org.tlsrelay.smtp.outbound.IoEngines}): TLS in BoringSSL or the JDK, sockets through
 *       epoll or NIO, native where it loads; the same observations either way.</li>
 *   <li>Connection reuse with RSET (RFC 5321 §4.1.1.5), idle connections closed with QUIT.</li>
 *   <li>Connection limits ({@code ConnectionBudget}): open connections in all, idle ones
 *       included, and per MX host address (a {@link org.tlsrelay.smtp.outbound.ConcurrencyLimiter} slot); an attempt
 *       without room waits in memory, hosts in turn; a circuit breaker per host
 *       ({@code HostBreakers}) defers attempts without connecting after a connect or
 *       greeting timeout. At a stop the relay cuts its connections itself ({@link
 *       org.tlsrelay.smtp.outbound.OutboundClient#cut}), and says so.</li>
 * </ul>
 * No DNS here: the caller resolves MX hosts and addresses and hands over {@link DeliveryTarget}s.
 */
package org.tlsrelay.smtp.outbound;
