package org.tlsrelay.core.report;

/**
 * Delivers a report to one {@code rua} endpoint (RFC 8460 §5.3 mail, §5.4 HTTPS). Implementations live with the
 * sockets (relay-smtp); {@link ReportService} calls them from its own thread, so they may block, with timeouts.
 */
public interface ReportTransport {

    /** Whether this transport handles {@code rua}'s scheme. */
    boolean accepts(Rua rua);

    /** One delivery attempt; never throws for a network or endpoint problem (that is a {@link Result.Failed}). */
    Result send(Rua rua, PreparedReport report);

    /** How an attempt ended. */
    sealed interface Result {
        String detail();

        /** Delivered (HTTPS: a 2xx answer) or durably queued for delivery (mail: in the relay's spool). */
        record Sent(String detail) implements Result {}

        /** Not delivered this time; retried with back-off for up to 24 hours (RFC 8460 §5.5). */
        record Failed(String detail) implements Result {}

        /** Never deliverable to this endpoint (e.g. larger than its {@code !size} limit); not retried. */
        record Refused(String detail) implements Result {}

        /**
         * Left for another process to do, e.g. a mail report while the running relay holds the spool: it stays pending
         * and the relay's report job sends it.
         */
        record Deferred(String detail) implements Result {}
    }
}
