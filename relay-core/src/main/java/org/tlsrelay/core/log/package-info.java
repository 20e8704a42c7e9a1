/**
 * The operator's log lines in Postfix's shape, queue id first: {@code QUEUEID: key=value, key=<address>, ... (note)}.
 * Each line carries its fields twice: in its message, for the text format and for grep, and as MDC entries while it is
 * logged, which the JSON format writes as keys of {@code "mdc"}; so both formats carry the same fields and the JSON
 * one needs no parsing of messages. {@link org.tlsrelay.core.log.LogLine} builds such a line from fields (and makes
 * every value printable: most come from the network); {@link org.tlsrelay.core.log.LogFields} puts fields in the MDC
 * around a line whose text is formatted by hand, and puts back what the MDC held before.
 *
 * <p>{@link org.tlsrelay.core.log.RateLimitedLog} keeps an error that repeats with every message (a full disk, an
 * unwritable spool) to one line per cause and period, with a count, so that the log stays readable and costs nothing
 * while the fault lasts.
 */
package org.tlsrelay.core.log;
