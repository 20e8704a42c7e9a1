package org.tlsrelay.core.dane;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.core.io.Problems;

/**
 * Finds the {@link DanePolicy} of one MX host (RFC 7672 §2.2) through a validating {@link DnsResolver}:
 *
 * <ol>
 *   <li>DANE applies only when the domain's MX RRset was secure (the caller says so; for a domain without MX records,
 *   whether that absence was proven) (§2.2.1), unless {@link InsecureMxPolicy#DANE} asks for the host's own TLSA
 *   records anyway,</li>
 *   <li>and the MX host's address records are secure (§2.2.1). When they were reached through a secure CNAME chain,
 *   the candidate TLSA base domains are the fully expanded name, then the MX host name (§2.2.3); otherwise the MX
 *   host name alone.</li>
 *   <li>{@code _PORT._tcp.BASE} TLSA is looked up for each candidate in turn (CNAMEs followed, all secure): the
 *   first secure TLSA RRset decides; an insecure or absent one moves on to the next candidate.</li>
 * </ol>
 * Any failed or bogus answer on the way is {@link DanePolicy.Failed}: delivery to that host waits, it never falls
 * back to less security (§2.1.1). The future never completes exceptionally.
 */
public final class DaneLookup {
    private final DnsResolver dns;
    private final InsecureMxPolicy insecureMx;

    /** @param validating a resolver that validates DNSSEC (answers marked secure when they are) */
    public DaneLookup(DnsResolver validating) {
        this(validating, InsecureMxPolicy.OPPORTUNISTIC);
    }

    /**
     * @param validating a resolver that validates DNSSEC (answers marked secure when they are)
     * @param insecureMx what a host named by an insecure MX RRset gets
     */
    public DaneLookup(DnsResolver validating, InsecureMxPolicy insecureMx) {
        this.dns = validating;
        this.insecureMx = insecureMx;
    }

    /**
     * The DANE policy of {@code mxHost} for SMTP on {@code port} (25, or the configured delivery port).
     *
     * @param mxSecure whether the MX RRset that named the host (or the proven absence of one) was DNSSEC-secure
     */
    public CompletableFuture<DanePolicy> lookUp(String mxHost, boolean mxSecure, int port) {
        String host = DnsNames.normalise(mxHost);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range 1..65535");
        }
        if (!mxSecure && insecureMx == InsecureMxPolicy.OPPORTUNISTIC) {
            return CompletableFuture.completedFuture(
                    new DanePolicy.NotApplicable(
                            host, "the MX records that name it are not DNSSEC-signed"));
        }
        return dns.addresses(host)
                .thenCompose(
                        addresses -> {
                            if (addresses instanceof DnsResult.Failed<List<InetAddress>> f) {
                                return done(
                                        new DanePolicy.Failed(
                                                host, "address look-up: " + f.describe()));
                            }
                            if (!(addresses instanceof DnsResult.Found<List<InetAddress>> found)) {
                                return done(
                                        new DanePolicy.NotApplicable(
                                                host, "it has no address records"));
                            }
                            if (!found.isSecure()) {
                                return done(
                                        new DanePolicy.NotApplicable(
                                                host, "its address records are not DNSSEC-signed"));
                            }
                            List<String> candidates = new ArrayList<>();
                            if (!found.canonicalName().equals(host)) {
                                candidates.add(
                                        found.canonicalName()); // RFC 7672 §2.2.3: the expanded
                                // name first
                            }
                            candidates.add(host);
                            return tlsa(host, candidates.iterator(), port, new ArrayList<>());
                        })
                .exceptionally(e -> new DanePolicy.Failed(host, Problems.describe(e)));
    }

    private CompletableFuture<DanePolicy> tlsa(
            String host, Iterator<String> candidates, int port, List<String> seen) {
        if (!candidates.hasNext()) {
            return done(
                    new DanePolicy.NotApplicable(
                            host, "no secure TLSA records (" + String.join("; ", seen) + ")"));
        }
        String base = candidates.next();
        String owner = "_" + port + "._tcp." + base;
        return dns.tlsa(owner)
                .thenCompose(
                        result -> {
                            if (result instanceof DnsResult.Failed<List<TlsaRecord>> f) {
                                return done(
                                        new DanePolicy.Failed(
                                                host,
                                                "TLSA look-up of " + owner + ": " + f.describe()));
                            }
                            if (result instanceof DnsResult.Found<List<TlsaRecord>> found
                                    && found.isSecure()) {
                                List<TlsaRecord> records = found.value();
                                return done(
                                        records.stream().anyMatch(TlsaRecord::usable)
                                                ? new DanePolicy.Required(host, base, records)
                                                : new DanePolicy.Unusable(host, base, records));
                            }
                            seen.add(
                                    owner
                                            + ": "
                                            + (result.isFound() ? "insecure" : result.describe()));
                            return tlsa(host, candidates, port, seen);
                        });
    }

    private static CompletableFuture<DanePolicy> done(DanePolicy p) {
        return CompletableFuture.completedFuture(p);
    }
}
