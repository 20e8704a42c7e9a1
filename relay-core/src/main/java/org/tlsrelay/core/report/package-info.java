/**
 * SMTP TLS Reporting (TLS-RPT, RFC 8460) as a sending MTA does it: record every TLS outcome, aggregate one UTC day
 * per policy domain, and deliver the reports to the domain's {@code rua} endpoints.
 *
 * <ul>
 *   <li>{@link org.tlsrelay.core.report.OutcomeRecorder}: the {@link org.tlsrelay.core.enforce.TlsOutcomeListener}
 *       that appends each outcome to a per-day JSON-lines file beside the spool ({@link org.tlsrelay.core.report.OutcomeLog}),
 *       off the delivery threads, with batched fsyncs; {@link org.tlsrelay.core.report.ReportingPolicyFetcher} adds
 *       MTA-STS fetch failures (§4.3.2.2).</li>
 *   <li>{@link org.tlsrelay.core.report.TlsRptRecord}: the {@code _smtp._tls.DOMAIN} TXT record (§3), looked up by
 *       {@link org.tlsrelay.core.report.TlsRptLookup}.</li>
 *   <li>{@link org.tlsrelay.core.report.Aggregator}: a day of outcomes into {@link org.tlsrelay.core.report.TlsReport}
 *       values (§4.4 field names, through {@link org.tlsrelay.core.report.ReportJson}) and the local shadow counts of
 *       {@code testing} policies.</li>
 *   <li>{@link org.tlsrelay.core.report.ReportService} (with {@code ReportSender}, its sending half),
 *       {@link org.tlsrelay.core.report.ReportOutbox} and {@link org.tlsrelay.core.report.ReportScheduler}: the daily
 *       job, gzip and file names (§5.1), durable delivery state and retries through {@link org.tlsrelay.core.report.ReportTransport}s (mail §5.3, HTTPS §5.4) that live
 *       with the sockets in relay-smtp.</li>
 *   <li>{@link org.tlsrelay.core.report.SharedReports}: the relays of a cluster pool their totals (issue 18); one of
 *       them builds each domain's report of the day from every relay's part
 *       ({@link org.tlsrelay.core.report.Aggregator#merge}). The store lives with the sockets, in relay-smtp.</li>
 *   <li>{@link org.tlsrelay.core.report.TlsExemption}: how a report message queued in the spool is marked so that
 *       delivery does not hold it to the TLS policy it reports on (§3: a report must get through despite TLS
 *       failures, and its own session is not reported).</li>
 * </ul>
 */
package org.tlsrelay.core.report;
