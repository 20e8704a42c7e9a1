package org.tlsrelay.smtp.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.dns.DnsResult;
import org.tlsrelay.core.dns.DnsSecurity;
import org.tlsrelay.core.dns.MxRecord;
import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.testkit.DnsStubServer;
import org.tlsrelay.testkit.SignedZone;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSEC3Record;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;
import org.xbill.DNS.dnssec.ValidatingResolver;

/**
 * The validating resolver over NSEC3 zones (RFC 5155) beside NSEC, as the real tree has them ({@link DnssecTree}),
 * {@code ent.test} included: a name that exists only because unsigned delegations sit below it, so the Opt-Out zone
 * has no NSEC3 record for it.
 */
class Nsec3ResolverTest {
    private static DnsStubServer dns;
    private static SignedZone root;
    private static DnssecResolver resolver;
    private static final List<String> failures = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        dns = DnsStubServer.start();
        root = DnssecTree.build();
        dns.serve(root);
        resolver =
                DnssecResolver.create(
                        List.of(dns.address().toSocketAddress()),
                        Duration.ofSeconds(2),
                        new TrustAnchors(root.trustAnchor(), "test anchors"),
                        Clock.systemUTC(),
                        (what, reason) -> failures.add(what + ": " + reason));
    }

    @AfterAll
    static void stop() {
        dns.close();
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(20, TimeUnit.SECONDS);
    }

    @Test
    void aZoneSignedWithNsec3WithoutOptOutIsSecureAndProvesAbsenceSecurely() throws Exception {
        DnsResult<List<MxRecord>> mx = await(resolver.mx("n3.test"));
        assertEquals(List.of(new MxRecord(10, "mx.n3.test")), mx.found().orElseThrow());
        assertTrue(mx.isSecure(), mx.describe());
        DnsResult<List<TlsaRecord>> tlsa = await(resolver.tlsa("_25._tcp.mx.n3.test"));
        assertTrue(tlsa.isFound() && tlsa.isSecure(), tlsa.describe());

        DnsResult<List<TlsaRecord>> nx = await(resolver.tlsa("_25._tcp.nothing.n3.test"));
        assertEquals(
                DnsResult.Absence.NXDOMAIN,
                assertInstanceOf(DnsResult.NoRecords.class, nx, nx.describe()).absence());
        assertTrue(nx.isSecure(), nx.describe());
        DnsResult<List<TlsaRecord>> nodata = await(resolver.tlsa("mx.n3.test"));
        assertEquals(
                DnsResult.Absence.NODATA,
                assertInstanceOf(DnsResult.NoRecords.class, nodata, nodata.describe()).absence());
        assertTrue(nodata.isSecure(), nodata.describe());
        // an empty non-terminal of a zone without Opt-Out has its own NSEC3 record
        DnsResult<List<String>> ent = await(resolver.txt("_tcp.mx.n3.test"));
        assertTrue(ent.isNoRecords() && ent.isSecure(), ent.describe());
    }

    @Test
    void nsecBesideNsec3UnderAnOptOutParentIsSecure() throws Exception {
        DnsResult<List<MxRecord>> mx = await(resolver.mx("nsec.test"));
        assertTrue(mx.isFound() && mx.isSecure(), mx.describe());
    }

    @Test
    void anUnsignedDelegationCoveredByOptOutIsInsecure() throws Exception {
        DnsResult<List<MxRecord>> mx = await(resolver.mx("plain.test"));
        DnsResult.Found<?> found = assertInstanceOf(DnsResult.Found.class, mx, mx.describe());
        assertEquals(DnsSecurity.INSECURE, found.security());
        DnsResult<List<MxRecord>> nx = await(resolver.mx("nothing.test"));
        assertEquals(
                DnsResult.Absence.NXDOMAIN,
                assertInstanceOf(DnsResult.NoRecords.class, nx, nx.describe()).absence());
        assertFalse(nx.isSecure(), "an Opt-Out span proves no more than insecurity");
    }

    @Test
    void anEmptyNonTerminalAboveOptOutDelegationsIsInsecureNodataNotBogus() throws Exception {
        failures.clear();
        DnsResult<List<MxRecord>> mx = await(resolver.mx("ent.test"));
        DnsResult.NoRecords<?> none =
                assertInstanceOf(DnsResult.NoRecords.class, mx, mx.describe());
        assertEquals(DnsResult.Absence.NODATA, none.absence());
        assertEquals(DnsSecurity.INSECURE, none.security());
        DnsResult<List<InetAddress>> a = await(resolver.addresses("ent.test"));
        assertTrue(a.isNoRecords() && !a.isSecure(), a.describe());
        assertTrue(failures.isEmpty(), failures.toString());
    }

    @Test
    void theOptOutProofIsCheckedAgainstTheZonesValidatedKeys() throws Exception {
        Name ent = Name.fromString("ent.test.");
        Message genuine = raw(ent, Type.MX);
        ValidatingResolver validator =
                new ValidatingResolver(new SimpleResolver(dns.address().toSocketAddress()));
        validator.loadTrustAnchors(new TrustAnchors(root.trustAnchor(), "test").stream());
        assertTrue(await(OptOutNodata.proven(validator, genuine, ent, Instant.now())));

        // a broken NSEC3 signature proves nothing
        Message forged = raw(ent, Type.MX);
        RRSIGRecord sig =
                (RRSIGRecord)
                        forged.getSection(Section.AUTHORITY).stream()
                                .filter(
                                        r ->
                                                r instanceof RRSIGRecord s
                                                        && s.getTypeCovered() == Type.NSEC3)
                                .findFirst()
                                .orElseThrow();
        byte[] s = sig.getSignature();
        s[s.length / 2] ^= 0x55;
        forged.removeRecord(sig, Section.AUTHORITY);
        forged.addRecord(
                new RRSIGRecord(
                        sig.getName(),
                        sig.getDClass(),
                        sig.getTTL(),
                        sig.getTypeCovered(),
                        sig.getAlgorithm(),
                        sig.getOrigTTL(),
                        sig.getExpire(),
                        sig.getTimeSigned(),
                        sig.getFootprint(),
                        sig.getSigner(),
                        s),
                Section.AUTHORITY);
        assertFalse(await(OptOutNodata.proven(validator, forged, ent, Instant.now())));

        // keys that are not validated prove nothing either
        ValidatingResolver wrongAnchor =
                new ValidatingResolver(new SimpleResolver(dns.address().toSocketAddress()));
        wrongAnchor.loadTrustAnchors(
                new TrustAnchors(SignedZone.signed("test").trustAnchor(), "other").stream());
        assertFalse(await(OptOutNodata.proven(wrongAnchor, genuine, ent, Instant.now())));

        // a name with its own NSEC3 record is not an Opt-Out case
        Name n3 = Name.fromString("mx.n3.test.");
        Message withOwnRecord = raw(n3, Type.TLSA);
        assertTrue(
                withOwnRecord.getSection(Section.AUTHORITY).stream()
                        .anyMatch(r -> r instanceof NSEC3Record));
        assertFalse(await(OptOutNodata.proven(validator, withOwnRecord, n3, Instant.now())));
    }

    /** The stub's answer with DNSSEC records, as the validator receives it. */
    private static Message raw(Name name, int type) throws Exception {
        Message q = Message.newQuery(Record.newRecord(name, type, DClass.IN));
        q.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
        return new SimpleResolver(dns.address().toSocketAddress()).send(q);
    }
}
