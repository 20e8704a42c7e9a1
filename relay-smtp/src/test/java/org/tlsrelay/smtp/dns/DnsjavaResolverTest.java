package org.tlsrelay.smtp.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.testkit.DnsStubServer;

class DnsjavaResolverTest {
    private DnsStubServer dns;
    private DnsjavaResolver resolver;

    @BeforeEach
    void start() throws Exception {
        dns = DnsStubServer.start();
        resolver =
                DnsjavaResolver.create(
                        new RelayConfig.Dns(List.of(dns.address()), Duration.ofMillis(500)));
    }

    @AfterEach
    void stop() {
        dns.close();
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    @Test
    void mxRecordsComeBackOrderedByPreference() throws Exception {
        dns.mx("example.com", 20, "mx2.example.com").mx("example.com", 10, "MX1.example.com");
        DnsResult<List<MxRecord>> r = await(resolver.mx("Example.COM."));
        assertEquals(
                List.of(new MxRecord(10, "mx1.example.com"), new MxRecord(20, "mx2.example.com")),
                r.found().orElseThrow());
        assertEquals("example.com", r.name());
        assertFalse(MxRecord.hasNullMx(r.found().orElseThrow()));
    }

    @Test
    void nullMxIsRecognisable() throws Exception {
        dns.nullMx("nomail.example");
        List<MxRecord> mx = await(resolver.mx("nomail.example")).found().orElseThrow();
        assertEquals(1, mx.size());
        assertTrue(mx.get(0).isNull());
        assertEquals(0, mx.get(0).preference());
        assertTrue(MxRecord.hasNullMx(mx));
    }

    @Test
    void addressesGiveIpv4ThenIpv6() throws Exception {
        dns.aaaa("mx1.example.com", "::1").a("mx1.example.com", "127.0.0.1", "127.0.0.2");
        List<InetAddress> a = await(resolver.addresses("mx1.example.com")).found().orElseThrow();
        assertEquals(
                List.of(
                        InetAddress.getByName("127.0.0.1"),
                        InetAddress.getByName("127.0.0.2"),
                        InetAddress.getByName("::1")),
                a);
    }

    @Test
    void addressesWithOnlyOneFamilyAreFound() throws Exception {
        dns.a("v4only.example.com", "127.0.0.1");
        assertEquals(
                List.of(InetAddress.getByName("127.0.0.1")),
                await(resolver.addresses("v4only.example.com")).found().orElseThrow());
    }

    @Test
    void addressesOfAMissingHostAreNxdomainAndOfANameWithoutAddressesNodata() throws Exception {
        dns.mx("example.com", 10, "mx1.example.com");
        assertEquals(
                new DnsResult.NoRecords<>("missing.example.com", DnsResult.Absence.NXDOMAIN),
                await(resolver.addresses("missing.example.com")));
        assertEquals(
                new DnsResult.NoRecords<>("example.com", DnsResult.Absence.NODATA),
                await(resolver.addresses("example.com")));
    }

    @Test
    void txtJoinsTheStringsOfEachRecordWithoutSeparator() throws Exception {
        dns.txt("_mta-sts.example.com", "v=STSv1; ", "id=20240101;")
                .txt("_mta-sts.example.com", "other");
        assertEquals(
                List.of("v=STSv1; id=20240101;", "other"),
                await(resolver.txt("_mta-sts.example.com")).found().orElseThrow());
    }

    @Test
    void longTxtRecordIsReassembledAndFetchedOverTcpWhenUdpWouldTruncate() throws Exception {
        String big = "v=TLSRPTv1; rua=mailto:" + "x".repeat(3000) + "@example.com";
        dns.txt("_smtp._tls.example.com", big);
        assertEquals(
                List.of(big), await(resolver.txt("_smtp._tls.example.com")).found().orElseThrow());
        assertTrue(
                dns.queries().stream()
                        .anyMatch(q -> q.tcp() && q.name().equals("_smtp._tls.example.com")),
                "the truncated UDP answer is retried over TCP: " + dns.queries());
    }

    @Test
    void truncatedUdpAnswerFallsBackToTcp() throws Exception {
        dns.mx("example.com", 10, "mx1.example.com").truncateUdp(true);
        assertEquals(
                List.of(new MxRecord(10, "mx1.example.com")),
                await(resolver.mx("example.com")).found().orElseThrow());
        List<DnsStubServer.Query> q = dns.queries();
        assertFalse(q.get(0).tcp());
        assertTrue(q.get(q.size() - 1).tcp());
    }

    @Test
    void cnamesAreFollowedAndTheCanonicalNameReported() throws Exception {
        dns.cname("alias.example.com", "alias2.example.com")
                .cname("alias2.example.com", "mail.example.net")
                .mx("mail.example.net", 5, "mx.example.net")
                .a("mail.example.net", "127.0.0.9");
        DnsResult<List<MxRecord>> r = await(resolver.mx("alias.example.com"));
        if (!(r instanceof DnsResult.Found<List<MxRecord>> found)) {
            throw new AssertionError("expected records, got " + r);
        }
        assertEquals("alias.example.com", found.name());
        assertEquals("mail.example.net", found.canonicalName());
        assertEquals(List.of(new MxRecord(5, "mx.example.net")), found.value());
        assertEquals(
                List.of(InetAddress.getByName("127.0.0.9")),
                await(resolver.addresses("alias.example.com")).found().orElseThrow());
    }

    @Test
    void cnameToAMissingNameIsNxdomain() throws Exception {
        dns.cname("dangling.example.com", "gone.example.net");
        assertEquals(
                new DnsResult.NoRecords<>("dangling.example.com", DnsResult.Absence.NXDOMAIN),
                await(resolver.txt("dangling.example.com")));
    }

    @Test
    void cnameLoopIsAMalformedFailure() throws Exception {
        dns.cname("a.example.com", "b.example.com").cname("b.example.com", "a.example.com");
        DnsResult<List<String>> r = await(resolver.txt("a.example.com"));
        DnsResult.Failed<?> f = assertInstanceOf(DnsResult.Failed.class, r);
        assertEquals(DnsResult.Failure.MALFORMED, f.failure());
    }

    @Test
    void nxdomainNodataServfailAndTimeoutAreDistinguished() throws Exception {
        dns.mx("example.com", 10, "mx1.example.com")
                .servfail("broken.example.com")
                .drop("slow.example.com");
        assertEquals(
                new DnsResult.NoRecords<>("nowhere.example.com", DnsResult.Absence.NXDOMAIN),
                await(resolver.txt("nowhere.example.com")));
        assertEquals(
                new DnsResult.NoRecords<>("example.com", DnsResult.Absence.NODATA),
                await(resolver.txt("example.com")));
        DnsResult<List<String>> servfail = await(resolver.txt("broken.example.com"));
        assertEquals(
                DnsResult.Failure.SERVFAIL,
                assertInstanceOf(DnsResult.Failed.class, servfail).failure());
        assertTrue(servfail.isFailed());
        assertFalse(servfail.isNoRecords());
        long t0 = System.nanoTime();
        DnsResult<List<String>> timeout = await(resolver.txt("slow.example.com"));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(
                DnsResult.Failure.TIMEOUT,
                assertInstanceOf(DnsResult.Failed.class, timeout).failure());
        assertTrue(ms >= 400 && ms < 5000, "timed out after " + ms + " ms with a 500 ms timeout");
    }

    @Test
    void changesToTheZoneAreSeenAtOnce() throws Exception {
        dns.txt("_mta-sts.example.com", "v=STSv1; id=1");
        assertEquals(
                List.of("v=STSv1; id=1"),
                await(resolver.txt("_mta-sts.example.com")).found().orElseThrow());
        dns.remove("_mta-sts.example.com").txt("_mta-sts.example.com", "v=STSv1; id=2");
        assertEquals(
                List.of("v=STSv1; id=2"),
                await(resolver.txt("_mta-sts.example.com")).found().orElseThrow());
        dns.remove("_mta-sts.example.com");
        assertTrue(await(resolver.txt("_mta-sts.example.com")).isNoRecords());
        dns.txt(
                "_mta-sts.example.com",
                "v=STSv1; id=3"); // a cached negative answer must not hide it either
        assertEquals(
                List.of("v=STSv1; id=3"),
                await(resolver.txt("_mta-sts.example.com")).found().orElseThrow());
    }

    @Test
    void invalidNameIsNotSent() throws Exception {
        DnsResult<List<MxRecord>> r = await(resolver.mx("bad..name"));
        assertEquals(
                DnsResult.Failure.INVALID_NAME,
                assertInstanceOf(DnsResult.Failed.class, r).failure());
        assertTrue(dns.queries().isEmpty());
    }
}
