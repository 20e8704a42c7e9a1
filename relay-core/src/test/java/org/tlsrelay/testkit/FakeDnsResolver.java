package org.tlsrelay.testkit;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.DnsSecurity;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.core.dns.TlsaRecord;

/**
 * A {@link DnsResolver} answering from an in-memory zone, for unit tests of core logic that need no sockets. Same
 * semantics as the real one: a name with no record at all is NXDOMAIN, a name with records of other types NODATA,
 * CNAMEs are followed (8 hops). {@link #servfail} and {@link #timeout} make a name fail. Futures complete at once.
 * DNSSEC is modelled by zones: names at or below a {@link #signed} zone are answered {@link DnsSecurity#SECURE}
 * (a CNAME chain only when every name on it is), others insecure, and {@link #bogus} makes a name fail as a bogus
 * answer does. Tests over real sockets use {@link DnsStubServer} with the dnsjava resolvers instead.
 */
public final class FakeDnsResolver implements DnsResolver {
    private record Entry(String type, Object value) {}

    private final Map<String, List<Entry>> zone = new ConcurrentHashMap<>();
    private final Map<String, DnsResult.Failure> failing = new ConcurrentHashMap<>();
    private final Set<String> signedZones = ConcurrentHashMap.newKeySet();
    private final List<String> queries = new CopyOnWriteArrayList<>();

    public FakeDnsResolver mx(String domain, int preference, String host) {
        return add(domain, "MX", new MxRecord(preference, host));
    }

    public FakeDnsResolver a(String host, String... addresses) {
        for (String a : addresses) {
            add(host, a.contains(":") ? "AAAA" : "A", address(a));
        }
        return this;
    }

    /** One TXT record, already joined (as {@link DnsResolver#txt} returns it). */
    public FakeDnsResolver txt(String name, String value) {
        return add(name, "TXT", value);
    }

    public FakeDnsResolver cname(String alias, String target) {
        return add(alias, "CNAME", DnsNames.normalise(target));
    }

    /** One TLSA record at {@code name} (e.g. {@code _25._tcp.mx.example.com}), in presentation form "3 1 1 hex". */
    public FakeDnsResolver tlsa(String name, String record) {
        return add(name, "TLSA", TlsaRecord.parse(record));
    }

    /** Names at or below {@code zone} are answered as DNSSEC-secure. */
    public FakeDnsResolver signed(String zone) {
        signedZones.add(DnsNames.normalise(zone));
        return this;
    }

    /** Look-ups reaching {@code name} fail as a bogus answer does ({@link DnsResult.Failure#BOGUS}). */
    public FakeDnsResolver bogus(String name) {
        failing.put(DnsNames.normalise(name), DnsResult.Failure.BOGUS);
        return this;
    }

    public FakeDnsResolver remove(String name) {
        zone.remove(DnsNames.normalise(name));
        return this;
    }

    public FakeDnsResolver servfail(String name) {
        failing.put(DnsNames.normalise(name), DnsResult.Failure.SERVFAIL);
        return this;
    }

    public FakeDnsResolver timeout(String name) {
        failing.put(DnsNames.normalise(name), DnsResult.Failure.TIMEOUT);
        return this;
    }

    public FakeDnsResolver answerNormally(String name) {
        failing.remove(DnsNames.normalise(name));
        return this;
    }

    /** Every look-up as {@code TYPE name}, e.g. {@code TXT _mta-sts.example.com}. */
    public List<String> queries() {
        return List.copyOf(queries);
    }

    @Override
    public CompletableFuture<DnsResult<List<MxRecord>>> mx(String domain) {
        return CompletableFuture.completedFuture(
                lookup(domain, Set.of("MX"), MxRecord.class)
                        .map(
                                l ->
                                        l.stream()
                                                .sorted(
                                                        Comparator.comparingInt(
                                                                MxRecord::preference))
                                                .toList()));
    }

    @Override
    public CompletableFuture<DnsResult<List<InetAddress>>> addresses(String host) {
        return CompletableFuture.completedFuture(
                lookup(host, Set.of("A", "AAAA"), InetAddress.class));
    }

    @Override
    public CompletableFuture<DnsResult<List<String>>> txt(String name) {
        return CompletableFuture.completedFuture(lookup(name, Set.of("TXT"), String.class));
    }

    @Override
    public CompletableFuture<DnsResult<List<TlsaRecord>>> tlsa(String name) {
        return CompletableFuture.completedFuture(lookup(name, Set.of("TLSA"), TlsaRecord.class));
    }

    private boolean secure(String name) {
        for (String n = name; ; n = n.substring(n.indexOf('.') + 1)) {
            if (signedZones.contains(n)) {
                return true;
            }
            if (n.indexOf('.') < 0) {
                return signedZones.contains("");
            }
        }
    }

    private FakeDnsResolver add(String name, String type, Object value) {
        zone.computeIfAbsent(DnsNames.normalise(name), n -> new CopyOnWriteArrayList<>())
                .add(new Entry(type, value));
        return this;
    }

    private <T> DnsResult<List<T>> lookup(String name, Set<String> types, Class<T> type) {
        String asked = DnsNames.normalise(name);
        queries.add(String.join("+", new java.util.TreeSet<>(types)) + " " + asked);
        if (!DnsNames.isValid(asked)) {
            return new DnsResult.Failed<>(asked, DnsResult.Failure.INVALID_NAME, "not a DNS name");
        }
        String current = asked;
        boolean secure = true;
        for (int hop = 0; hop <= 8; hop++) {
            DnsResult.Failure f = failing.get(current);
            if (f != null) {
                return new DnsResult.Failed<>(asked, f, current + ": " + f);
            }
            secure &= secure(current);
            DnsSecurity security = secure ? DnsSecurity.SECURE : DnsSecurity.INSECURE;
            List<Entry> entries = zone.get(current);
            if (entries == null || entries.isEmpty()) {
                return new DnsResult.NoRecords<>(asked, DnsResult.Absence.NXDOMAIN, security);
            }
            List<T> found = new ArrayList<>();
            for (String t :
                    List.of(
                            "A", "AAAA", "MX", "TXT",
                            "TLSA")) { // A before AAAA, as the real resolver does
                if (types.contains(t)) {
                    entries.stream()
                            .filter(e -> e.type().equals(t))
                            .forEach(e -> found.add(type.cast(e.value())));
                }
            }
            if (!found.isEmpty()) {
                return new DnsResult.Found<>(asked, current, List.copyOf(found), security);
            }
            String next =
                    entries.stream()
                            .filter(e -> e.type().equals("CNAME"))
                            .map(e -> (String) e.value())
                            .findFirst()
                            .orElse(null);
            if (next == null) {
                return new DnsResult.NoRecords<>(asked, DnsResult.Absence.NODATA, security);
            }
            current = next;
        }
        return new DnsResult.Failed<>(asked, DnsResult.Failure.MALFORMED, "CNAME loop");
    }

    private static InetAddress address(String literal) {
        if (!literal.matches("[0-9a-fA-F:.]+")) {
            throw new IllegalArgumentException("\"" + literal + "\" is not an IP address literal");
        }
        try {
            return InetAddress.getByName(literal); // a literal: no look-up happens
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
