package org.tlsrelay.smtp.dns;

import java.io.IOException;
import java.time.Clock;
import java.util.Optional;
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
            return new RelayResolvers(
                    general,
                    Optional.empty(),
                    Optional.empty(),
                    "dns.dnssec is off: no DNSSEC validation, DANE disabled");
        }
        DnssecMonitor monitor = new DnssecMonitor(DnssecProbe.of(config), Clock.systemUTC());
        DnssecResolver validating = DnssecResolver.create(config, monitor);
        return new RelayResolvers(
                general,
                Optional.of(validating),
                Optional.of(monitor),
                "DNSSEC validation on for DANE (" + validating + ")");
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
