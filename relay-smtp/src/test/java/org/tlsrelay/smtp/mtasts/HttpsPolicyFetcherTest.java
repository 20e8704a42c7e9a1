package org.tlsrelay.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.tlsrelay.smtp.mtasts.RawHttpsServer.ascii;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.policy.mtasts.FetchResult;
import org.tlsrelay.core.policy.mtasts.HttpsPolicyFetcher;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.smtp.dns.DnsjavaResolver;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestHttpsServer;

/**
 * The policy fetch over real sockets: names resolve through a DNS stub on loopback, the policy host is a real HTTPS
 * server with a certificate from a test CA (RFC 8461 §3.3).
 */
class HttpsPolicyFetcherTest {
    static final String POLICY =
            "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400\n";
    static final String PATH = "/.well-known/mta-sts.txt";
    static final TestCa CA = TestCa.create("tlsrelay test CA");
    static final TestCa.Issued GOOD = CA.issue("mta-sts.example.com");

    DnsStubServer dns;
    DnsjavaResolver resolver;
    ExecutorService executor;

    @BeforeEach
    void start() throws Exception {
        dns = DnsStubServer.start();
        dns.a("mta-sts.example.com", "127.0.0.1");
        resolver =
                DnsjavaResolver.create(
                        List.of(dns.address().toSocketAddress()), Duration.ofSeconds(2));
        executor = Executors.newCachedThreadPool();
    }

    @AfterEach
    void stop() {
        dns.close();
        executor.shutdownNow();
    }

    HttpsPolicyFetcher fetcher(int port, Duration timeout) {
        return new HttpsPolicyFetcher(
                resolver, TrustMaterial.of(List.of(CA.certificate())), port, timeout, executor);
    }

    FetchResult fetch(int port) throws Exception {
        return fetcher(port, Duration.ofSeconds(5)).fetch("example.com").get(10, TimeUnit.SECONDS);
    }

    static FetchResult.Failed failed(FetchResult r, TlsFailureType type) {
        FetchResult.Failed f =
                assertInstanceOf(FetchResult.Failed.class, r, () -> "expected a failure: " + r);
        assertEquals(type, f.type(), f::detail);
        return f;
    }

    @Test
    void fetchesThePolicyFromTheAddressOurDnsGivesWithTheRightHostAndPath() throws Exception {
        try (TestHttpsServer https = TestHttpsServer.start(GOOD.serverContext())) {
            https.respond(PATH, TestHttpsServer.Response.text(POLICY));
            FetchResult r = fetch(https.port());
            FetchResult.Fetched f = assertInstanceOf(FetchResult.Fetched.class, r, r::toString);
            assertArrayEquals(POLICY.getBytes(StandardCharsets.UTF_8), f.body());
            assertEquals("https://mta-sts.example.com:" + https.port() + PATH, f.url());
            TestHttpsServer.Request req = https.requests().get(0);
            assertEquals("GET", req.method());
            assertEquals("mta-sts.example.com:" + https.port(), req.host());
            assertEquals(1, dns.queryCount("mta-sts.example.com", "A"));
        }
    }

    @Test
    void sendsTheMtaStsHostAsSni() throws Exception {
        byte[] ok =
                ascii(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                                + POLICY.length()
                                + "\r\n\r\n"
                                + POLICY);
        try (RawHttpsServer raw = RawHttpsServer.start(GOOD.serverContext(), ok)) {
            assertInstanceOf(FetchResult.Fetched.class, fetch(raw.port()));
            assertEquals(List.of("mta-sts.example.com"), raw.sniNames());
        }
    }

    @Test
    void refusesToFollowRedirects() throws Exception {
        try (TestHttpsServer https = TestHttpsServer.start(GOOD.serverContext())) {
            https.respond(
                    PATH,
                    TestHttpsServer.Response.redirect(
                            "https://mta-sts.example.com:" + https.port() + "/elsewhere.txt"));
            https.respond("/elsewhere.txt", TestHttpsServer.Response.text(POLICY));
            FetchResult.Failed f =
                    failed(fetch(https.port()), TlsFailureType.STS_POLICY_FETCH_ERROR);
            assertTrue(f.detail().contains("redirects are not followed"), f.detail());
            assertEquals(1, https.requests().size(), "the redirect target was never asked for");
        }
    }

    @Test
    void aCertificateForAnotherNameIsWebPkiInvalid() throws Exception {
        try (TestHttpsServer https =
                TestHttpsServer.start(CA.issue("www.example.com").serverContext())) {
            https.respond(PATH, TestHttpsServer.Response.text(POLICY));
            failed(fetch(https.port()), TlsFailureType.STS_WEBPKI_INVALID);
            assertTrue(
                    https.requests().isEmpty(),
                    "no request is sent over an unauthenticated connection");
        }
    }

    @Test
    void aCertificateFromAnUntrustedCaIsWebPkiInvalid() throws Exception {
        TestCa other = TestCa.create("somebody else");
        try (TestHttpsServer https =
                TestHttpsServer.start(other.issue("mta-sts.example.com").serverContext())) {
            https.respond(PATH, TestHttpsServer.Response.text(POLICY));
            failed(fetch(https.port()), TlsFailureType.STS_WEBPKI_INVALID);
        }
    }

    @Test
    void anExpiredCertificateIsWebPkiInvalid() throws Exception {
        Instant now = Instant.now();
        TestCa.Issued expired =
                CA.issue(
                        now.minus(Duration.ofDays(30)),
                        now.minus(Duration.ofDays(1)),
                        "mta-sts.example.com");
        try (TestHttpsServer https = TestHttpsServer.start(expired.serverContext())) {
            https.respond(PATH, TestHttpsServer.Response.text(POLICY));
            failed(fetch(https.port()), TlsFailureType.STS_WEBPKI_INVALID);
        }
    }

    @Test
    void onlyStatus200Counts() throws Exception {
        try (TestHttpsServer https = TestHttpsServer.start(GOOD.serverContext())) {
            https.respond(PATH, TestHttpsServer.Response.status(404));
            assertTrue(
                    failed(fetch(https.port()), TlsFailureType.STS_POLICY_FETCH_ERROR)
                            .detail()
                            .contains("HTTP 404"));
            https.respond(
                    PATH, new TestHttpsServer.Response(204, "text/plain", new byte[0], Map.of()));
            failed(fetch(https.port()), TlsFailureType.STS_POLICY_FETCH_ERROR);
            https.respond(
                    PATH, new TestHttpsServer.Response(500, "text/plain", ascii(POLICY), Map.of()));
            failed(fetch(https.port()), TlsFailureType.STS_POLICY_FETCH_ERROR);
        }
    }

    @Test
    void onlyTextPlainCountsWithOrWithoutParameters() throws Exception {
        try (TestHttpsServer https = TestHttpsServer.start(GOOD.serverContext())) {
            https.respond(PATH, TestHttpsServer.Response.bytes("text/html", ascii(POLICY)));
            FetchResult.Failed f =
                    failed(fetch(https.port()), TlsFailureType.STS_POLICY_FETCH_ERROR);
            assertTrue(f.detail().contains("text/html"), f.detail());
            https.respond(
                    PATH,
                    TestHttpsServer.Response.bytes("Text/Plain; charset=utf-8", ascii(POLICY)));
            assertInstanceOf(FetchResult.Fetched.class, fetch(https.port()));
        }
    }

    @Test
    void aBodyOver64KiBIsAFetchErrorWhateverTheFraming() throws Exception {
        byte[] big = ascii(POLICY + "x: " + "a".repeat(70_000) + "\n");
        try (TestHttpsServer https = TestHttpsServer.start(GOOD.serverContext())) {
            https.respond(PATH, TestHttpsServer.Response.bytes("text/plain", big));
            assertTrue(
                    failed(fetch(https.port()), TlsFailureType.STS_POLICY_FETCH_ERROR)
                            .detail()
                            .contains("65536"));
        }
        String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";
        try (RawHttpsServer noLength =
                RawHttpsServer.start(
                        GOOD.serverContext(),
                        ascii(
                                head
                                        + "Connection: close\r\n\r\n"
                                        + new String(big, StandardCharsets.ISO_8859_1)))) {
            failed(fetch(noLength.port()), TlsFailureType.STS_POLICY_FETCH_ERROR);
        }
        String chunks =
                "8000\r\n"
                        + "a".repeat(0x8000)
                        + "\r\n"
                        + "8000\r\n"
                        + "a".repeat(0x8000)
                        + "\r\n"
                        + "1\r\na\r\n0\r\n\r\n";
        try (RawHttpsServer chunked =
                RawHttpsServer.start(
                        GOOD.serverContext(),
                        ascii(head + "Transfer-Encoding: chunked\r\n\r\n" + chunks))) {
            failed(fetch(chunked.port()), TlsFailureType.STS_POLICY_FETCH_ERROR);
        }
    }

    @Test
    void readsChunkedBodiesAndBodiesEndedByClose() throws Exception {
        String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";
        String chunks =
                "f\r\n"
                        + POLICY.substring(0, 15)
                        + "\r\n"
                        + Integer.toHexString(POLICY.length() - 15)
                        + ";ext=1\r\n"
                        + POLICY.substring(15)
                        + "\r\n0\r\nX-Trailer: t\r\n\r\n";
        try (RawHttpsServer chunked =
                RawHttpsServer.start(
                        GOOD.serverContext(),
                        ascii(head + "Transfer-Encoding: chunked\r\n\r\n" + chunks))) {
            FetchResult r = fetch(chunked.port());
            assertArrayEquals(
                    ascii(POLICY),
                    assertInstanceOf(FetchResult.Fetched.class, r, r::toString).body());
        }
        try (RawHttpsServer close =
                RawHttpsServer.start(GOOD.serverContext(), ascii(head + "\r\n" + POLICY))) {
            FetchResult r = fetch(close.port());
            assertArrayEquals(
                    ascii(POLICY),
                    assertInstanceOf(FetchResult.Fetched.class, r, r::toString).body());
        }
    }

    @Test
    void aServerThatNeverAnswersTimesOut() throws Exception {
        try (RawHttpsServer silent = RawHttpsServer.start(GOOD.serverContext(), null)) {
            long t0 = System.nanoTime();
            FetchResult r =
                    fetcher(silent.port(), Duration.ofMillis(700))
                            .fetch("example.com")
                            .get(10, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(
                    failed(r, TlsFailureType.STS_POLICY_FETCH_ERROR).detail().contains("timed out"),
                    r::toString);
            assertTrue(ms >= 600 && ms < 5000, "gave up after " + ms + " ms");
        }
    }

    @Test
    void noAddressForThePolicyHostIsAFetchError() throws Exception {
        dns.remove("mta-sts.example.com");
        assertTrue(
                failed(fetch(443), TlsFailureType.STS_POLICY_FETCH_ERROR)
                        .detail()
                        .contains("NXDOMAIN"));
        dns.servfail("mta-sts.example.com");
        assertTrue(
                failed(fetch(443), TlsFailureType.STS_POLICY_FETCH_ERROR)
                        .detail()
                        .contains("SERVFAIL"));
    }

    @Test
    void aClosedPortOrAPlainHttpServerIsAFetchError() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            closedPort = s.getLocalPort();
        }
        failed(fetch(closedPort), TlsFailureType.STS_POLICY_FETCH_ERROR);
        try (ServerSocket plain = new ServerSocket()) {
            plain.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            executor.execute(
                    () -> {
                        try (var s = plain.accept()) {
                            s.getOutputStream()
                                    .write(
                                            ascii(
                                                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                                                            + POLICY));
                        } catch (Exception e) {
                            // the client hung up
                        }
                    });
            failed(fetch(plain.getLocalPort()), TlsFailureType.STS_POLICY_FETCH_ERROR);
        }
    }
}
