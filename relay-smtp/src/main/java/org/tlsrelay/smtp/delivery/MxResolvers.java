package org.tlsrelay.smtp.delivery;

import java.util.Objects;
import org.tlsrelay.core.dane.InsecureMxPolicy;
import org.tlsrelay.core.dns.DnsResolver;

/**
 * The resolvers an MX walk uses, the same for delivery and for {@code policy check}: the MX look-up and, where DANE
 * applies, the MX host's addresses and TLSA records go through the validating resolver (RFC 7672 §2.1, §2.2.1),
 * everything else through the general one. Without DNSSEC ({@code dns.dnssec: off}) both are the general resolver
 * and DANE never applies. So both report the same DNS failure, with the validator's reason for a bogus answer.
 */
public final class MxResolvers {
    private final DnsResolver general;
    private final DnsResolver validating;
    private final InsecureMxPolicy insecureMx;
    private final DaneCheck dane;

    private MxResolvers(
            DnsResolver general,
            DnsResolver validating,
            InsecureMxPolicy insecureMx,
            DaneCheck dane) {
        this.general = Objects.requireNonNull(general, "general");
        this.validating = Objects.requireNonNull(validating, "validating");
        this.insecureMx = insecureMx;
        this.dane = dane;
    }

    /** {@code dns.dnssec: off}: one resolver for everything, DANE never applies. */
    public static MxResolvers withoutDnssec(DnsResolver general) {
        return new MxResolvers(general, general, InsecureMxPolicy.OPPORTUNISTIC, DaneCheck.off());
    }

    /** {@code dns.dnssec: validate}: the look-ups DANE relies on go through {@code validating}. */
    public static MxResolvers withDnssec(DnsResolver general, DnsResolver validating) {
        return withDnssec(general, validating, InsecureMxPolicy.OPPORTUNISTIC);
    }

    /** As above; {@code insecureMx} says what a host named by an insecure MX RRset gets ({@code dane.insecure-mx}). */
    public static MxResolvers withDnssec(
            DnsResolver general, DnsResolver validating, InsecureMxPolicy insecureMx) {
        return new MxResolvers(
                general, validating, insecureMx, DaneCheck.over(validating, insecureMx));
    }

    /** The same resolvers, each asking DNS once for identical look-ups in flight together (the engine's). */
    MxResolvers coalescing() {
        CoalescingDns g = new CoalescingDns(general);
        if (validating == general) {
            return new MxResolvers(g, g, insecureMx, dane);
        }
        CoalescingDns v = new CoalescingDns(validating);
        return new MxResolvers(g, v, insecureMx, DaneCheck.over(v, insecureMx));
    }

    /** For the MX look-up: DANE needs to know whether the MX RRset is secure (RFC 7672 §2.2.1). */
    DnsResolver mx() {
        return validating;
    }

    /** For the addresses of an MX host where DANE does not apply. */
    DnsResolver general() {
        return general;
    }

    /** For the addresses of an MX host with TLSA records: only those DNSSEC vouched for (RFC 7672 §2.2.1). */
    DnsResolver validating() {
        return validating;
    }

    /** DANE's per-MX-host look-up. */
    DaneCheck dane() {
        return dane;
    }
}
