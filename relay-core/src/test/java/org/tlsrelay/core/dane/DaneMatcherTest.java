package org.tlsrelay.core.dane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.testkit.TestCa;

/**
 * DANE for SMTP's certificate decision (RFC 7672 §3) as a truth table, with certificates from a CA made in the test
 * and the TLSA data computed here (SHA-256/512 of the DER certificate or of its SubjectPublicKeyInfo).
 */
class DaneMatcherTest {
    private static final Instant NOW = Instant.now();
    private static final List<String> NAMES = List.of("mx.example.test", "mx.hosting.test");

    private static final TestCa CA = TestCa.create("DANE Test CA");
    private static final TestCa OTHER_CA = TestCa.create("Other CA");
    private static final Map<String, X509Certificate> LEAVES =
            Map.of(
                    "ok", CA.issue("mx.example.test").certificate(),
                    "base-name", CA.issue("mx.hosting.test").certificate(),
                    "wildcard", CA.issue("*.example.test").certificate(),
                    "wrong-name", CA.issue("other.example.net").certificate(),
                    "expired",
                            CA.issue(
                                            NOW.minus(Duration.ofDays(30)),
                                            NOW.minus(Duration.ofDays(1)),
                                            "mx.example.test")
                                    .certificate(),
                    "other-ca", OTHER_CA.issue("mx.example.test").certificate());

    private static byte[] sha(String algorithm, byte[] data) throws Exception {
        return MessageDigest.getInstance(algorithm).digest(data);
    }

    /** A TLSA record made here: {@code usage selector type} over {@code c} (SPKI as the JDK encodes the key). */
    static TlsaRecord tlsa(int usage, int selector, int type, X509Certificate c) throws Exception {
        byte[] selected = selector == 0 ? c.getEncoded() : c.getPublicKey().getEncoded();
        byte[] data =
                switch (type) {
                    case 0 -> selected;
                    case 1 -> sha("SHA-256", selected);
                    default -> sha("SHA-512", selected);
                };
        return new TlsaRecord(usage, selector, type, data);
    }

    private static X509Certificate subject(String which, X509Certificate leaf) {
        return switch (which) {
            case "leaf" -> leaf;
            case "ca" -> CA.certificate();
            case "other-ca" -> OTHER_CA.certificate();
            default -> throw new IllegalArgumentException(which);
        };
    }

    @ParameterizedTest(name = "{0} over {1} from {2}, chain {3}: {4}")
    @CsvSource({
        // record            , over      , leaf       , chain sent, outcome
        // DANE-EE(3): the leaf's key or certificate; no name check, no expiry check (RFC 7672
        // §3.1.1)
        "3 1 1 , leaf , ok         , leaf+ca , match",
        "3 0 1 , leaf , ok         , leaf+ca , match",
        "3 1 2 , leaf , ok         , leaf    , match",
        "3 1 0 , leaf , ok         , leaf    , match",
        "3 0 0 , leaf , ok         , leaf    , match",
        "3 1 1 , leaf , wrong-name , leaf+ca , match",
        "3 1 1 , leaf , expired    , leaf+ca , match",
        "3 1 1 , leaf , other-ca   , leaf    , match",
        "3 1 1 , ca   , ok         , leaf+ca , no-match",
        // DANE-TA(2): a certificate of the chain (or a full key) issues the leaf, which must name
        // the MX host or the TLSA base domain and be valid (RFC 7672 §3.1.2, §3.2.2)
        "2 1 1 , ca   , ok         , leaf+ca , match",
        "2 0 1 , ca   , ok         , leaf+ca , match",
        "2 0 2 , ca   , ok         , leaf+ca , match",
        "2 1 1 , ca   , base-name  , leaf+ca , match",
        "2 1 1 , ca   , wildcard   , leaf+ca , match",
        "2 1 0 , ca   , ok         , leaf    , match",
        "2 1 1 , ca   , ok         , leaf    , no-match",
        "2 1 1 , ca   , wrong-name , leaf+ca , no-match",
        "2 1 1 , ca   , expired    , leaf+ca , no-match",
        "2 1 1 , ca   , other-ca   , leaf+ca , no-match",
        "2 1 1 , other-ca , other-ca , leaf+other , match",
        "2 1 1 , other-ca , ok     , leaf+ca+other , no-match",
        "2 1 0 , other-ca , ok     , leaf    , no-match",
        // PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP: opportunistic TLS (RFC 7672 §3.1.3)
        "1 1 1 , leaf , ok         , leaf+ca , unusable",
        "0 1 1 , ca   , ok         , leaf+ca , unusable",
    })
    void decidesAsRfc7672Section3Says(
            String params, String over, String leafKind, String chain, String outcome)
            throws Exception {
        String[] p = params.split(" ");
        X509Certificate leaf = LEAVES.get(leafKind);
        TlsaRecord record =
                tlsa(
                        Integer.parseInt(p[0]),
                        Integer.parseInt(p[1]),
                        Integer.parseInt(p[2]),
                        subject(over, leaf));
        List<X509Certificate> presented =
                switch (chain) {
                    case "leaf" -> List.of(leaf);
                    case "leaf+ca" -> List.of(leaf, CA.certificate());
                    case "leaf+other" -> List.of(leaf, OTHER_CA.certificate());
                    case "leaf+ca+other" -> List.of(leaf, CA.certificate(), OTHER_CA.certificate());
                    default -> throw new IllegalArgumentException(chain);
                };
        DaneMatch m = DaneMatcher.match(List.of(record), presented, NAMES, NOW);
        switch (outcome) {
            case "match" ->
                    assertEquals(
                            record,
                            assertInstanceOf(DaneMatch.Matched.class, m, m.describe()).record());
            case "no-match" ->
                    assertEquals(
                            TlsFailureType.TLSA_INVALID,
                            assertInstanceOf(DaneMatch.NoMatch.class, m, m.describe())
                                    .failureType());
            default -> assertInstanceOf(DaneMatch.Unusable.class, m, m.describe());
        }
    }

    @Test
    void anyUsableRecordOfTheSetMayMatch() throws Exception {
        X509Certificate leaf = LEAVES.get("ok");
        TlsaRecord stale = tlsa(3, 1, 1, LEAVES.get("other-ca"));
        TlsaRecord pkix = tlsa(1, 1, 1, leaf);
        TlsaRecord ta = tlsa(2, 1, 1, CA.certificate());
        DaneMatch m =
                DaneMatcher.match(
                        List.of(pkix, stale, ta), List.of(leaf, CA.certificate()), NAMES, NOW);
        DaneMatch.Matched matched = assertInstanceOf(DaneMatch.Matched.class, m, m.describe());
        assertEquals(ta, matched.record());
        assertEquals(1, matched.depth());
    }

    @Test
    void aNoMatchSaysWhatEachRecordMissed() throws Exception {
        X509Certificate leaf = LEAVES.get("wrong-name");
        DaneMatch m =
                DaneMatcher.match(
                        List.of(tlsa(3, 1, 1, LEAVES.get("ok")), tlsa(2, 1, 1, CA.certificate())),
                        List.of(leaf, CA.certificate()),
                        NAMES,
                        NOW);
        String reason = assertInstanceOf(DaneMatch.NoMatch.class, m).reason();
        assertTrue(reason.contains("no DANE-EE(3) record matches"), reason);
        assertTrue(
                reason.contains("other.example.net") && reason.contains("mx.example.test"), reason);
    }

    @Test
    void anEmptyChainMatchesNothing() throws Exception {
        DaneMatch m =
                DaneMatcher.match(List.of(tlsa(3, 1, 1, LEAVES.get("ok"))), List.of(), NAMES, NOW);
        assertFalse(m.matched());
        assertInstanceOf(DaneMatch.NoMatch.class, m);
    }

    @Test
    void malformedRecordsAreUnusable() {
        assertFalse(
                new TlsaRecord(3, 1, 1, new byte[31]).usable(), "SHA-256 data must be 32 octets");
        assertFalse(
                new TlsaRecord(3, 1, 2, new byte[32]).usable(), "SHA-512 data must be 64 octets");
        assertFalse(new TlsaRecord(3, 2, 1, new byte[32]).usable(), "selector 2 is unassigned");
        assertFalse(
                new TlsaRecord(3, 1, 3, new byte[32]).usable(), "matching type 3 is unassigned");
        assertFalse(new TlsaRecord(4, 1, 1, new byte[32]).usable(), "usage 4 is unassigned");
        assertTrue(new TlsaRecord(2, 0, 0, new byte[1]).usable());
        DaneMatch m =
                DaneMatcher.match(
                        List.of(new TlsaRecord(3, 1, 1, new byte[31])),
                        List.of(LEAVES.get("ok")),
                        NAMES,
                        NOW);
        assertInstanceOf(DaneMatch.Unusable.class, m);
    }

    @Test
    void presentationFormRoundTrips() {
        TlsaRecord r = TlsaRecord.parse("3 1 1 0A0b 0c0D");
        assertEquals("3 1 1 0a0b0c0d", r.toString());
        assertEquals(r, TlsaRecord.parse(r.toString()));
        assertEquals(HexFormat.of().parseHex("0a0b0c0d").length, r.data().length);
        assertThrows(IllegalArgumentException.class, () -> TlsaRecord.parse("3 1 1"));
        assertThrows(IllegalArgumentException.class, () -> TlsaRecord.parse("3 1 x 00"));
        assertThrows(IllegalArgumentException.class, () -> TlsaRecord.parse("256 1 1 00"));
    }

    @Test
    void requiredPolicyMatchesWithTheMxHostAndTheBaseDomainAsNames() throws Exception {
        DanePolicy.Required p =
                new DanePolicy.Required(
                        "mx.example.test",
                        "mx.hosting.test",
                        List.of(tlsa(2, 1, 1, CA.certificate()), tlsa(1, 1, 1, CA.certificate())));
        assertEquals(List.of("mx.example.test", "mx.hosting.test"), p.referenceNames());
        assertEquals(1, p.usable().size());
        assertTrue(p.match(List.of(LEAVES.get("base-name"), CA.certificate()), NOW).matched());
        assertTrue(p.match(List.of(LEAVES.get("ok"), CA.certificate()), NOW).matched());
        assertFalse(p.match(List.of(LEAVES.get("wrong-name"), CA.certificate()), NOW).matched());
        assertThrows(
                IllegalArgumentException.class,
                () ->
                        new DanePolicy.Required(
                                "mx.example.test",
                                "mx.example.test",
                                List.of(tlsa(1, 1, 1, CA.certificate()))));
    }
}
