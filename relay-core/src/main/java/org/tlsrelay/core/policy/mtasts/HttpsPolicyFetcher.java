package org.tlsrelay.core.policy.mtasts;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsrelay.core.dns.DnsResolver;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.io.Problems;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TrustMaterial;

/**
 * Fetches policies over HTTPS with the JDK's TLS socket and a small, strict HTTP/1.1 reader (RFC 8461 §3.3):
 * the host {@code mta-sts.DOMAIN} is resolved through the relay's {@link DnsResolver}, the connection goes to that
 * address on the configured port, SNI and the certificate check use {@code mta-sts.DOMAIN} against the configured
 * trust; redirects are not followed, only 200 with {@code text/plain} counts, the body is capped at
 * {@link PolicyParser#MAX_BYTES}, and the whole fetch has one deadline. Nothing is cached on the HTTP level (§3.3:
 * "HTTP caching MUST NOT be used"). Blocking socket work runs on the given executor, never on the caller's thread.
 */
public final class HttpsPolicyFetcher implements PolicyFetcher {
    private static final Logger log = LoggerFactory.getLogger(HttpsPolicyFetcher.class);
    private static final int MAX_HEADER_LINE = 8 * 1024;
    private static final int MAX_HEADERS = 100;

    private final DnsResolver dns;
    private final SSLContext tls;
    private final int port;
    private final Duration timeout;
    private final Executor executor;

    /**
     * @param port     {@code policy.mta-sts.https-port} (443 in production)
     * @param timeout  for the whole fetch: connect, handshake, request and body
     * @param executor runs the blocking socket work
     */
    public HttpsPolicyFetcher(
            DnsResolver dns, TrustMaterial trust, int port, Duration timeout, Executor executor) {
        this.dns = dns;
        this.tls = trust.clientContext();
        this.port = port;
        this.timeout = timeout;
        this.executor = executor;
    }

    @Override
    public CompletableFuture<FetchResult> fetch(String domain) {
        String host = "mta-sts." + domain;
        String url = PolicyFetcher.url(domain, port);
        long deadline = System.nanoTime() + timeout.toNanos();
        return dns.addresses(host)
                .thenApplyAsync(addresses -> fetchFrom(host, url, addresses, deadline), executor)
                .exceptionally(
                        e ->
                                new FetchResult.Failed(
                                        url,
                                        TlsFailureType.STS_POLICY_FETCH_ERROR,
                                        Problems.describe(e)));
    }

    private FetchResult fetchFrom(
            String host, String url, DnsResult<List<InetAddress>> addresses, long deadline) {
        if (!(addresses instanceof DnsResult.Found<List<InetAddress>> found)) {
            return fetchError(url, host + ": " + addresses.describe());
        }
        Socket plain = null;
        IOException lastError = null;
        for (InetAddress address : found.value()) {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(address, port), remainingMillis(deadline));
                plain = s;
                break;
            } catch (IOException e) {
                closeQuietly(s);
                lastError = e;
                log.debug(
                        "MTA-STS fetch {}: cannot connect to {}: {}",
                        url,
                        address,
                        Problems.describe(e));
            }
        }
        if (plain == null) {
            return fetchError(
                    url,
                    "cannot connect to "
                            + host
                            + " "
                            + found.value()
                            + " port "
                            + port
                            + ": "
                            + (lastError == null ? "no address" : Problems.describe(lastError)));
        }
        SSLSocket layered;
        try {
            layered = (SSLSocket) tls.getSocketFactory().createSocket(plain, host, port, true);
        } catch (IOException e) {
            closeQuietly(plain);
            return fetchError(url, Problems.describe(e));
        }
        try (SSLSocket socket = layered) {
            SSLParameters params = socket.getSSLParameters();
            params.setEndpointIdentificationAlgorithm(
                    "HTTPS"); // RFC 8461 §3.3: the certificate must match the host
            params.setServerNames(List.of(new SNIHostName(host)));
            params.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            socket.setSSLParameters(params);
            socket.setSoTimeout(remainingMillis(deadline));
            try {
                socket.startHandshake();
            } catch (SSLException e) {
                TlsFailureType type =
                        isCertificateProblem(e)
                                ? TlsFailureType.STS_WEBPKI_INVALID
                                : TlsFailureType.STS_POLICY_FETCH_ERROR;
                return new FetchResult.Failed(
                        url, type, "TLS with " + host + " failed: " + Problems.describe(e));
            }
            OutputStream out = socket.getOutputStream();
            String hostHeader = port == 443 ? host : host + ":" + port;
            out.write(
                    ("GET /.well-known/mta-sts.txt HTTP/1.1\r\n"
                                    + "Host: "
                                    + hostHeader
                                    + "\r\n"
                                    + "Accept: text/plain\r\n"
                                    + "Cache-Control: no-cache\r\n"
                                    + "User-Agent: tlsrelay\r\n"
                                    + "Connection: close\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return read(url, new DeadlineInput(socket, deadline));
        } catch (IllegalArgumentException e) {
            // SNIHostName refuses names that are not valid host names
            return fetchError(
                    url, host + " cannot be used as a TLS server name: " + e.getMessage());
        } catch (SocketTimeoutException e) {
            return fetchError(url, "timed out after " + timeout.toMillis() + " ms");
        } catch (IOException e) {
            return fetchError(url, Problems.describe(e));
        }
    }

    /** The response: status line, headers, then the body per Content-Length, chunked, or up to the close. */
    private static FetchResult read(String url, DeadlineInput in) throws IOException {
        String status = in.line();
        if (status == null) {
            return fetchError(url, "the server closed the connection without an answer");
        }
        String[] parts = status.split(" ", 3);
        if (parts.length < 2
                || !(parts[0].equals("HTTP/1.1") || parts[0].equals("HTTP/1.0"))
                || !parts[1].matches("[0-9]{3}")) {
            return fetchError(url, "not an HTTP/1.x status line: \"" + abbreviate(status) + "\"");
        }
        int code = Integer.parseInt(parts[1]);
        String contentType = null;
        String transferEncoding = null;
        String contentEncoding = null;
        String location = null;
        Long contentLength = null;
        for (int count = 0; ; count++) {
            String header = in.line();
            if (header == null) {
                return fetchError(url, "the answer ended inside its headers");
            }
            if (header.isEmpty()) {
                break;
            }
            if (count >= MAX_HEADERS) {
                return fetchError(url, "more than " + MAX_HEADERS + " header lines");
            }
            int colon = header.indexOf(':');
            if (colon <= 0 || header.charAt(0) == ' ' || header.charAt(0) == '\t') {
                return fetchError(url, "malformed header line \"" + abbreviate(header) + "\"");
            }
            String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = header.substring(colon + 1).trim();
            switch (name) {
                case "content-type" -> contentType = value;
                case "transfer-encoding" -> transferEncoding = value;
                case "content-encoding" -> contentEncoding = value;
                case "location" -> location = value;
                case "content-length" -> {
                    if (!value.matches("[0-9]{1,18}")) {
                        return fetchError(
                                url, "malformed Content-Length \"" + abbreviate(value) + "\"");
                    }
                    long length = Long.parseLong(value);
                    if (contentLength != null && contentLength != length) {
                        return fetchError(url, "conflicting Content-Length headers");
                    }
                    contentLength = length;
                }
                default -> {
                    // not needed
                }
            }
        }
        if (code != 200) {
            String why =
                    code >= 300 && code < 400
                            ? "HTTP "
                                    + code
                                    + (location == null ? "" : " to " + abbreviate(location))
                                    + ": redirects are not followed (RFC 8461 §3.3)"
                            : "HTTP " + code + " (only 200 is accepted)";
            return fetchError(url, why);
        }
        String mediaType =
                contentType == null
                        ? ""
                        : contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        if (!mediaType.equals("text/plain")) {
            return fetchError(
                    url,
                    "Content-Type "
                            + (contentType == null
                                    ? "missing"
                                    : "\"" + abbreviate(contentType) + "\"")
                            + "; the policy must be text/plain (RFC 8461 §3.2)");
        }
        if (contentEncoding != null && !contentEncoding.equalsIgnoreCase("identity")) {
            return fetchError(
                    url,
                    "Content-Encoding \"" + abbreviate(contentEncoding) + "\" was not asked for");
        }
        byte[] body;
        if (transferEncoding != null) {
            if (!transferEncoding.equalsIgnoreCase("chunked")) {
                return fetchError(
                        url,
                        "Transfer-Encoding \""
                                + abbreviate(transferEncoding)
                                + "\" is not supported");
            }
            body = in.chunked(PolicyParser.MAX_BYTES);
        } else if (contentLength != null) {
            if (contentLength > PolicyParser.MAX_BYTES) {
                return tooLarge(url);
            }
            body = in.exactly((int) (long) contentLength);
        } else {
            body = in.untilClose(PolicyParser.MAX_BYTES);
        }
        if (body == null) {
            return tooLarge(url);
        }
        return new FetchResult.Fetched(url, body);
    }

    private static FetchResult tooLarge(String url) {
        return fetchError(url, "the policy is larger than " + PolicyParser.MAX_BYTES + " bytes");
    }

    private static FetchResult fetchError(String url, String detail) {
        return new FetchResult.Failed(url, TlsFailureType.STS_POLICY_FETCH_ERROR, detail);
    }

    /** A certificate that did not validate (chain, expiry or host name), as opposed to any other TLS failure. */
    static boolean isCertificateProblem(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateException || t instanceof CertPathValidatorException) {
                return true;
            }
        }
        return false;
    }

    private static int remainingMillis(long deadline) throws SocketTimeoutException {
        long ms = (deadline - System.nanoTime()) / 1_000_000;
        if (ms <= 0) {
            throw new SocketTimeoutException("deadline passed");
        }
        return (int) Math.min(Integer.MAX_VALUE, ms);
    }

    private static String abbreviate(String s) {
        return s.length() <= 100 ? s : s.substring(0, 97) + "...";
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    /** Reads from the socket, never past the fetch's deadline, with bounded lines. */
    private static final class DeadlineInput {
        private final Socket socket;
        private final InputStream in;
        private final long deadline;

        DeadlineInput(Socket socket, long deadline) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
            this.deadline = deadline;
        }

        private int read() throws IOException {
            socket.setSoTimeout(remainingMillis(deadline));
            return in.read();
        }

        private int read(byte[] b, int off, int len) throws IOException {
            socket.setSoTimeout(remainingMillis(deadline));
            return in.read(b, off, len);
        }

        /** One line without its CRLF (a bare LF is accepted), or null at the end of the stream. */
        String line() throws IOException {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            while (true) {
                int c = read();
                if (c < 0) {
                    return buf.size() == 0 ? null : buf.toString(StandardCharsets.ISO_8859_1);
                }
                if (c == '\n') {
                    String s = buf.toString(StandardCharsets.ISO_8859_1);
                    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
                }
                if (buf.size() >= MAX_HEADER_LINE) {
                    throw new IOException(
                            "a header line is longer than " + MAX_HEADER_LINE + " bytes");
                }
                buf.write(c);
            }
        }

        byte[] exactly(int length) throws IOException {
            byte[] b = new byte[length];
            int off = 0;
            while (off < length) {
                int n = read(b, off, length - off);
                if (n < 0) {
                    throw new IOException(
                            "the body ended after " + off + " of " + length + " bytes");
                }
                off += n;
            }
            return b;
        }

        /** Up to {@code max} bytes until the server closes; null when there are more. */
        byte[] untilClose(int max) throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] b = new byte[8192];
            while (true) {
                int n = read(b, 0, b.length);
                if (n < 0) {
                    return out.toByteArray();
                }
                if (out.size() + n > max) {
                    return null;
                }
                out.write(b, 0, n);
            }
        }

        /** RFC 9112 §7.1 chunked body, up to {@code max} bytes; null when larger. Trailers are read and dropped. */
        byte[] chunked(int max) throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            while (true) {
                String sizeLine = line();
                if (sizeLine == null) {
                    throw new IOException("the chunked body ended early");
                }
                String hex = sizeLine.split(";", 2)[0].trim();
                if (!hex.matches("[0-9A-Fa-f]{1,8}")) {
                    throw new IOException("malformed chunk size \"" + abbreviate(sizeLine) + "\"");
                }
                long size = Long.parseLong(hex, 16);
                if (size == 0) {
                    for (String trailer = line();
                            trailer != null && !trailer.isEmpty();
                            trailer = line()) {
                        // trailers carry nothing we use
                    }
                    return out.toByteArray();
                }
                if (out.size() + size > max) {
                    return null;
                }
                out.write(exactly((int) size));
                String end = line();
                if (end == null || !end.isEmpty()) {
                    throw new IOException("a chunk is not followed by CRLF");
                }
            }
        }
    }
}
