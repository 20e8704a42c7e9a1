package org.tlsrelay.core.report;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.regex.Pattern;

/**
 * A report ready to send: its identity, its file name (RFC 8460 §5.1) and its gzip-compressed JSON (§5.2). Every
 * {@code rua} of the domain gets exactly these bytes, also on a retry.
 *
 * @param policyDomain the domain the report is about ({@code TLS-Report-Domain})
 * @param day the UTC day it covers
 * @param reportId the {@code report-id}, {@code UNIQUE@SUBMITTER}
 * @param submitter {@code TLS-Report-Submitter}, and the first part of the file name
 * @param gzip the report, gzip-compressed
 */
public record PreparedReport(
        String policyDomain, LocalDate day, String reportId, String submitter, byte[] gzip) {
    /** §5.1 {@code unique-id = 1*(ALPHA / DIGIT)}. */
    private static final Pattern UNIQUE = Pattern.compile("[A-Za-z0-9]+");

    public PreparedReport {
        gzip = gzip.clone();
        uniqueIdOf(reportId);
    }

    @Override
    public byte[] gzip() {
        return gzip.clone();
    }

    /** The part of the report id before the {@code @}: the file name's {@code unique-id}. */
    public String uniqueId() {
        return uniqueIdOf(reportId);
    }

    /** First second of the day, in seconds since the epoch (§5.1 {@code begin-timestamp}). */
    public long beginTimestamp() {
        return day.atStartOfDay(ZoneOffset.UTC).toEpochSecond();
    }

    /** Last second of the day, as in {@code end-datetime} (§5.1 {@code end-timestamp}). */
    public long endTimestamp() {
        return beginTimestamp() + 86_399;
    }

    /**
     * §5.1: {@code sender "!" policy-domain "!" begin-timestamp "!" end-timestamp "!" unique-id "." extension}, with
     * extension {@code json.gz}; e.g. {@code relay.example.org!example.com!1735689600!1735775999!a1b2c3.json.gz}.
     */
    public String fileName() {
        return submitter
                + "!"
                + policyDomain
                + "!"
                + beginTimestamp()
                + "!"
                + endTimestamp()
                + "!"
                + uniqueId()
                + ".json.gz";
    }

    private static String uniqueIdOf(String reportId) {
        int at = reportId.indexOf('@');
        String unique = at < 0 ? reportId : reportId.substring(0, at);
        if (!UNIQUE.matcher(unique).matches()) {
            throw new IllegalArgumentException(
                    "report id \"" + reportId + "\" does not start with letters and digits");
        }
        return unique;
    }
}
