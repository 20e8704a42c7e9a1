package org.tlsrelay.smtp.report;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.IpAddresses;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.report.PreparedReport;
import org.tlsrelay.core.report.ReportJson;
import org.tlsrelay.core.report.ReportTransport;
import org.tlsrelay.core.report.Rua;
import org.tlsrelay.core.tls.TrustMaterial;

/**
 * POSTs a report to an {@code https:} endpoint (RFC 8460 §5.4) with the JDK's HTTP client: the gzip report as the
 * body, {@code Content-Type: application/tlsrpt+gzip}; any 2xx answer counts as delivered, anything else (also a
 * redirect, which is not followed) as a failure to retry. The server certificate is checked against
 * {@code delivery.trust} and the URI's host name.
 *
 * <p>The URI comes from a DNS record anyone can publish, so by default a host whose addresses are loopback,
 * private, link-local or otherwise not public is refused: a report must not become a way to make the relay post
 * into its own network. (The check uses the relay's resolver; tests on loopback turn it off.)
 */
public final class HttpsReportTransport implements ReportTransport {
    private final HttpClient client;
    private final DnsResolver dns;
    private final Duration timeout;
    private final boolean allowLocalAddresses;

    /**
     * @param timeout for connecting, and again for the whole exchange
     * @param allowLocalAddresses post also to loopback and private addresses (tests only)
     */
    public HttpsReportTransport(
            TrustMaterial trust, DnsResolver dns, Duration timeout, boolean allowLocalAddresses) {
        this.client =
                HttpClient.newBuilder()
                        .sslContext(trust.clientContext())
                        .connectTimeout(timeout)
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .version(HttpClient.Version.HTTP_1_1)
                        .build();
        this.dns = dns;
        this.timeout = timeout;
        this.allowLocalAddresses = allowLocalAddresses;
    }

    @Override
    public boolean accepts(Rua rua) {
        return rua instanceof Rua.Https;
    }

    @Override
    public Result send(Rua rua, PreparedReport report) {
        Rua.Https https = (Rua.Https) rua;
        if (!allowLocalAddresses) {
            String refused = checkPublic(https.target().getHost());
            if (refused != null) {
                return refused.startsWith("DNS")
                        ? new Result.Failed(refused)
                        : new Result.Refused(refused);
            }
        }
        HttpRequest request =
                HttpRequest.newBuilder(https.target())
                        .timeout(timeout)
                        .header("Content-Type", ReportJson.GZIP_MEDIA_TYPE)
                        .POST(HttpRequest.BodyPublishers.ofByteArray(report.gzip()))
                        .build();
        try {
            HttpResponse<Void> response =
                    client.send(request, HttpResponse.BodyHandlers.discarding());
            int status = response.statusCode();
            if (status >= 200 && status < 300) {
                return new Result.Sent("HTTP " + status + " from " + https.uri());
            }
            return new Result.Failed("HTTP " + status + " from " + https.uri());
        } catch (HttpTimeoutException e) {
            return new Result.Failed(
                    "no answer from " + https.uri() + " within " + timeout.toSeconds() + " s");
        } catch (IOException e) {
            return new Result.Failed("POST to " + https.uri() + " failed: " + Problems.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result.Failed("interrupted");
        }
    }

    /** Null when every address of {@code host} is public; else why not (starting with "DNS" for a look-up failure). */
    private String checkPublic(String host) {
        List<InetAddress> addresses;
        try {
            DnsResult<List<InetAddress>> r =
                    dns.addresses(host).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!(r instanceof DnsResult.Found<List<InetAddress>> found)) {
                return "DNS: " + host + ": " + r.describe();
            }
            addresses = found.value();
        } catch (ExecutionException | TimeoutException e) {
            return "DNS: " + host + ": " + Problems.describe(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "DNS: interrupted";
        }
        for (InetAddress a : addresses) {
            if (!isPublic(a)) {
                return host
                        + " has the non-public address "
                        + IpAddresses.text(a)
                        + "; reports are not posted there";
            }
        }
        return null;
    }

    static boolean isPublic(InetAddress a) {
        if (a.isAnyLocalAddress()
                || a.isLoopbackAddress()
                || a.isLinkLocalAddress()
                || a.isSiteLocalAddress()
                || a.isMulticastAddress()) {
            return false;
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet6Address) {
            return (b[0] & 0xfe) != 0xfc; // fc00::/7 unique local (RFC 4193)
        }
        int first = b[0] & 0xff;
        int second = b[1] & 0xff;
        // 100.64/10 shared address space (RFC 6598), 0/8; 127/8 and the RFC 1918 ranges are covered
        // above
        return !(first == 0 || (first == 100 && second >= 64 && second < 128));
    }
}
