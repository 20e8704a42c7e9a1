package org.tlsrelay.smtp.delivery;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.MxRecord;

/**
 * Where mail for a domain may go, as DNS says (RFC 5321 §5.1): MX hosts to try in order, or why there are none.
 * Made by {@link #lookUp}, which never completes exceptionally.
 */
sealed interface MxPlan {

    /**
     * The hosts to try, in order.
     *
     * @param implicit the domain has no MX record, so its own address records stand for one (RFC 5321 §5.1)
     * @param secure the MX RRset (or, for an implicit MX, the proven absence of one) was DNSSEC-secure: the first
     *     condition for DANE (RFC 7672 §2.2.1); always false from a resolver that does not validate
     */
    record Hosts(List<MxHost> hosts, boolean implicit, boolean secure) implements MxPlan {
        public Hosts {
            hosts = List.copyOf(hosts);
        }
    }

    /** The domain publishes a null MX (RFC 7505 §3): it accepts no mail. */
    record NullMx() implements MxPlan {}

    /**
     * The domain cannot receive mail and never will: it does not exist (NXDOMAIN, {@code exists} false), or it has
     * neither MX nor address records.
     */
    record Undeliverable(String detail, boolean exists) implements MxPlan {}

    /** DNS gave no usable answer (SERVFAIL, timeout): try again later, never bounce for this. */
    record TryLater(String detail) implements MxPlan {}

    /**
     * One MX host.
     *
     * @param name the exchange host name, as DNS gave it (SNI, certificate name check, policy patterns)
     * @param preference its MX preference (0 for an implicit MX)
     * @param addresses addresses already known (an implicit MX); empty when they still have to be looked up
     */
    record MxHost(String name, int preference, List<InetAddress> addresses) {
        public MxHost {
            addresses = List.copyOf(addresses);
        }
    }

    /** Looks up the MX records of {@code domain} (and, without any, its addresses). */
    static CompletableFuture<MxPlan> lookUp(DnsResolver dns, String domain, Random random) {
        return dns.mx(domain)
                .thenCompose(
                        result -> {
                            if (result instanceof DnsResult.Found<List<MxRecord>> found) {
                                List<MxRecord> records = found.value();
                                if (MxRecord.hasNullMx(records)) {
                                    // RFC 7505 §4: a domain with a null MX gets no delivery
                                    // attempt, whatever else it publishes
                                    return CompletableFuture.completedFuture(new NullMx());
                                }
                                return CompletableFuture.completedFuture(
                                        new Hosts(
                                                ordered(records, random), false, found.isSecure()));
                            }
                            if (result instanceof DnsResult.NoRecords<List<MxRecord>> none) {
                                if (none.absence() == DnsResult.Absence.NXDOMAIN) {
                                    return CompletableFuture.completedFuture(
                                            new Undeliverable(
                                                    "domain "
                                                            + domain
                                                            + " does not exist (NXDOMAIN)",
                                                    false));
                                }
                                return implicit(dns, domain, none.isSecure());
                            }
                            return CompletableFuture.completedFuture(
                                    new TryLater(
                                            "MX look-up for " + domain + ": " + result.describe()));
                        });
    }

    /** RFC 5321 §5.1: "If an empty list of MXs is returned, the address is treated as if it was associated with an
     * implicit MX RR, with a preference of 0, pointing to that host." */
    private static CompletableFuture<MxPlan> implicit(
            DnsResolver dns, String domain, boolean absenceSecure) {
        return dns.addresses(domain)
                .thenApply(
                        result -> {
                            if (result instanceof DnsResult.Found<List<InetAddress>> found) {
                                // the addresses are looked up again, through the validating
                                // resolver, where DANE applies
                                return new Hosts(
                                        List.of(new MxHost(domain, 0, found.value())),
                                        true,
                                        absenceSecure);
                            }
                            if (result.isNoRecords()) {
                                return new Undeliverable(
                                        "domain " + domain + " has no MX and no address record",
                                        true);
                            }
                            return new TryLater(
                                    "address look-up for "
                                            + domain
                                            + " (no MX record): "
                                            + result.describe());
                        });
    }

    /** By preference, lowest first; hosts of equal preference in random order (RFC 5321 §5.1) to spread the load. */
    private static List<MxHost> ordered(List<MxRecord> records, Random random) {
        List<MxRecord> sorted = new ArrayList<>(records);
        sorted.sort((a, b) -> Integer.compare(a.preference(), b.preference()));
        List<MxHost> out = new ArrayList<>(sorted.size());
        int i = 0;
        while (i < sorted.size()) {
            int j = i;
            List<MxHost> group = new ArrayList<>();
            while (j < sorted.size() && sorted.get(j).preference() == sorted.get(i).preference()) {
                MxRecord r = sorted.get(j);
                if (group.stream().noneMatch(h -> h.name().equals(r.host()))) {
                    group.add(new MxHost(r.host(), r.preference(), List.of()));
                }
                j++;
            }
            Collections.shuffle(group, random);
            for (MxHost h : group) {
                if (out.stream().noneMatch(o -> o.name().equals(h.name()))) {
                    out.add(h); // a host listed twice is tried once, at its best preference
                }
            }
            i = j;
        }
        return out;
    }
}
