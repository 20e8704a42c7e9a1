/**
 * Logging helpers the relay's parts share: {@link org.tlsrelay.core.log.RateLimitedLog} keeps an error that repeats
 * with every message (a full disk, an unwritable spool) to one line per cause and period, with a count, so that the
 * log stays readable and costs nothing while the fault lasts.
 */
package org.tlsrelay.core.log;
