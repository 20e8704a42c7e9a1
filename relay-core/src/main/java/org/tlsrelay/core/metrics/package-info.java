/**
 * What the relay tells its operator while it runs: {@link org.tlsrelay.core.metrics.RelayMetrics}, the one facade
 * over every meter (Micrometer; exported in the Prometheus text format on {@code admin.listen} by the command line),
 * and {@link org.tlsrelay.core.metrics.Health}, the named checks behind {@code GET /health} (up, degraded or down) and
 * {@code GET /ready}.
 *
 * <p>TLS outcomes are counted by policy source and RFC 8460 §4.3 result type, the same classification that TLS-RPT
 * reports use, so a graph and the day's report agree.
 */
package org.tlsrelay.core.metrics;
