package org.tlsrelay.smtp.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.URI;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.report.PreparedReport;
import org.tlsrelay.core.report.ReportTransport;
import org.tlsrelay.core.report.Rua;
import org.tlsrelay.core.tls.TrustMaterial;
import org.tlsrelay.testkit.FakeDnsResolver;
import org.tlsrelay.testkit.TestCa;
import org.tlsrelay.testkit.TestHttpsServer;

/** The HTTPS rua transport against a real HTTPS server on loopback. */
class HttpsReportTransportTest {
    static final TestCa CA = TestCa.create("https rua CA");
    static final PreparedReport REPORT =
            new PreparedReport(
                    "example.com",
                    LocalDate.parse("2025-06-01"),
                    "abc123@relay.test",
                    "relay.test",
                    new byte[] {0x1f, (byte) 0x8b, 1, 2, 3});

    TestHttpsServer https;
    FakeDnsResolver dns = new FakeDnsResolver();

    @BeforeEach
    void start() throws Exception {
        https = TestHttpsServer.start(CA.issue("127.0.0.1").serverContext());
    }

    @AfterEach
    void stop() {
        https.close();
    }

    HttpsReportTransport transport(boolean allowLocal, TestCa trusted) {
        return new HttpsReportTransport(
                TrustMaterial.of(List.of(trusted.certificate())),
                dns,
                Duration.ofSeconds(5),
                allowLocal);
    }

    Rua rua(String path) {
        return new Rua.Https(https.url(path), URI.create(https.url(path)));
    }

    @Test
    void postsTheGzipBodyWithTheTlsrptMediaType() {
        https.respond("/r", TestHttpsServer.Response.status(204));
        ReportTransport.Result r = transport(true, CA).send(rua("/r"), REPORT);
        assertInstanceOf(ReportTransport.Result.Sent.class, r, r.detail());
        TestHttpsServer.Request req = https.requests().get(0);
        assertEquals("POST", req.method());
        assertEquals(List.of("application/tlsrpt+gzip"), req.headers().get("Content-type"));
        assertEquals(5, req.body().length);
    }

    @Test
    void aRedirectOrAnErrorIsAFailureToRetry() {
        https.respond("/moved", TestHttpsServer.Response.redirect("https://127.0.0.1/elsewhere"));
        https.respond("/down", TestHttpsServer.Response.status(503));
        assertInstanceOf(
                ReportTransport.Result.Failed.class,
                transport(true, CA).send(rua("/moved"), REPORT));
        assertInstanceOf(
                ReportTransport.Result.Failed.class,
                transport(true, CA).send(rua("/down"), REPORT));
        assertEquals(2, https.requests().size(), "the redirect was not followed");
    }

    @Test
    void anUntrustedCertificateIsAFailure() {
        https.respond("/r", TestHttpsServer.Response.status(200));
        ReportTransport.Result r =
                transport(true, TestCa.create("other CA")).send(rua("/r"), REPORT);
        assertInstanceOf(ReportTransport.Result.Failed.class, r);
        assertTrue(https.requests().isEmpty());
    }

    @Test
    void refusesHostsWithPrivateAddressesUnlessAllowed() {
        https.respond("/r", TestHttpsServer.Response.status(200));
        dns.a("reports.internal.test", "127.0.0.1");
        Rua internal =
                new Rua.Https(
                        "https://reports.internal.test:" + https.port() + "/r",
                        URI.create("https://reports.internal.test:" + https.port() + "/r"));
        ReportTransport.Result r = transport(false, CA).send(internal, REPORT);
        assertInstanceOf(ReportTransport.Result.Refused.class, r, r.detail());
        assertTrue(https.requests().isEmpty(), "nothing was posted");
        assertInstanceOf(
                ReportTransport.Result.Failed.class,
                transport(false, CA)
                        .send(
                                new Rua.Https(
                                        "https://unknown.test/r",
                                        URI.create("https://unknown.test/r")),
                                REPORT),
                "no address: retry later");
    }

    @ParameterizedTest
    @CsvSource({
        "127.0.0.1,false",
        "10.1.2.3,false",
        "172.16.0.1,false",
        "192.168.1.1,false",
        "169.254.1.1,false",
        "100.64.0.1,false",
        "0.0.0.0,false",
        "::1,false",
        "fd00::1,false",
        "fe80::1,false",
        "192.0.2.1,true",
        "2001:db8::1,true",
        "8.8.8.8,true"
    })
    void tellsPublicFromPrivateAddresses(String address, boolean isPublic) throws Exception {
        assertEquals(
                isPublic, HttpsReportTransport.isPublic(InetAddress.getByName(address)), address);
        assertFalse(HttpsReportTransport.isPublic(InetAddress.getByName("224.0.0.1")));
    }
}
