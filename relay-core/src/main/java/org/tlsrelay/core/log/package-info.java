/**
 * The operator's log lines in Postfix's shape: {@link org.tlsrelay.core.log.LogLine} writes
 * {@code QUEUEID: key=value, key=<address>, ... (note)} as the message of the text format and the same fields as MDC
 * keys for the JSON format, so that {@code grep QUEUEID} over either tells a message's story.
 */
package org.tlsrelay.core.log;
