/**
 * The durable on-disk spool (queue) between the inbound SMTP server and the delivery engine.
 *
 * <p>Layout, in the style of Postfix and maddy: one directory per {@link org.tlsrelay.core.queue.QueueState}
 * ({@code incoming/}, {@code active/}, {@code deferred/}, {@code hold/}, {@code corrupt/}); per message an envelope
 * {@code ID.json} ({@link org.tlsrelay.core.queue.Envelope}, streamed by {@link org.tlsrelay.core.queue.EnvelopeCodec}
 * in the object mapper's format, without its reflection) and the raw message {@code ID.eml} in the same directory.
 * The envelope's directory is the message's state: a message exists once its envelope does.
 *
 * <p>Write protocol (RFC 5321 §4.1.1.4 and §6.1: a 250 reply to DATA is a promise not to lose the message): the body is
 * written to a temp file while DATA streams in; at the end it is fsynced, the envelope is written to a temp file and
 * fsynced, then the body is renamed into place and the envelope after it, and the directory is fsynced — only then
 * may the server answer 250. A crash between the two renames leaves a body without an envelope, never acknowledged,
 * which recovery removes. Moves between states go the other way round, envelope first (it carries the state); recovery
 * brings a body left behind to its envelope. Directory fsyncs are batched (group commit), so concurrent sessions share
 * one instead of queueing behind each other.
 *
 * <p>Two types open a spool. {@link org.tlsrelay.core.queue.Spool} is the running relay's (exclusive, recovered at
 * start, scheduled in memory): the inbound server receives into it and the delivery engine takes due messages,
 * records per-recipient results, defers and completes them. {@link org.tlsrelay.core.queue.SpoolAdmin} is the
 * operator's view for the {@code tlsrelay queue} commands (list, show, hold, release, delete, flush), usable from
 * another process while the relay runs: every change of an existing message takes a per-message stripe lock that is
 * both an in-JVM lock and an OS file-region lock on {@code SPOOL/lock}, and a change that makes messages due wakes
 * the relay through {@code SPOOL/wakeup}. The operator's actions are the same on both: their common base
 * {@link org.tlsrelay.core.queue.QueueView}. Inside, the sections are files of their own: reception and commit
 * ({@code Spool}), schedule and watcher ({@code SpoolSchedule}), operator administration ({@code Administration}),
 * recovery ({@code Recovery}) and the files themselves ({@code SpoolFiles}). The operator's flush makes messages due
 * in batches (one directory fsync each) and wakes the relay after the first; the listing names every damaged entry
 * ({@link org.tlsrelay.core.queue.QueueEntry.Damaged}) under its own file's id. An envelope update that fails (a full
 * disk) leaves the old envelope or the new one, never a torn one, and can simply be repeated.
 *
 * <p>{@link org.tlsrelay.core.queue.SpoolDrain} is the third view, for {@code tlsrelay queue drain}: it holds the relay
 * lock (no relay runs beside a drain, none starts during one), lists what to hand over to another relay, and records
 * each hand-over in {@code SPOOL/handover.journal} (appended and fsynced right after the other relay's 250) before it
 * removes the message; the next drain, and a relay's recovery, apply what an interrupted drain recorded
 * ({@code HandOverJournal}), so only RFC 1047's window between that 250 and the record remains.
 *
 * <p>{@link org.tlsrelay.core.queue.FreeSpace} watches the free space of the spool's file system against
 * {@code spool.min-free} ({@link org.tlsrelay.core.queue.SpaceReserve}), for the inbound server's {@code 452 4.3.1},
 * {@code /health} and the free-space gauge.
 *
 * <p>DSN parameters are kept as RFC 3461 §4 defines them (RET, ENVID, NOTIFY, ORCPT), with ENVID and ORCPT xtext-decoded.
 */
package org.tlsrelay.core.queue;
