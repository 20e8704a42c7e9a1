package org.tlsrelay.smtp.delivery;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.core.dns.TlsaRecord;

/**
 * Asks DNS once for any number of identical look-ups that are in flight at the same time: attempts for many messages
 * to one domain start together and all need its MX and the MX's addresses. Nothing is kept after the answer arrives
 * (the resolver's own cache honours TTLs; this adds no caching of its own), so a changed record is seen by the next
 * look-up.
 */
final class CoalescingDns implements DnsResolver {
    private final DnsResolver dns;
    private final ConcurrentHashMap<String, CompletableFuture<DnsResult<List<MxRecord>>>> mx =
            new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, CompletableFuture<DnsResult<List<InetAddress>>>>
            addresses = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, CompletableFuture<DnsResult<List<String>>>> txt =
            new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, CompletableFuture<DnsResult<List<TlsaRecord>>>> tlsa =
            new ConcurrentHashMap<>();

    CoalescingDns(DnsResolver dns) {
        this.dns = dns;
    }

    @Override
    public CompletableFuture<DnsResult<List<MxRecord>>> mx(String domain) {
        return shared(mx, domain, () -> dns.mx(domain));
    }

    @Override
    public CompletableFuture<DnsResult<List<InetAddress>>> addresses(String host) {
        return shared(addresses, host, () -> dns.addresses(host));
    }

    @Override
    public CompletableFuture<DnsResult<List<String>>> txt(String name) {
        return shared(txt, name, () -> dns.txt(name));
    }

    @Override
    public CompletableFuture<DnsResult<List<TlsaRecord>>> tlsa(String name) {
        return shared(tlsa, name, () -> dns.tlsa(name));
    }

    private static <T> CompletableFuture<T> shared(
            ConcurrentHashMap<String, CompletableFuture<T>> inFlight,
            String name,
            Supplier<CompletableFuture<T>> ask) {
        String key = DnsNames.normalise(name);
        CompletableFuture<T> mine = new CompletableFuture<>();
        CompletableFuture<T> running = inFlight.putIfAbsent(key, mine);
        if (running != null) {
            return running;
        }
        CompletableFuture<T> answer;
        try {
            answer = ask.get();
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        // removed before it completes for the waiters, so a look-up started after this answer asks
        // again
        answer.whenComplete(
                (v, e) -> {
                    inFlight.remove(key, mine);
                    if (e != null) {
                        mine.completeExceptionally(e);
                    } else {
                        mine.complete(v);
                    }
                });
        return mine;
    }

    @Override
    public String toString() {
        return dns.toString();
    }
}
