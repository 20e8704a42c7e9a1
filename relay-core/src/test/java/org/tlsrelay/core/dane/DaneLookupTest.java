package org.tlsrelay.core.dane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.testkit.FakeDnsResolver;

/** Which DANE policy an MX host gets (RFC 7672 §2.2), over a hand-written DNS with signed and unsigned zones. */
class DaneLookupTest {
    private static final String EE = "3 1 1 " + "11".repeat(32);
    private static final String TA = "2 1 1 " + "22".repeat(32);
    private static final String PKIX = "1 1 1 " + "33".repeat(32);

    private final FakeDnsResolver dns =
            new FakeDnsResolver().signed("example.test").signed("hosting.test");
    private final DaneLookup lookup = new DaneLookup(dns);

    private DanePolicy lookUp(String host, boolean mxSecure) throws Exception {
        return lookup.lookUp(host, mxSecure, 25).get(5, TimeUnit.SECONDS);
    }

    @Test
    void secureAddressesAndUsableTlsaMakeDaneRequired() throws Exception {
        dns.a("mx.example.test", "192.0.2.1")
                .tlsa("_25._tcp.mx.example.test", EE)
                .tlsa("_25._tcp.mx.example.test", PKIX);
        DanePolicy.Required r =
                assertInstanceOf(DanePolicy.Required.class, lookUp("MX.example.test.", true));
        assertEquals("mx.example.test", r.mxHost());
        assertEquals("mx.example.test", r.tlsaBaseDomain());
        assertEquals(List.of(TlsaRecord.parse(EE), TlsaRecord.parse(PKIX)), r.records());
        assertEquals(List.of(TlsaRecord.parse(EE)), r.usable());
        assertEquals(
                List.of("TLSA _25._tcp.mx.example.test"),
                dns.queries().stream().filter(q -> q.startsWith("TLSA")).toList());
    }

    @Test
    void anInsecureMxRrsetMeansNoDaneAndNoLookups() throws Exception {
        dns.a("mx.example.test", "192.0.2.1").tlsa("_25._tcp.mx.example.test", EE);
        DanePolicy p = lookUp("mx.example.test", false);
        assertInstanceOf(DanePolicy.NotApplicable.class, p);
        assertTrue(dns.queries().isEmpty(), dns.queries().toString());
    }

    @Test
    void withInsecureMxDaneTheHostsOwnSecureTlsaRecordsApplyAfterAnInsecureMxRrset()
            throws Exception {
        dns.a("mx.example.test", "192.0.2.1").tlsa("_25._tcp.mx.example.test", EE);
        dns.a("mx.unsigned.test", "192.0.2.2").tlsa("_25._tcp.mx.unsigned.test", EE);
        DaneLookup postfixLike = new DaneLookup(dns, InsecureMxPolicy.DANE);
        DanePolicy.Required r =
                assertInstanceOf(
                        DanePolicy.Required.class,
                        postfixLike.lookUp("mx.example.test", false, 25).get(5, TimeUnit.SECONDS));
        assertEquals(List.of(TlsaRecord.parse(EE)), r.usable());
        // the host's own records must still be secure
        assertInstanceOf(
                DanePolicy.NotApplicable.class,
                postfixLike.lookUp("mx.unsigned.test", false, 25).get(5, TimeUnit.SECONDS));
    }

    @Test
    void insecureAddressRecordsMeanNoDane() throws Exception {
        dns.a("mx.unsigned.test", "192.0.2.1").tlsa("_25._tcp.mx.unsigned.test", EE);
        DanePolicy p = lookUp("mx.unsigned.test", true);
        assertTrue(
                assertInstanceOf(DanePolicy.NotApplicable.class, p)
                        .reason()
                        .contains("address records"),
                p.describe());
    }

    @Test
    void noTlsaRecordsMeanNoDane() throws Exception {
        dns.a("mx.example.test", "192.0.2.1");
        assertInstanceOf(DanePolicy.NotApplicable.class, lookUp("mx.example.test", true));
    }

    @Test
    void onlyUnusableRecordsLeaveTlsOpportunistic() throws Exception {
        dns.a("mx.example.test", "192.0.2.1").tlsa("_25._tcp.mx.example.test", PKIX);
        DanePolicy.Unusable u =
                assertInstanceOf(DanePolicy.Unusable.class, lookUp("mx.example.test", true));
        assertEquals(List.of(TlsaRecord.parse(PKIX)), u.records());
    }

    @Test
    void theExpandedNameOfASecureCnameIsTriedFirst() throws Exception {
        dns.cname("mx.example.test", "smtp.hosting.test")
                .a("smtp.hosting.test", "192.0.2.7")
                .tlsa("_25._tcp.smtp.hosting.test", TA)
                .tlsa("_25._tcp.mx.example.test", EE);
        DanePolicy.Required r =
                assertInstanceOf(DanePolicy.Required.class, lookUp("mx.example.test", true));
        assertEquals("smtp.hosting.test", r.tlsaBaseDomain());
        assertEquals(List.of(TlsaRecord.parse(TA)), r.records());
        assertEquals(List.of("mx.example.test", "smtp.hosting.test"), r.referenceNames());
    }

    @Test
    void theOriginalNameIsTriedWhenTheExpandedOneHasNoTlsa() throws Exception {
        dns.cname("mx.example.test", "smtp.hosting.test")
                .a("smtp.hosting.test", "192.0.2.7")
                .tlsa("_25._tcp.mx.example.test", EE);
        DanePolicy.Required r =
                assertInstanceOf(DanePolicy.Required.class, lookUp("mx.example.test", true));
        assertEquals("mx.example.test", r.tlsaBaseDomain());
        assertEquals(
                List.of("TLSA _25._tcp.smtp.hosting.test", "TLSA _25._tcp.mx.example.test"),
                dns.queries().stream().filter(q -> q.startsWith("TLSA")).toList());
    }

    @Test
    void aCnameIntoAnUnsignedZoneMeansNoDane() throws Exception {
        dns.cname("mx.example.test", "smtp.unsigned.test")
                .a("smtp.unsigned.test", "192.0.2.7")
                .tlsa("_25._tcp.mx.example.test", EE);
        assertInstanceOf(DanePolicy.NotApplicable.class, lookUp("mx.example.test", true));
    }

    @Test
    void anInsecureTlsaRrsetIsSkipped() throws Exception {
        // the TLSA name is an alias into an unsigned zone: not secure, so it does not count (RFC
        // 7672 §2.2.3)
        dns.a("mx.example.test", "192.0.2.1")
                .cname("_25._tcp.mx.example.test", "tlsa.unsigned.test")
                .tlsa("tlsa.unsigned.test", EE);
        assertInstanceOf(DanePolicy.NotApplicable.class, lookUp("mx.example.test", true));
    }

    @Test
    void aBogusOrFailedLookupIsADnssecFailureNotAFallback() throws Exception {
        dns.a("mx.example.test", "192.0.2.1")
                .tlsa("_25._tcp.mx.example.test", EE)
                .bogus("_25._tcp.mx.example.test");
        DanePolicy.Failed f =
                assertInstanceOf(DanePolicy.Failed.class, lookUp("mx.example.test", true));
        assertEquals(TlsFailureType.DNSSEC_INVALID, f.failureType());
        assertTrue(f.reason().contains("BOGUS"), f.reason());

        dns.answerNormally("_25._tcp.mx.example.test").servfail("_25._tcp.mx.example.test");
        assertInstanceOf(DanePolicy.Failed.class, lookUp("mx.example.test", true));

        dns.answerNormally("_25._tcp.mx.example.test").timeout("mx.example.test");
        assertInstanceOf(DanePolicy.Failed.class, lookUp("mx.example.test", true));
    }

    @Test
    void theServicePortNamesTheTlsaRecord() throws Exception {
        dns.a("mx.example.test", "192.0.2.1").tlsa("_2525._tcp.mx.example.test", EE);
        DanePolicy p = lookup.lookUp("mx.example.test", true, 2525).get(5, TimeUnit.SECONDS);
        assertInstanceOf(DanePolicy.Required.class, p);
        assertInstanceOf(DanePolicy.NotApplicable.class, lookUp("mx.example.test", true));
    }
}
