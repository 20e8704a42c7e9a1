package org.tlsrelay.core.report;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.report.ReportService.Attempt;
import org.tlsrelay.core.report.ReportService.Settings;

/**
 * Sends the deliveries of a report in the outbox, each through the transport of its {@code rua} (RFC 8460 §5.3,
 * §5.4), and records each result in the outbox at once; a failed one is retried with the back-off of {@link
 * Settings#backoff()} within {@link Settings#retryWindow()} (§5.5). The sending half of {@link ReportService}.
 */
final class ReportSender {
    private static final Logger LOG = LoggerFactory.getLogger(ReportService.class);

    private final ReportOutbox outbox;
    private final List<ReportTransport> transports;
    private final Settings settings;
    private final Clock clock;

    ReportSender(
            ReportOutbox outbox, List<ReportTransport> transports, Settings settings, Clock clock) {
        this.outbox = outbox;
        this.transports = transports;
        this.settings = settings;
        this.clock = clock;
    }

    void deliver(OutboxEntry entry, boolean now, List<Attempt> attempts) throws IOException {
        LocalDate day = LocalDate.parse(entry.day());
        PreparedReport report = null;
        OutboxEntry current = entry;
        for (int i = 0; i < current.deliveries().size(); i++) {
            OutboxEntry.Delivery d = current.deliveries().get(i);
            Instant t = clock.instant();
            boolean due =
                    switch (d.state()) {
                        case PENDING -> now || d.dueAt(t);
                        case FAILED -> now;
                        case SENT, REFUSED -> false;
                    };
            if (!due) {
                boolean ok = d.state() == OutboxEntry.State.SENT;
                if (now) { // report send lists every rua, also those it had nothing to do for
                    attempts.add(
                            new Attempt(
                                    entry.policyDomain(),
                                    d.uri(),
                                    d.state(),
                                    ok,
                                    ok ? "already sent: " + d.lastResult() : d.lastResult()));
                }
                continue;
            }
            if (report == null) {
                report =
                        new PreparedReport(
                                entry.policyDomain(),
                                day,
                                entry.reportId(),
                                settings.identity().submitter(),
                                outbox.report(day, entry.policyDomain()));
            }
            OutboxEntry.Delivery after = attempt(d, report, t);
            current = current.with(i, after);
            outbox.update(current); // at once: a restart must not send a delivered report again
            boolean ok =
                    after.state() == OutboxEntry.State.SENT
                            || after.lastResult().startsWith(DEFERRED);
            attempts.add(
                    new Attempt(
                            entry.policyDomain(), d.uri(), after.state(), ok, after.lastResult()));
        }
    }

    private static final String DEFERRED = "deferred: ";

    private OutboxEntry.Delivery attempt(OutboxEntry.Delivery d, PreparedReport report, Instant t) {
        List<Rua> parsed = new ArrayList<>();
        String problem = TlsRptRecord.parseUri(d.uri(), parsed);
        ReportTransport.Result result;
        if (problem != null) {
            result = new ReportTransport.Result.Refused("unusable URI: " + problem);
        } else {
            Rua rua = parsed.get(0);
            Optional<ReportTransport> transport =
                    transports.stream().filter(x -> x.accepts(rua)).findFirst();
            if (transport.isEmpty()) {
                result = new ReportTransport.Result.Failed("no transport for " + d.uri());
            } else {
                MDC.put("domain", report.policyDomain());
                try {
                    result = transport.get().send(rua, report);
                } catch (RuntimeException e) {
                    LOG.warn(
                            "TLS-RPT {}: sending to {} failed unexpectedly",
                            report.policyDomain(),
                            d.uri(),
                            e);
                    result = new ReportTransport.Result.Failed(Problems.describe(e));
                } finally {
                    MDC.remove("domain");
                }
            }
        }
        String first = d.firstAttempt().isEmpty() ? t.toString() : d.firstAttempt();
        int attempts = d.attempts() + 1;
        OutboxEntry.Delivery next;
        if (result instanceof ReportTransport.Result.Sent s) {
            next =
                    new OutboxEntry.Delivery(
                            d.uri(), OutboxEntry.State.SENT, attempts, first, "", s.detail());
            LOG.info(
                    "TLS-RPT {}: report {} sent to {}: {}",
                    report.policyDomain(),
                    report.reportId(),
                    d.uri(),
                    s.detail());
        } else if (result instanceof ReportTransport.Result.Refused r) {
            next =
                    new OutboxEntry.Delivery(
                            d.uri(), OutboxEntry.State.REFUSED, attempts, first, "", r.detail());
            LOG.warn(
                    "TLS-RPT {}: report {} not sent to {}: {}",
                    report.policyDomain(),
                    report.reportId(),
                    d.uri(),
                    r.detail());
        } else if (result instanceof ReportTransport.Result.Deferred def) {
            next =
                    new OutboxEntry.Delivery(
                            d.uri(),
                            OutboxEntry.State.PENDING,
                            d.attempts(),
                            d.firstAttempt(),
                            t.toString(),
                            DEFERRED + def.detail());
        } else {
            Duration wait =
                    settings.backoff().get(Math.min(attempts, settings.backoff().size()) - 1);
            Instant retry = t.plus(wait);
            if (retry.isAfter(Instant.parse(first).plus(settings.retryWindow()))) {
                next =
                        new OutboxEntry.Delivery(
                                d.uri(),
                                OutboxEntry.State.FAILED,
                                attempts,
                                first,
                                "",
                                result.detail() + " (given up: first attempt " + first + ")");
                LOG.warn(
                        "TLS-RPT {}: report {} to {} given up after {} attempts: {}",
                        report.policyDomain(),
                        report.reportId(),
                        d.uri(),
                        attempts,
                        result.detail());
            } else {
                next =
                        new OutboxEntry.Delivery(
                                d.uri(),
                                OutboxEntry.State.PENDING,
                                attempts,
                                first,
                                retry.toString(),
                                result.detail());
                LOG.warn(
                        "TLS-RPT {}: report {} to {} failed (attempt {}): {}; next attempt at {}",
                        report.policyDomain(),
                        report.reportId(),
                        d.uri(),
                        attempts,
                        result.detail(),
                        retry);
            }
        }
        return next;
    }
}
