package org.tlsrelay.smtp.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dane.DaneLookup;
import org.tlsrelay.core.dns.DnsResolver;
import org.xbill.DNS.ResolverConfig;

/**
 * The relay's two resolvers, as {@code dns:} configures them: a fast non-validating one for everything (MTA-STS and
 * TLS-RPT TXT records, the MX look-ups of domains where DANE is not in play) and, unless {@code dns.dnssec: off}, a
 * validating one for exactly the look-ups DANE relies on (RFC 7672 §2.1: MX, the MX hosts' A/AAAA, TLSA). With
 * {@code dns.dnssec: off} there is no validating resolver and DANE never applies.
 */
public final class RelayResolvers {
    private final DnsResolver general;
    private final DnsResolver validating;
    private final String description;

    private RelayResolvers(DnsResolver general, DnsResolver validating, String description) {
        this.general = general;
        this.validating = validating;
        this.description = description;
    }

    /**
     * The resolvers for {@code config}; the trust anchor files are read now.
     *
     * @throws IOException when a {@code dns.trust-anchors} file cannot be read (the message names it)
     * @throws IllegalArgumentException when a trust anchor file holds no DS/DNSKEY record (the message names it)
     */
    public static RelayResolvers create(RelayConfig.Dns config) throws IOException {
        DnsjavaResolver general = DnsjavaResolver.create(config);
        if (config.dnssec() == RelayConfig.DnssecMode.OFF) {
            return new RelayResolvers(
                    general, null, "dns.dnssec is off: no DNSSEC validation, DANE disabled");
        }
        DnssecResolver validating = DnssecResolver.create(config);
        List<InetSocketAddress> servers = DnsjavaResolver.servers(config);
        List<InetSocketAddress> use =
                servers.isEmpty() ? ResolverConfig.getCurrentConfig().servers() : servers;
        DnssecCapability capability =
                new DnssecCapability(
                        DnsjavaResolver.upstream(use, config.timeout()),
                        TrustAnchors.configured(config.trustAnchors()).names(),
                        use.toString(),
                        Clock.systemUTC());
        capability.probe(); // at start-up, so that the first deliveries already know
        String state =
                switch (capability.current()) {
                    case SUPPORTED -> "DNSSEC validation on for DANE (" + validating + ")";
                    case UNSUPPORTED ->
                            "DNSSEC validation on, but the DNS servers return no DNSSEC data: DANE cannot apply "
                                    + "until they do ("
                                    + validating
                                    + ")";
                    case UNKNOWN ->
                            "DNSSEC validation on; the DNS servers did not answer the DNSSEC check yet ("
                                    + validating
                                    + ")";
                };
        return new RelayResolvers(
                general, new CapabilityGatedResolver(validating, general, capability), state);
    }

    /** The resolver for every look-up DANE does not rely on. */
    public DnsResolver general() {
        return general;
    }

    /** The validating resolver for MX, MX-host A/AAAA and TLSA look-ups; empty when {@code dns.dnssec: off}. */
    public Optional<DnsResolver> validating() {
        return Optional.ofNullable(validating);
    }

    /** DANE's per-MX-host look-up over the validating resolver; empty when {@code dns.dnssec: off}. */
    public Optional<DaneLookup> dane() {
        return validating().map(DaneLookup::new);
    }

    /** One line for the start-up log: whether DNSSEC (and so DANE) is on, and the trust anchors. */
    public String describe() {
        return description;
    }
}
