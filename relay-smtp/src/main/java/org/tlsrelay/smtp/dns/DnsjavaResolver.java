package org.tlsrelay.smtp.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.tlsrelay.core.config.HostPort;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dns.DnsNames;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.io.Problems;
import org.xbill.DNS.Cache;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.WireParseException;
import org.xbill.DNS.lookup.InvalidZoneDataException;
import org.xbill.DNS.lookup.LookupFailedException;
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;
import org.xbill.DNS.lookup.NoSuchDomainException;
import org.xbill.DNS.lookup.NoSuchRRSetException;
import org.xbill.DNS.lookup.RedirectOverflowException;
import org.xbill.DNS.lookup.ServerFailedException;

/**
 * {@link DnsResolver} on dnsjava's asynchronous {@link LookupSession}: no thread waits for an answer. Names are
 * always asked as absolute names (no search list, no hosts file: every answer comes from DNS). Each server gets
 * {@code timeout} per query; with several servers each is tried once, in turn. It does not validate DNSSEC: every
 * answer is {@link org.tlsrelay.core.dns.DnsSecurity#INSECURE} (the look-ups DANE relies on go through
 * {@link DnssecResolver}).
 */
public final class DnsjavaResolver extends RecordLookups {
    /** CNAME hops followed before a look-up counts as malformed (RFC 1034 §3.6.2 allows chains, not loops). */
    static final int MAX_CNAME_HOPS = 8;

    private final LookupSession session;
    private final String description;

    /**
     * Runs dnsjava's completion steps. Without it dnsjava uses the common fork-join pool, and where that has fewer
     * than two threads (two cores) CompletableFuture starts a new thread for every async step: three threads per MX
     * look-up, which showed as the top CPU cost of delivery in the relay benchmark. Shared by every resolver (they
     * have no close); the threads are daemons.
     */
    private static final Executor CALLBACKS =
            Executors.newFixedThreadPool(
                    2,
                    r -> {
                        Thread t = new Thread(r, "dns-callback");
                        t.setDaemon(true);
                        return t;
                    });

    private DnsjavaResolver(LookupSession session, String description) {
        this.session = session;
        this.description = description;
    }

    /** The resolver the configuration asks for: {@code dns.servers} (empty: the system's) and {@code dns.timeout}. */
    public static DnsjavaResolver create(RelayConfig.Dns config) {
        return create(servers(config), config.timeout());
    }

    /** A resolver asking {@code servers} (empty: the system's, from {@code /etc/resolv.conf} or the platform). */
    public static DnsjavaResolver create(List<InetSocketAddress> servers, Duration timeout) {
        List<InetSocketAddress> use =
                servers.isEmpty() ? ResolverConfig.getCurrentConfig().servers() : servers;
        ExtendedResolver resolver = upstream(use, timeout);
        LookupSession session =
                LookupSession.builder()
                        .resolver(resolver)
                        .maxRedirects(MAX_CNAME_HOPS)
                        .cache(
                                new Cache(
                                        DClass.IN)) // honours TTLs; a record with TTL 0 is not kept
                        .executor(CALLBACKS)
                        .build();
        return new DnsjavaResolver(
                session, "DNS " + use + " (timeout " + timeout.toMillis() + "ms)");
    }

    /** The socket addresses of {@code dns.servers}. */
    static List<InetSocketAddress> servers(RelayConfig.Dns config) {
        List<InetSocketAddress> servers = new ArrayList<>();
        for (HostPort hp : config.servers()) {
            servers.add(hp.toSocketAddress());
        }
        return servers;
    }

    /** One resolver over {@code servers}: each tried once in turn, {@code timeout} each. */
    static ExtendedResolver upstream(List<InetSocketAddress> servers, Duration timeout) {
        if (timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("the DNS timeout must be positive");
        }
        List<Resolver> simple = new ArrayList<>();
        for (InetSocketAddress server : servers) {
            simple.add(new SimpleResolver(server)); // UDP, then TCP when the answer is truncated
        }
        ExtendedResolver resolver = new ExtendedResolver(simple);
        for (Resolver r : resolver.getResolvers()) {
            r.setTimeout(timeout);
        }
        resolver.setRetries(1);
        resolver.setTimeout(timeout.multipliedBy(Math.max(1, simple.size())));
        return resolver;
    }

    @Override
    public String toString() {
        return description;
    }

    @Override
    DnsResult<List<InetAddress>> combine(
            DnsResult<List<InetAddress>> v4, DnsResult<List<InetAddress>> v6) {
        return families(v4, v6);
    }

    @Override
    <T> CompletableFuture<DnsResult<T>> lookup(
            String name, int type, Function<List<Record>, T> convert) {
        String n = DnsNames.normalise(name);
        if (!DnsNames.isValid(n)) {
            return CompletableFuture.completedFuture(
                    new DnsResult.Failed<>(
                            n,
                            DnsResult.Failure.INVALID_NAME,
                            "\"" + name + "\" is not a DNS name"));
        }
        Name qname;
        try {
            qname = Name.fromString(n + ".");
        } catch (TextParseException e) {
            return CompletableFuture.completedFuture(
                    new DnsResult.Failed<>(n, DnsResult.Failure.INVALID_NAME, e.getMessage()));
        }
        CompletableFuture<LookupResult> answer;
        try {
            answer = session.lookupAsync(qname, type).toCompletableFuture();
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        return answer.handle(
                (result, error) -> {
                    if (error != null) {
                        return failure(n, type, unwrap(error));
                    }
                    List<Record> records =
                            result.getRecords().stream().filter(r -> r.getType() == type).toList();
                    if (records.isEmpty()) {
                        // dnsjava reports NOERROR with an empty answer as an empty result: that is
                        // NODATA (RFC 2308 §2.2).
                        return new DnsResult.NoRecords<>(n, DnsResult.Absence.NODATA);
                    }
                    return new DnsResult.Found<>(
                            n, records.get(0).getName().toString(), convert.apply(records));
                });
    }

    static <T> DnsResult<T> failure(String name, int type, Throwable e) {
        String what = name + "/" + Type.string(type);
        if (e instanceof NoSuchDomainException) {
            return new DnsResult.NoRecords<>(name, DnsResult.Absence.NXDOMAIN);
        }
        if (e instanceof NoSuchRRSetException) {
            return new DnsResult.NoRecords<>(name, DnsResult.Absence.NODATA);
        }
        if (e instanceof ServerFailedException) {
            return new DnsResult.Failed<>(name, DnsResult.Failure.SERVFAIL, what + ": SERVFAIL");
        }
        if (e instanceof RedirectOverflowException) {
            return new DnsResult.Failed<>(
                    name,
                    DnsResult.Failure.MALFORMED,
                    what + ": CNAME loop or more than " + MAX_CNAME_HOPS + " CNAMEs");
        }
        if (e instanceof InvalidZoneDataException || e instanceof WireParseException) {
            return new DnsResult.Failed<>(
                    name, DnsResult.Failure.MALFORMED, what + ": " + e.getMessage());
        }
        if (e instanceof LookupFailedException) {
            // e.g. "Unknown non-success error code REFUSED"
            return new DnsResult.Failed<>(
                    name, DnsResult.Failure.SERVFAIL, what + ": " + e.getMessage());
        }
        if (e instanceof TimeoutException || e instanceof SocketTimeoutException) {
            return new DnsResult.Failed<>(
                    name, DnsResult.Failure.TIMEOUT, what + ": no answer in time");
        }
        if (e instanceof IOException) {
            // Some socket errors (e.g. an ICMP port unreachable) carry no message: name the
            // exception instead.
            String m = e.getMessage() != null ? e.getMessage() : Problems.describe(e);
            if (m.toLowerCase(java.util.Locale.ROOT).contains("timed out")) {
                return new DnsResult.Failed<>(
                        name, DnsResult.Failure.TIMEOUT, what + ": no answer in time");
            }
            return new DnsResult.Failed<>(name, DnsResult.Failure.NETWORK, what + ": " + m);
        }
        return new DnsResult.Failed<>(
                name, DnsResult.Failure.NETWORK, what + ": " + Problems.describe(e));
    }

    static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
