/**
 * The relay's files and the words for what goes wrong with I/O, at the bottom of the package graph (it imports
 * nothing else of the relay):
 * <ul>
 *   <li>{@link org.tlsrelay.core.io.PrivateFiles}: every file the relay writes (spool, installed lists, MTA-STS cache,
 *       TLS-RPT data, keys) is created 0600 and every directory 0700, whatever the umask, and a state directory found
 *       readable by others is made private again;</li>
 *   <li>{@link org.tlsrelay.core.io.Problems}: an exception as an operator reads it ({@code permission denied: PATH},
 *       {@code connection refused}), never a Java class name.</li>
 * </ul>
 */
package org.tlsrelay.core.io;
