package org.tlsrelay.smtp.dns;

import java.io.IOException;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dane.DaneLookup;
import org.tlsrelay.core.dane.InsecureMxPolicy;
import org.tlsrelay.core.dns.DnsResolver;

/**
 * The relay's two resolvers, as {@code dns:} configures them: a fast non-validating one for everything (MTA-STS and
 * TLS-RPT TXT records, the MX look-ups of domains where DANE is not in play) and, unless {@code dns.dnssec: off}, a
 * validating one for exactly the look-ups DANE relies on (RFC 7672 §2.1: MX, the MX hosts' A/AAAA, TLSA), watched by
 * a {@link DnssecMonitor}. Nothing seen on the network switches the validating resolver off: an answer it cannot
 * validate is a failure, and delivery that needs it waits. With {@code dns.dnssec: off} there is no validating
 * resolver and DANE never applies.
 */
public final class RelayResolvers {
    private final DnsResolver general;
    private final Optional<DnssecResolver> validating;
    private final Optional<DnssecMonitor> monitor;
    private final String description;

    private RelayResolvers(
            DnsResolver general,
            Optional<DnssecResolver> validating,
            Optional<DnssecMonitor> monitor,
            String description) {
        this.general = general;
        this.validating = validating;
        this.monitor = monitor;
        this.description = description;
    }

    /**
     * The resolvers for {@code config}; the trust anchor files are read now. No query is sent: the DNSSEC check is
     * {@link DnssecMonitor#start()}.
     *
     * @throws IOException when a {@code dns.trust-anchors} file cannot be read (the message names it)
     * @throws IllegalArgumentException when a trust anchor file holds no DS/DNSKEY record (the message names it)
     */
    public static RelayResolvers create(RelayConfig.Dns config) throws IOException {
        DnsjavaResolver general = DnsjavaResolver.create(config);
        if (config.dnssec() == RelayConfig.DnssecMode.OFF) {
            return off(general);
        }
        DnssecMonitor monitor = new DnssecMonitor(DnssecProbe.of(config), Clock.systemUTC());
        DnssecResolver validating = DnssecResolver.create(config, monitor);
        return new RelayResolvers(
                general,
                Optional.of(validating),
                Optional.of(monitor),
                "DNSSEC validation on for DANE (" + validating + ")");
    }

    /**
     * The resolvers for a command that looks up one domain ({@code policy show}, {@code policy check}, ...): the
     * same validation as the relay's, without a monitor; a look-up that cannot be validated is at most one WARN line
     * for the whole command, which says what it means and what to do (the command's own output names each failure).
     *
     * @throws IOException as {@link #create}
     */
    public static RelayResolvers forCommand(RelayConfig.Dns config) throws IOException {
        DnsjavaResolver general = DnsjavaResolver.create(config);
        if (config.dnssec() == RelayConfig.DnssecMode.OFF) {
            return off(general);
        }
        DnssecResolver validating = DnssecResolver.create(config, new WarnOnce());
        return new RelayResolvers(
                general,
                Optional.of(validating),
                Optional.empty(),
                "DNSSEC validation on for DANE (" + validating + ")");
    }

    private static RelayResolvers off(DnsjavaResolver general) {
        return new RelayResolvers(
                general,
                Optional.empty(),
                Optional.empty(),
                "dns.dnssec is off: no DNSSEC validation, DANE disabled");
    }

    /** The first look-up a command could not validate is one WARN line; the rest the command's output shows. */
    private static final class WarnOnce implements DnssecResolver.Failures {
        private static final Logger LOG = LoggerFactory.getLogger(RelayResolvers.class);
        private final AtomicBoolean warned = new AtomicBoolean();

        @Override
        public void failed(String what, String reason) {
            if (warned.compareAndSet(false, true)) {
                LOG.warn(
                        "DNSSEC: {} cannot be validated ({}): the relay would hold mail that needs it."
                                + " If every domain shows this, dns.servers gives no usable DNSSEC data:"
                                + " check it with tlsrelay config check --probe-dns, point dns.servers at a"
                                + " validating resolver, or set dns.dnssec: off to deliver without DANE"
                                + " knowingly",
                        what,
                        reason);
            }
        }
    }

    /** The resolver for every look-up DANE does not rely on. */
    public DnsResolver general() {
        return general;
    }

    /** The validating resolver for MX, MX-host A/AAAA and TLSA look-ups; empty when {@code dns.dnssec: off}. */
    public Optional<DnsResolver> validating() {
        return validating.map(v -> v);
    }

    /** What watches DNSSEC while the relay runs (and checks it at start); empty when {@code dns.dnssec: off}. */
    public Optional<DnssecMonitor> monitor() {
        return monitor;
    }

    /** DANE's per-MX-host look-up over the validating resolver, RFC 7672 §2.2.1 strictly; empty when off. */
    public Optional<DaneLookup> dane() {
        return dane(InsecureMxPolicy.OPPORTUNISTIC);
    }

    /** DANE's per-MX-host look-up, with {@code dane.insecure-mx}; empty when {@code dns.dnssec: off}. */
    public Optional<DaneLookup> dane(InsecureMxPolicy insecureMx) {
        return validating().map(v -> new DaneLookup(v, insecureMx));
    }

    /** One line for the start-up log: whether DNSSEC (and so DANE) is on, and the trust anchors. */
    public String describe() {
        return description;
    }
}
