/**
 * The durable on-disk spool (queue) between the inbound SMTP server and the delivery engine.
 *
 * <p>Layout, in the style of Postfix and maddy: one directory per {@link org.tlsrelay.core.queue.QueueState}
 * ({@code incoming/}, {@code active/}, {@code deferred/}, {@code hold/}, {@code corrupt/}); per message an envelope
 * {@code ID.json} ({@link org.tlsrelay.core.queue.Envelope}) and the raw message {@code ID.eml} in the same directory.
 * The envelope's directory is the message's state; the envelope is always written and moved before the body.
 *
 * <p>Write protocol (RFC 5321 §4.1.1.4 and §6.1: a 250 reply to DATA is a promise not to lose the message): the body is
 * written to a temp file while DATA streams in; at the end it is fsynced, the envelope is written to a temp file and
 * fsynced, both are renamed atomically, and the directory is fsynced — only then may the server answer 250. Directory
 * fsyncs are batched (group commit), so concurrent sessions share one instead of queueing behind each other.
 *
 * <p>{@link org.tlsrelay.core.queue.Spool} is the API for the inbound server (receive), the delivery engine
 * (take due messages, record per-recipient results, defer, complete, hold) and the {@code tlsrelay queue} commands,
 * which may run in another process while the relay runs: every change of an existing message takes a per-message
 * stripe lock that is both an in-JVM lock and an OS file-region lock on {@code SPOOL/lock}.
 *
 * <p>DSN parameters are kept as RFC 3461 §4 defines them (RET, ENVID, NOTIFY, ORCPT), with ENVID and ORCPT xtext-decoded.
 */
package org.tlsrelay.core.queue;
