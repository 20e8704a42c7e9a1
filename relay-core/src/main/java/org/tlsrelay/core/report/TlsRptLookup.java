package org.tlsrelay.core.report;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.io.Problems;

/** Looks up a domain's TLSRPT record ({@code _smtp._tls.DOMAIN} TXT, RFC 8460 §3) through the relay's resolver. */
public final class TlsRptLookup {
    private final DnsResolver dns;

    public TlsRptLookup(DnsResolver dns) {
        this.dns = dns;
    }

    /**
     * The domain's reporting endpoints. An authoritative "no record" is {@link TlsRptRecord.NotFound}; a DNS failure
     * is {@link TlsRptRecord.LookupFailed}, so the caller can try again. The future completes normally.
     */
    public CompletableFuture<TlsRptRecord.Discovery> lookup(String domain) {
        String name = TlsRptRecord.recordName(domain);
        return dns.txt(name)
                .thenApply(
                        result -> {
                            if (result instanceof DnsResult.Failed<List<String>> f) {
                                return new TlsRptRecord.LookupFailed(name + ": " + f.describe());
                            }
                            if (result instanceof DnsResult.NoRecords<List<String>> n) {
                                return new TlsRptRecord.NotFound(
                                        "no " + name + " TXT record (" + n.absence() + ")");
                            }
                            return TlsRptRecord.discover(result.found().orElse(List.of()));
                        })
                .exceptionally(
                        e -> new TlsRptRecord.LookupFailed(name + ": " + Problems.describe(e)));
    }
}
