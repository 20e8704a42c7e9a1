/**
 * {@code tlsrelay queue drain}: hands every queued message of a stopped relay's spool over to another relay over SMTP,
 * the way to retire a replica and its volume.
 *
 * <p>One connection to one known next hop ({@link org.tlsrelay.smtp.handover.HandOverTarget}), made with Angus Mail's
 * {@code SMTPTransport} (connect, EHLO, STARTTLS when offered, AUTH PLAIN/LOGIN only after TLS), over which each
 * message goes as its own transaction with the envelope it was queued with: the sender, the recipients still pending
 * with their NOTIFY and ORCPT (RFC 3461 §4.1, §4.2), RET and ENVID (§4.3, §4.4), BODY=8BITMIME (RFC 6152), SMTPUTF8
 * (RFC 6531) and REQUIRETLS (RFC 8689 §4.2.1: only over TLS whose certificate was verified, to a relay that advertises
 * it). The content goes as it was queued (a {@code TLS-Required: No} header field with it, RFC 8689 §5).
 *
 * <p>{@link org.tlsrelay.smtp.handover.HandOverRules} decides, before MAIL FROM, whether the session can carry a
 * message as it is (a pure function); {@link org.tlsrelay.smtp.handover.HandOverSession} speaks SMTP and reports each
 * transaction as a value ({@link org.tlsrelay.smtp.handover.Transfer}); {@link org.tlsrelay.smtp.handover.Drain}
 * walks the spool ({@link org.tlsrelay.core.queue.SpoolDrain}), records each hand-over durably right after the other
 * relay's 250 and only then removes the message, and logs every step in the relay's Postfix-shaped lines
 * ({@link org.tlsrelay.smtp.handover.HandOverLog}).
 */
package org.tlsrelay.smtp.handover;
