package org.tlsrelay.smtp.delivery;

import java.util.Objects;
import java.util.Random;
import org.tlsrelay.core.dane.InsecureMxPolicy;
import org.tlsrelay.core.dkim.OwnMailSigner;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.enforce.TlsOutcomeListener;
import org.tlsrelay.core.metrics.RelayMetrics;
import org.tlsrelay.core.queue.Spool;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.outbound.ConcurrencyLimiter;
import org.tlsrelay.smtp.outbound.OutboundSettings;

/** Configures and starts a {@link DeliveryEngine} ({@link DeliveryEngine#builder}). */
public final class EngineBuilder {
    final Spool spool;
    final DnsResolver dns;
    final PolicyLookup policies;
    EngineSettings settings;
    OutboundSettings outbound;
    TrustMaterial trust;
    PolicyOverride override = PolicyOverride.none();
    OwnMailSigner dsnSigner = OwnMailSigner.none();
    TlsOutcomeListener outcomes = TlsOutcomeListener.none();
    RelayMetrics metrics = RelayMetrics.noop();
    Random random = new Random();
    ConcurrencyLimiter limiter;
    DnsResolver validating;
    InsecureMxPolicy insecureMx = InsecureMxPolicy.OPPORTUNISTIC;

    EngineBuilder(Spool spool, DnsResolver dns, PolicyLookup policies) {
        this.spool = Objects.requireNonNull(spool, "spool");
        this.dns = Objects.requireNonNull(dns, "dns");
        this.policies = Objects.requireNonNull(policies, "policies");
    }

    public EngineBuilder settings(EngineSettings s) {
        this.settings = Objects.requireNonNull(s);
        return this;
    }

    /** The outbound client's settings and the CAs it trusts ({@code delivery.trust}). */
    public EngineBuilder outbound(OutboundSettings s, TrustMaterial t) {
        this.outbound = Objects.requireNonNull(s);
        this.trust = Objects.requireNonNull(t);
        return this;
    }

    /** A policy that replaces the domain's for some messages (TLS-RPT reports, RFC 8460 §3). */
    public EngineBuilder policyOverride(PolicyOverride o) {
        this.override = Objects.requireNonNull(o);
        return this;
    }

    /** Signs the DSNs the engine queues (DKIM, {@code dkim.sign.reports}); by default they go unsigned. */
    public EngineBuilder dsnSigner(OwnMailSigner s) {
        this.dsnSigner = Objects.requireNonNull(s);
        return this;
    }

    /** Hears every TLS outcome: of each connection, and of each MX the policy ruled out before connecting. */
    public EngineBuilder outcomes(TlsOutcomeListener l) {
        this.outcomes = Objects.requireNonNull(l);
        return this;
    }

    /** Where delivered, deferred and bounced messages are counted (TLS outcomes go to {@link #outcomes}). */
    public EngineBuilder metrics(RelayMetrics m) {
        this.metrics = Objects.requireNonNull(m);
        return this;
    }

    /**
     * Turns DANE on (RFC 7672): the MX look-ups, the addresses of MX hosts with TLSA records and the TLSA look-ups
     * go through this validating resolver ({@code dns.dnssec: validate}). Without it DANE never applies.
     */
    public EngineBuilder dane(DnsResolver validatingResolver) {
        this.validating = Objects.requireNonNull(validatingResolver);
        return this;
    }

    /** As {@link #dane(DnsResolver)}, with {@code dane.insecure-mx} for hosts an insecure MX RRset names. */
    public EngineBuilder dane(DnsResolver validatingResolver, InsecureMxPolicy insecureMx) {
        this.insecureMx = Objects.requireNonNull(insecureMx);
        return dane(validatingResolver);
    }

    /**
     * Where the per-domain and per-host slots come from; by default this process counts them, with the limits of
     * the settings.
     */
    public EngineBuilder limiter(ConcurrencyLimiter l) {
        this.limiter = Objects.requireNonNull(l);
        return this;
    }

    /** The source of the order of equal-preference MXs (tests make it predictable). */
    public EngineBuilder random(Random r) {
        this.random = Objects.requireNonNull(r);
        return this;
    }

    /** Starts the engine: it listens to the spool and takes what is due now. */
    public DeliveryEngine start() {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(outbound, "outbound settings");
        return DeliveryEngine.start(this);
    }
}
