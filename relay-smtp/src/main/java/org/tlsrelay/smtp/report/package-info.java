/**
 * Delivery of TLS-RPT reports (RFC 8460 §5): {@link org.tlsrelay.smtp.report.ReportMessage} builds the
 * {@code multipart/report; report-type="tlsrpt"} mail of §5.3 with Jakarta Mail;
 * {@link org.tlsrelay.smtp.report.SpoolMailTransport} DKIM-signs it (§3, when a key covers the submitter's domain) and
 * queues it in the relay's own spool, marked exempt from TLS enforcement ({@link org.tlsrelay.core.report.TlsExemption}); {@link org.tlsrelay.smtp.report.HttpsReportTransport}
 * POSTs the gzip report to an {@code https:} endpoint (§5.4). What to send and when is decided in
 * {@link org.tlsrelay.core.report}.
 */
package org.tlsrelay.smtp.report;
