package org.tlsrelay.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.report.Rua;
import org.tlsrelay.core.report.TlsRptRecord;
import org.tlsrelay.smtp.delivery.MxProbe;

/**
 * What {@code tlsrelay policy check} finds out about one domain: the policy the resolver picks, the TLS-RPT record
 * (RFC 8460 §3), and what delivery would do, MX by MX: {@link MxProbe} walks the delivery engine's MX plan with the
 * engine's resolvers and asks the engine's decision for every address (EHLO, STARTTLS, the certificate; no message).
 * Gathering is separate from printing ({@link PolicyCheckCommand}), so text and JSON show the same facts.
 */
final class DomainCheck {

    private final DnsResolver dns;
    private final MxProbe probe;
    private final Duration dnsTimeout;

    /**
     * @param dns the general resolver, for the TLS-RPT record
     * @param probe the walk over the MX hosts, with the resolvers and the outbound client delivery uses
     * @param dnsTimeout how long one DNS answer may take
     */
    DomainCheck(DnsResolver dns, MxProbe probe, Duration dnsTimeout) {
        this.dns = dns;
        this.probe = probe;
        this.dnsTimeout = dnsTimeout;
    }

    // ---- the report ----

    /** The {@code _smtp._tls} TXT record(s) and whether they make a usable TLS-RPT policy. */
    record TlsRpt(
            String name,
            List<String> records,
            String lookup,
            boolean valid,
            Optional<String> record,
            List<String> rua,
            String problem) {
        /** No usable record: what was found, and why it does not do. */
        static TlsRpt invalid(String name, List<String> records, String lookup, String problem) {
            return new TlsRpt(name, records, lookup, false, Optional.empty(), List.of(), problem);
        }
    }

    /** The JSON name of how the MX list was found: {@code found}, {@code implicit}, {@code null-mx}, ... */
    static String label(MxProbe.Lookup lookup) {
        return switch (lookup) {
            case FOUND -> "found";
            case IMPLICIT, NO_ADDRESS -> "implicit"; // the domain itself was looked up as its MX
            case NULL_MX -> "null-mx";
            case NO_SUCH_DOMAIN -> "nxdomain";
            case DNS_FAILURE -> "dns-failure";
        };
    }

    record Report(
            String domain,
            ResolvedPolicy policy,
            TlsRpt tlsRpt,
            MxProbe.Lookup mxLookup,
            String mxDetail,
            List<MxProbe.MxCheck> mxs) {
        boolean wouldDeliver() {
            return mxs.stream().anyMatch(MxProbe.MxCheck::acceptable);
        }

        /** One sentence saying why the relay would deliver or not. */
        String reason() {
            switch (mxLookup) {
                case NULL_MX:
                    return domain
                            + " publishes a null MX (RFC 7505): it accepts no mail; the relay bounces";
                case NO_SUCH_DOMAIN:
                    return domain + " does not exist (NXDOMAIN); the relay bounces";
                case NO_ADDRESS:
                    return domain + " has no MX and no address record; the relay bounces";
                case DNS_FAILURE:
                    return "the MX look-up failed ("
                            + mxDetail
                            + "); the relay defers and tries again later";
                default:
                    break;
            }
            if (mxs.isEmpty()) {
                return "no MX host to deliver to";
            }
            Optional<MxProbe.MxCheck> first =
                    mxs.stream().filter(MxProbe.MxCheck::acceptable).findFirst();
            if (first.isPresent()) {
                MxProbe.AddressCheck a =
                        first.get().addresses().stream()
                                .filter(MxProbe.AddressCheck::acceptable)
                                .findFirst()
                                .orElseThrow();
                return "the relay would deliver to "
                        + a.target()
                        + " ("
                        + a.verdict()
                        + ", policy "
                        + policy.mode().label()
                        + ")";
            }
            List<String> why = new ArrayList<>();
            for (MxProbe.MxCheck m : mxs) {
                why.add(m.record().host() + ": " + m.problem());
            }
            return "no MX is acceptable under the "
                    + policy.mode().label()
                    + " policy ("
                    + String.join("; ", why)
                    + "); the relay defers and tries again later";
        }
    }

    // ---- gathering ----

    /**
     * The TLS-RPT record of {@code domain} exactly as the report sender reads it ({@link TlsRptRecord}, RFC 8460
     * §3): one TXT record beginning {@code v=TLSRPTv1;} with at least one usable {@code rua} URI.
     */
    TlsRpt tlsRpt(String domain) throws TimeoutException, InterruptedException {
        String name = "_smtp._tls." + domain;
        DnsResult<List<String>> txt = await(dns.txt(name), dnsTimeout);
        List<String> all = txt.found().orElse(List.of());
        String lookup = txt.isFound() ? "found" : txt.describe();
        if (txt.isFailed()) {
            return TlsRpt.invalid(name, all, lookup, "the look-up failed: " + txt.describe());
        }
        TlsRptRecord.Discovery d = TlsRptRecord.discover(all);
        if (d instanceof TlsRptRecord.Found f) {
            return new TlsRpt(
                    name,
                    all,
                    lookup,
                    true,
                    Optional.of(f.record()),
                    f.rua().stream().map(Rua::uri).toList(),
                    String.join("; ", f.ignored()));
        }
        String problem = d instanceof TlsRptRecord.NotFound n ? n.reason() : d.toString();
        return TlsRpt.invalid(
                name,
                all,
                lookup,
                problem.equals("no TXT record") ? "no TXT record at " + name : problem);
    }

    /**
     * What delivery would do with mail to {@code domain} under {@code policy}: the MX plan, then every address of
     * every MX host probed, in the order delivery tries them. Every step has its own time limit (the resolvers'
     * {@code dns.timeout}, the probe timeout), so this ends.
     */
    Report run(String domain, ResolvedPolicy policy, TlsRpt tlsRpt) throws InterruptedException {
        MxProbe.Report r;
        try {
            r = probe.check(domain, policy).get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
        return new Report(domain, policy, tlsRpt, r.lookup(), r.detail(), r.mxs());
    }

    private static <T> T await(CompletableFuture<T> f, Duration timeout)
            throws TimeoutException, InterruptedException {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }
}
