package org.tlsrelay.core.dns;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Every DNS look-up the relay makes goes through one of these, so that tests with a DNS server on a loopback port
 * exercise the same path as production.
 *
 * <p>Contract for all methods:
 * <ul>
 *   <li>Names are host or domain names as written ({@code Example.COM} or {@code example.com.}); they are taken as
 *       absolute (no search list) and the results carry them normalised (see {@link DnsNames#normalise}).</li>
 *   <li>CNAMEs are followed, to a bounded depth; a loop or an overlong chain is a {@link DnsResult.Failed}.</li>
 *   <li>The future always completes normally, with a {@link DnsResult}; it never completes exceptionally for a DNS
 *       outcome. It may complete on a resolver thread: callers that do more than a little work continue on their own
 *       executor ({@code thenApplyAsync(fn, executor)}), and never block it.</li>
 *   <li>A {@link DnsResult.Found} never holds an empty list.</li>
 *   <li>Answers carry their {@link DnsSecurity}. A resolver that does not validate marks everything
 *       {@link DnsSecurity#INSECURE}; a validating one marks an answer {@link DnsSecurity#SECURE} only when the answer
 *       and every CNAME on the way validated, and turns a bogus answer into {@link DnsResult.Failure#BOGUS}.</li>
 * </ul>
 */
public interface DnsResolver {

    /**
     * The MX records of {@code domain}, ordered by preference (lowest first; the order of equal preferences is the
     * order of the answer). A null MX (RFC 7505) comes back as a {@link MxRecord} whose {@link MxRecord#isNull()} is
     * true; see {@link MxRecord#hasNullMx(List)}.
     */
    CompletableFuture<DnsResult<List<MxRecord>>> mx(String domain);

    /**
     * The IPv4 (A) and IPv6 (AAAA) addresses of {@code host}, both asked for at once: IPv4 addresses first, then IPv6,
     * each in answer order. Found when either family has an address (a failure of the other family is then ignored);
     * otherwise Failed when either failed, else NoRecords (NXDOMAIN when both said so, NODATA otherwise).
     */
    CompletableFuture<DnsResult<List<InetAddress>>> addresses(String host);

    /**
     * The TXT records of {@code name}, one string per record: each record's character-strings are joined with
     * nothing in between, as RFC 8461 §3.1 (MTA-STS) and RFC 8460 §3 (TLS-RPT) require. Records are in answer order.
     * Bytes outside US-ASCII are decoded as UTF-8, malformed sequences replaced.
     */
    CompletableFuture<DnsResult<List<String>>> txt(String name);

    /**
     * The TLSA records (RFC 6698 §2) at {@code name}, e.g. {@code _25._tcp.mx.example.com}, in answer order, including
     * records DANE for SMTP cannot use (the caller decides, RFC 7672 §3.1.3) and records with malformed data. CNAMEs
     * are followed as for every type; the result is secure only if the whole chain is (RFC 7672 §2.2.3). Which names
     * to ask (the TLSA base domain of an MX host that is an alias) is {@code org.tlsrelay.core.dane.DaneLookup}'s job.
     */
    CompletableFuture<DnsResult<List<TlsaRecord>>> tlsa(String name);
}
