/**
 * The inbound SMTP server (SubEthaSMTP 7.2.2) that MTAs and applications submit mail to.
 *
 * <p>SubEthaSMTP provides the accept loop, the session threads and the command-line reader; every
 * SMTP command is replaced by one of ours ({@link org.tlsrelay.smtp.inbound.Commands}), because the stock ones lose
 * the ESMTP parameters (RFC 3461 DSN, RFC 6152 BODY, RFC 6531 SMTPUTF8), only advertise SIZE, run a message body as
 * commands when DATA is rejected early, enable every TLS protocol and cipher and look up reverse DNS on STARTTLS.
 * The commands are thin adapters: the arguments of MAIL and RCPT are parsed by a pure codec
 * ({@link org.tlsrelay.smtp.inbound.EsmtpParameters}: text in, value or refusing reply out), the relay permission
 * is one policy ({@link org.tlsrelay.smtp.inbound.RelayAccess}), and DATA, STARTTLS and AUTH have files of their own.
 * The commands see the server only through a {@link org.tlsrelay.smtp.inbound.CommandContext}, so the listener sits
 * above them and nothing reaches back into it.
 *
 * <p>One client must not take the relay (issue 11 §4). The {@link org.tlsrelay.smtp.inbound.Listener} admits each
 * connection against {@code max-connections} and {@code max-connections-per-client}
 * ({@link org.tlsrelay.smtp.inbound.ClientSlots}) and answers the ones it refuses itself, without a session thread.
 * Each admitted connection has a {@link org.tlsrelay.smtp.inbound.ConnectionGuard} between SubEthaSMTP and the socket
 * ({@link org.tlsrelay.smtp.inbound.GuardedSocket}, above TLS): the deadline of a whole command line, the pace of DATA
 * ({@link org.tlsrelay.smtp.inbound.DataPace}, Postfix's {@code smtpd_min_data_rate}), the error limit, an enhanced
 * status code on SubEthaSMTP's own replies ({@link org.tlsrelay.smtp.inbound.Replies}), writes that cannot finish,
 * quiet logging of clients that go away, and the stop: {@code 421 4.3.2} to sessions between commands, and a DATA
 * under way answered 250 or 421, never left without a reply.
 *
 * <ul>
 *   <li>Relaying (RFC 5321 §3.6, §7.1, {@link org.tlsrelay.smtp.inbound.RelayAccess}): clients in
 *   {@code server.networks} may relay; others only after AUTH
 *   (RFC 4954, PLAIN and LOGIN, offered and accepted only over TLS); everyone else gets {@code 554 5.7.1} at RCPT.
 *   The relay has no local mailboxes, so no address form (%-hack, source route, quoted {@code @}, address literal)
 *   reaches anything without that permission.</li>
 *   <li>STARTTLS (RFC 3207): TLS 1.2+, AEAD cipher suites only; input buffered before the handshake is discarded
 *   (§4.2; the 2011 STARTTLS command-injection flaw); the SMTP state is reset after it.</li>
 *   <li>MAIL (RFC 5321 §4.1.1.2): refused with {@code 452 4.3.1} while the spool's file system is below
 *   {@code spool.min-free} ({@link org.tlsrelay.core.queue.FreeSpace}), or when its {@code SIZE} would take it below;
 *   a sender without a domain ({@code <postmaster>}) with {@code 553 5.1.7}.</li>
 *   <li>DATA (RFC 5321 §4.1.1.4, §4.5.2): only {@code CRLF.CRLF} ends a message; a bare CR or LF anywhere makes the
 *   message rejected with {@code 550 5.6.0} once the real end has been read (SMTP smuggling). Size and line limits
 *   are enforced while streaming, the stream is always read to its end before any reply, and {@code 250} is sent only
 *   after the spool has made the message durable; then one log line in Postfix's shape
 *   ({@link org.tlsrelay.core.log.LogLine}).</li>
 *   <li>PIPELINING (RFC 2920) is advertised: replies go out in order and DATA never reads past the end of its
 *   message, so commands pipelined after it stay in the input buffer.</li>
 *   <li>REQUIRETLS (RFC 8689): advertised only after STARTTLS and accepted on MAIL FROM only over TLS (in clear text:
 *   {@code 530 5.7.10}); the flag is stored in the envelope, as is the presence of a {@code TLS-Required: No} header
 *   field (RFC 8689 §5), for the delivery engine to honour.</li>
 *   <li>DKIM: the message content passes through the {@link org.tlsrelay.core.dkim.AcceptSigner} given to
 *   {@link org.tlsrelay.smtp.inbound.InboundServer#create(org.tlsrelay.core.config.RelayConfig.Server,
 *   org.tlsrelay.core.queue.Spool, org.tlsrelay.core.metrics.RelayMetrics, org.tlsrelay.core.dkim.AcceptSigner)}, which
 *   signs it in the spool file before the commit and the 250 ({@code dkim.sign.relayed}).</li>
 * </ul>
 */
package org.tlsrelay.smtp.inbound;
