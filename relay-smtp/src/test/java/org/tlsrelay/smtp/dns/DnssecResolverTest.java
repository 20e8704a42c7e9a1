package org.tlsrelay.smtp.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsrelay.core.config.RelayConfig;
import org.tlsrelay.core.dane.DaneLookup;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.DnsSecurity;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.SignedZone;

/**
 * The validating resolver against zones signed in the test and served on loopback: a test root {@code test.} whose
 * trust anchor the resolver gets, a signed child with a DS, an unsigned child without one, a child with a broken
 * signature.
 */
class DnssecResolverTest {
    private static final String EE = "3 1 1 " + "ab".repeat(32);
    private static final String TA = "2 1 1 " + "cd".repeat(32);

    private static DnsStubServer dns;
    private static SignedZone root;
    private static DnssecResolver resolver;

    @BeforeAll
    static void start() throws Exception {
        dns = DnsStubServer.start();
        root = SignedZone.signed("test");
        SignedZone example =
                SignedZone.signed("example.test")
                        .mx("example.test", 10, "mx.example.test")
                        .a("mx.example.test", "127.0.0.1")
                        .aaaa("mx.example.test", "::1")
                        .tlsa("_25._tcp.mx.example.test", EE)
                        .tlsa("_25._tcp.mx.example.test", TA)
                        .cname("alias.example.test", "mx.example.test")
                        .cname("out.example.test", "mx.insecure.test")
                        .cname("_25._tcp.shared.example.test", "_25._tcp.mx.example.test");
        SignedZone insecure =
                SignedZone.unsigned("insecure.test")
                        .mx("insecure.test", 10, "mx.insecure.test")
                        .a("mx.insecure.test", "127.0.0.2")
                        .tlsa("_25._tcp.mx.insecure.test", EE);
        SignedZone bogus =
                SignedZone.signed("bogus.test")
                        .a("mx.bogus.test", "127.0.0.3")
                        .tamper("mx.bogus.test", "A")
                        .tlsa("_25._tcp.mx.bogus.test", EE)
                        .tamper("_25._tcp.mx.bogus.test", "TLSA")
                        .a("ok.bogus.test", "127.0.0.4");
        root.delegate(example).delegate(insecure).delegate(bogus);
        dns.serve(root);
        dns.a("plain.invalid", "192.0.2.1"); // outside every trust anchor
        resolver = resolver(root.trustAnchor());
    }

    @AfterAll
    static void stop() {
        dns.close();
    }

    private static DnssecResolver resolver(String anchors) {
        return DnssecResolver.create(
                List.of(dns.address().toSocketAddress()),
                Duration.ofSeconds(2),
                new TrustAnchors(anchors, "test anchors"),
                Clock.systemUTC());
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(20, TimeUnit.SECONDS);
    }

    @Test
    void answersFromASignedZoneUnderTheAnchorAreSecure() throws Exception {
        DnsResult<List<MxRecord>> mx = await(resolver.mx("example.test"));
        assertEquals(List.of(new MxRecord(10, "mx.example.test")), mx.found().orElseThrow());
        assertTrue(mx.isSecure(), mx.describe());

        DnsResult<List<InetAddress>> a = await(resolver.addresses("mx.example.test"));
        assertEquals(
                List.of(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("::1")),
                a.found().orElseThrow());
        assertTrue(a.isSecure(), a.describe());

        DnsResult<List<TlsaRecord>> tlsa = await(resolver.tlsa("_25._tcp.mx.example.test"));
        assertEquals(
                java.util.Set.of(TlsaRecord.parse(EE), TlsaRecord.parse(TA)),
                java.util.Set.copyOf(tlsa.found().orElseThrow()));
        assertEquals(DnsSecurity.SECURE, assertInstanceOf(DnsResult.Found.class, tlsa).security());
    }

    @Test
    void provenAbsenceIsSecureNxdomainOrNodata() throws Exception {
        DnsResult<List<TlsaRecord>> nx = await(resolver.tlsa("_25._tcp.nothing.example.test"));
        DnsResult.NoRecords<?> none =
                assertInstanceOf(DnsResult.NoRecords.class, nx, nx.describe());
        assertEquals(DnsResult.Absence.NXDOMAIN, none.absence());
        assertTrue(nx.isSecure(), nx.describe());

        DnsResult<List<TlsaRecord>> nodata = await(resolver.tlsa("mx.example.test"));
        assertEquals(
                DnsResult.Absence.NODATA,
                assertInstanceOf(DnsResult.NoRecords.class, nodata).absence());
        assertTrue(nodata.isSecure(), nodata.describe());

        // _tcp.mx.example.test owns nothing but has a name below it: an empty non-terminal, NODATA.
        DnsResult<List<String>> ent = await(resolver.txt("_tcp.mx.example.test"));
        assertEquals(
                DnsResult.Absence.NODATA,
                assertInstanceOf(DnsResult.NoRecords.class, ent).absence());
        assertTrue(ent.isSecure(), ent.describe());
    }

    @Test
    void aZoneDelegatedWithoutDsIsInsecure() throws Exception {
        DnsResult<List<InetAddress>> a = await(resolver.addresses("mx.insecure.test"));
        DnsResult.Found<?> found = assertInstanceOf(DnsResult.Found.class, a, a.describe());
        assertEquals(DnsSecurity.INSECURE, found.security());
        DnsResult<List<TlsaRecord>> tlsa = await(resolver.tlsa("_25._tcp.mx.insecure.test"));
        assertTrue(tlsa.isFound() && !tlsa.isSecure(), tlsa.describe());
        DnsResult<List<MxRecord>> nx = await(resolver.mx("nothing.insecure.test"));
        assertTrue(nx.isNoRecords() && !nx.isSecure(), nx.describe());
    }

    @Test
    void namesOutsideEveryTrustAnchorAreInsecure() throws Exception {
        DnsResult<List<InetAddress>> a = await(resolver.addresses("plain.invalid"));
        assertTrue(a.isFound() && !a.isSecure(), a.describe());
    }

    @Test
    void aTamperedSignatureIsBogusNeverData() throws Exception {
        DnsResult<List<InetAddress>> a = await(resolver.addresses("mx.bogus.test"));
        DnsResult.Failed<?> f = assertInstanceOf(DnsResult.Failed.class, a, a.describe());
        assertEquals(DnsResult.Failure.BOGUS, f.failure());
        assertTrue(f.detail().contains("bogus"), f.detail());
        DnsResult<List<TlsaRecord>> tlsa = await(resolver.tlsa("_25._tcp.mx.bogus.test"));
        assertEquals(
                DnsResult.Failure.BOGUS, assertInstanceOf(DnsResult.Failed.class, tlsa).failure());
        // the rest of the zone is fine
        assertTrue(await(resolver.addresses("ok.bogus.test")).isSecure());
    }

    @Test
    void aWrongTrustAnchorMakesEverySignedAnswerBogus() throws Exception {
        DnssecResolver wrong =
                resolver(SignedZone.signed("test").trustAnchor()); // same name, other key
        DnsResult<List<MxRecord>> mx = await(wrong.mx("example.test"));
        assertEquals(
                DnsResult.Failure.BOGUS,
                assertInstanceOf(DnsResult.Failed.class, mx, mx.describe()).failure());
    }

    @Test
    void aCnameChainIsSecureOnlyWhenEveryLinkIs() throws Exception {
        DnsResult<List<InetAddress>> alias = await(resolver.addresses("alias.example.test"));
        DnsResult.Found<?> found = assertInstanceOf(DnsResult.Found.class, alias, alias.describe());
        assertEquals("mx.example.test", found.canonicalName());
        assertEquals(DnsSecurity.SECURE, found.security());

        DnsResult<List<TlsaRecord>> tlsa = await(resolver.tlsa("_25._tcp.shared.example.test"));
        assertTrue(tlsa.isSecure(), tlsa.describe());
        assertEquals(2, tlsa.found().orElseThrow().size());

        // a secure CNAME into an insecure zone: the result is insecure
        DnsResult<List<InetAddress>> out = await(resolver.addresses("out.example.test"));
        DnsResult.Found<?> o = assertInstanceOf(DnsResult.Found.class, out, out.describe());
        assertEquals("mx.insecure.test", o.canonicalName());
        assertEquals(DnsSecurity.INSECURE, o.security());
    }

    @Test
    void daneLookupOverSignedZonesRequiresDaneOnlyWhereEverythingIsSecure() throws Exception {
        DaneLookup dane = new DaneLookup(resolver);
        boolean mxSecure = await(resolver.mx("example.test")).isSecure();
        DanePolicy.Required required =
                assertInstanceOf(
                        DanePolicy.Required.class,
                        await(dane.lookUp("mx.example.test", mxSecure, 25)));
        assertEquals(2, required.usable().size());

        boolean insecureMx = await(resolver.mx("insecure.test")).isSecure();
        assertFalse(insecureMx);
        assertInstanceOf(
                DanePolicy.NotApplicable.class,
                await(dane.lookUp("mx.insecure.test", insecureMx, 25)));
        assertInstanceOf(
                DanePolicy.NotApplicable.class, await(dane.lookUp("mx.insecure.test", true, 25)));

        DanePolicy.Failed failed =
                assertInstanceOf(
                        DanePolicy.Failed.class, await(dane.lookUp("mx.bogus.test", true, 25)));
        assertTrue(failed.reason().contains("bogus"), failed.reason());
    }

    @Test
    void upstreamFailuresAreFailuresNotBogus() throws Exception {
        dns.servfail("down.example.test");
        dns.drop("slow.example.test");
        try {
            DnsResult<List<TlsaRecord>> sf = await(resolver.tlsa("down.example.test"));
            assertEquals(
                    DnsResult.Failure.SERVFAIL,
                    assertInstanceOf(DnsResult.Failed.class, sf, sf.describe()).failure());
            DnsResult<List<TlsaRecord>> to = await(resolver.tlsa("slow.example.test"));
            assertEquals(
                    DnsResult.Failure.TIMEOUT,
                    assertInstanceOf(DnsResult.Failed.class, to, to.describe()).failure());
        } finally {
            dns.answerNormally("down.example.test").answerNormally("slow.example.test");
        }
    }

    @Test
    void theNonValidatingResolverCallsEverythingInsecure() throws Exception {
        DnsjavaResolver plain =
                DnsjavaResolver.create(
                        new RelayConfig.Dns(List.of(dns.address()), Duration.ofSeconds(2)));
        DnsResult<List<TlsaRecord>> tlsa = await(plain.tlsa("_25._tcp.mx.example.test"));
        assertEquals(
                java.util.Set.of(TlsaRecord.parse(EE), TlsaRecord.parse(TA)),
                java.util.Set.copyOf(tlsa.found().orElseThrow()));
        assertFalse(tlsa.isSecure());
        // it does not validate, so a broken signature goes unnoticed: that is why DANE never uses
        // it
        assertTrue(await(plain.addresses("mx.bogus.test")).isFound());
    }

    @Test
    void dnssecOffMeansNoValidatingResolverAndNoDane() throws Exception {
        RelayResolvers off =
                RelayResolvers.create(
                        new RelayConfig.Dns(
                                List.of(dns.address()),
                                Duration.ofSeconds(2),
                                RelayConfig.DnssecMode.OFF,
                                List.of()));
        assertTrue(off.validating().isEmpty());
        assertTrue(off.dane().isEmpty());
        assertTrue(off.describe().contains("DANE disabled"), off.describe());
        assertFalse(await(off.general().mx("example.test")).isSecure());

        RelayConfig.Dns validate =
                new RelayConfig.Dns(List.of(dns.address()), Duration.ofSeconds(2));
        RelayResolvers on = RelayResolvers.create(validate);
        assertTrue(on.dane().isPresent());
        assertTrue(on.describe().contains("built-in IANA root"), on.describe());
        // With the real root anchors every name needs a chain from the IANA root keys, which the
        // stub cannot show:
        // the validator itself finds every answer bogus...
        DnsResult<List<MxRecord>> mx = await(DnssecResolver.create(validate).mx("example.test"));
        DnsResult.Failed<?> f = assertInstanceOf(DnsResult.Failed.class, mx, mx.describe());
        assertEquals(DnsResult.Failure.BOGUS, f.failure());
        assertTrue(f.detail().contains("keys for [.]"), f.detail());
        // ...and so does the relay's: nothing seen on the network switches validation off
        DnsResult<List<MxRecord>> relay = await(on.validating().orElseThrow().mx("example.test"));
        assertEquals(
                DnsResult.Failure.BOGUS,
                assertInstanceOf(DnsResult.Failed.class, relay, relay.describe()).failure());
    }

    @Test
    void builtInRootAnchorsAreTheIanaKsks() {
        TrustAnchors rootAnchors = TrustAnchors.root();
        assertTrue(
                rootAnchors
                        .text()
                        .contains(
                                ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC6834"
                                        + "57104237C7F8EC8D"));
        assertTrue(
                rootAnchors
                        .text()
                        .contains(
                                ". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C48"
                                        + "3AF444A4C0FB2B16"));
    }

    @Test
    void trustAnchorFilesReplaceTheRootAndBadOnesAreNamed(@TempDir Path dir) throws Exception {
        Path good = Files.writeString(dir.resolve("test.ds"), root.trustAnchor());
        Path empty = Files.writeString(dir.resolve("empty.zone"), "; nothing\n");
        TrustAnchors anchors = TrustAnchors.configured(List.of(good));
        assertEquals(root.trustAnchor().strip(), anchors.text().strip());
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TrustAnchors.configured(List.of(good, empty)));
        assertTrue(e.getMessage().contains("empty.zone"), e.getMessage());
        java.io.IOException missing =
                assertThrows(
                        java.io.IOException.class,
                        () -> TrustAnchors.configured(List.of(dir.resolve("nope.ds"))));
        assertTrue(missing.getMessage().contains("nope.ds"), missing.getMessage());

        RelayConfig.Dns config =
                new RelayConfig.Dns(
                        List.of(dns.address()),
                        Duration.ofSeconds(2),
                        RelayConfig.DnssecMode.VALIDATE,
                        List.of(good));
        assertTrue(await(DnssecResolver.create(config).mx("example.test")).isSecure());
    }
}
