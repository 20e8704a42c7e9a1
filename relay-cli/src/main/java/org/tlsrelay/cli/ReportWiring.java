package org.tlsrelay.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.tlsrelay.core.config.ConfigException;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dkim.OwnMailSigner;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.queue.SpoolAdmin;
import org.tlsrelay.core.report.Aggregator;
import org.tlsrelay.core.report.OutcomeLog;
import org.tlsrelay.core.report.PreparedReport;
import org.tlsrelay.core.report.ReportOutbox;
import org.tlsrelay.core.report.ReportService;
import org.tlsrelay.core.report.ReportTransport;
import org.tlsrelay.core.report.Rua;
import org.tlsrelay.core.report.TlsRptLookup;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.dns.DnsjavaResolver;
import org.tlsrelay.smtp.report.HttpsReportTransport;
import org.tlsrelay.smtp.report.SpoolMailTransport;

/**
 * Builds the TLS-RPT machinery from the configuration: the reports directory beside the spool
 * ({@code SPOOL/../reports/}: outcome logs and the outbox), the sender identity ({@code reports.*}), the TLSRPT
 * look-up through the configured DNS, and the transports (mail through the spool, HTTPS with
 * {@code delivery.trust}). The relay's run command uses {@link #service} with a {@link SpoolMailTransport} on its own
 * spool; {@code tlsrelay report send} uses {@link #open}, whose mail transport opens the spool only if no relay holds
 * it, and otherwise leaves mail reports to the running relay.
 */
final class ReportWiring implements AutoCloseable {
    /**
     * System property that lets HTTPS reports go to loopback and private addresses (tests and lab setups only;
     * by default a {@code rua} whose host resolves to such an address is refused).
     */
    static final String ALLOW_PRIVATE_RUA = "tlsrelay.report.allow-private-rua";

    static final Duration HTTPS_TIMEOUT = Duration.ofSeconds(30);

    private final ReportService service;
    private final LazySpoolTransport mail;

    private ReportWiring(ReportService service, LazySpoolTransport mail) {
        this.service = service;
        this.mail = mail;
    }

    /** {@code SPOOL/../reports/}. */
    static Path reportsDir(RelayConfig config) {
        return config.spool().reportsDir();
    }

    static Aggregator.Identity identity(RelayConfig config) {
        RelayConfig.Reports r = config.reports();
        return new Aggregator.Identity(r.organization(), r.contactInfo().orElse(""), r.submitter());
    }

    static TrustMaterial trust(RelayConfig config) throws ConfigException {
        try {
            return TrustMaterial.from(
                    config.delivery().trust().system(), config.delivery().trust().extraCa());
        } catch (IOException e) {
            throw new ConfigException(List.of("delivery.trust.extra-ca: " + Problems.describe(e)));
        }
    }

    static HttpsReportTransport https(RelayConfig config, DnsResolver dns) throws ConfigException {
        return new HttpsReportTransport(
                trust(config), dns, HTTPS_TIMEOUT, Boolean.getBoolean(ALLOW_PRIVATE_RUA));
    }

    /** The report service over the configured directories, DNS and the given transports. */
    static ReportService service(
            RelayConfig config, DnsResolver dns, List<ReportTransport> transports, Clock clock) {
        Path dir = reportsDir(config);
        return new ReportService(
                new OutcomeLog(dir),
                new ReportOutbox(dir),
                new TlsRptLookup(dns),
                transports,
                ReportService.Settings.defaults(identity(config)),
                clock);
    }

    /** The machinery for a command: mail through the spool when no relay runs, HTTPS directly. */
    static ReportWiring open(RelayConfig config) throws ConfigException {
        DnsResolver dns = DnsjavaResolver.create(config.dns());
        LazySpoolTransport mail =
                new LazySpoolTransport(
                        config.spool().dir(),
                        SpoolMailTransport.senderFor(config.reports()),
                        DkimWiring.from(config, RelayMetrics.noop(), Clock.systemUTC()).reports());
        ReportService service =
                service(config, dns, List.of(mail, https(config, dns)), Clock.systemUTC());
        return new ReportWiring(service, mail);
    }

    ReportService service() {
        return service;
    }

    @Override
    public void close() {
        mail.close();
    }

    /** Opens the spool at the first mail report: as the relay would if none runs, else hands mail over to it. */
    private static final class LazySpoolTransport implements ReportTransport, AutoCloseable {
        private final Path spoolDir;
        private final String from;
        private final OwnMailSigner signer;
        private Spool spool;
        private ReportTransport delegate;

        LazySpoolTransport(Path spoolDir, String from, OwnMailSigner signer) {
            this.spoolDir = spoolDir;
            this.from = from;
            this.signer = signer;
        }

        @Override
        public boolean accepts(Rua rua) {
            return rua instanceof Rua.Mailto;
        }

        @Override
        public Result send(Rua rua, PreparedReport report) {
            if (delegate == null) {
                try {
                    boolean running;
                    try (SpoolAdmin admin = SpoolAdmin.open(spoolDir)) {
                        running = admin.relayRunning();
                    }
                    if (running) {
                        delegate = SpoolMailTransport.handOffToRunningRelay();
                    } else {
                        spool = Spool.open(spoolDir, Spool.Options.defaults());
                        delegate = new SpoolMailTransport(spool, from, Clock.systemUTC(), signer);
                    }
                } catch (IOException e) {
                    if (e.getMessage() != null
                            && e.getMessage().contains("in use by another running relay")) {
                        delegate = SpoolMailTransport.handOffToRunningRelay();
                    } else {
                        return new Result.Failed(
                                "cannot open the spool " + spoolDir + ": " + Problems.reason(e));
                    }
                }
            }
            return delegate.send(rua, report);
        }

        @Override
        public void close() {
            if (spool != null) {
                try {
                    spool.close();
                } catch (IOException e) {
                    // every queued report was committed before send returned
                }
            }
        }
    }
}
