/**
 * The {@code tlsrelay} command line (Picocli): the composition root that wires core and SMTP together. Besides the
 * commands it owns the running relay's operator surface: the admin HTTP server ({@code /metrics} in the Prometheus
 * format, {@code /health}, {@code /ready}), the log format switch, and the graceful stop on SIGTERM.
 */
package org.tlsrelay.cli;
