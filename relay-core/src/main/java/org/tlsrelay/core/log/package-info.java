/**
 * The operator's log lines in Postfix's shape: {@link org.tlsrelay.core.log.LogLine} writes
 * {@code QUEUEID: key=value, key=<address>, ... (note)} as the message of the text format and the same fields as MDC
 * keys for the JSON format, so that {@code grep QUEUEID} over either tells a message's story.
 *
 * <p>Logging helpers the relay's parts share: {@link org.tlsrelay.core.log.RateLimitedLog} keeps an error that repeats
 * with every message (a full disk, an unwritable spool) to one line per cause and period, with a count, so that the
 * log stays readable and costs nothing while the fault lasts.
 */
package org.tlsrelay.core.log;
