package org.tlsrelay.core.enforce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.testkit.TestPolicies;

class EnforcerTest {
    private static final String LISTED_MX = "mx1.example.net";
    private static final String UNLISTED_MX = "mx.elsewhere.org";

    /**
     * The whole decision as a truth table. starttls: offered, absent (not in EHLO), rejected (454 to STARTTLS);
     * hs (handshake completed), trust (chain trusted), name (certificate names the MX) and mx (MX host matched by a
     * policy pattern) are y/n; validity is VALID, EXPIRED or NOT_YET_VALID; the expected failure is an RFC 8460
     * result type or '-' for success.
     */
    @ParameterizedTest(
            name = "{0} starttls={1} handshake={2} trusted={3} {4} name={5} mx={6} -> {7} {8}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            # mode  | starttls | hs | trust | validity      | name | mx | verdict       | failure
            ENFORCE | offered  | y  | y     | VALID         | y    | y  | deliver-tls   | -
            ENFORCE | absent   | -  | -     | -             | -    | y  | refuse        | starttls-not-supported
            ENFORCE | rejected | -  | -     | -             | -    | y  | refuse        | starttls-not-supported
            ENFORCE | offered  | n  | -     | -             | -    | y  | refuse        | validation-failure
            ENFORCE | offered  | y  | n     | VALID         | y    | y  | refuse        | certificate-not-trusted
            ENFORCE | offered  | y  | y     | EXPIRED       | y    | y  | refuse        | certificate-expired
            ENFORCE | offered  | y  | y     | NOT_YET_VALID | y    | y  | refuse        | validation-failure
            ENFORCE | offered  | y  | y     | VALID         | n    | y  | refuse        | certificate-host-mismatch
            ENFORCE | offered  | y  | y     | VALID         | y    | n  | refuse        | validation-failure
            ENFORCE | offered  | y  | n     | EXPIRED       | n    | n  | refuse        | certificate-not-trusted
            ENFORCE | offered  | y  | y     | EXPIRED       | n    | y  | refuse        | certificate-expired
            ENFORCE | absent   | -  | -     | -             | -    | n  | refuse        | starttls-not-supported
            TESTING | offered  | y  | y     | VALID         | y    | y  | deliver-tls   | -
            TESTING | absent   | -  | -     | -             | -    | y  | deliver-clear | starttls-not-supported
            TESTING | rejected | -  | -     | -             | -    | y  | deliver-clear | starttls-not-supported
            TESTING | offered  | n  | -     | -             | -    | y  | deliver-clear | validation-failure
            TESTING | offered  | y  | n     | VALID         | y    | y  | deliver-tls   | certificate-not-trusted
            TESTING | offered  | y  | y     | EXPIRED       | y    | y  | deliver-tls   | certificate-expired
            TESTING | offered  | y  | y     | NOT_YET_VALID | y    | y  | deliver-tls   | validation-failure
            TESTING | offered  | y  | y     | VALID         | n    | y  | deliver-tls   | certificate-host-mismatch
            TESTING | offered  | y  | y     | VALID         | y    | n  | deliver-tls   | validation-failure
            TESTING | absent   | -  | -     | -             | -    | n  | deliver-clear | starttls-not-supported
            NONE    | offered  | y  | y     | VALID         | y    | n  | deliver-tls   | -
            NONE    | absent   | -  | -     | -             | -    | n  | deliver-clear | starttls-not-supported
            NONE    | rejected | -  | -     | -             | -    | n  | deliver-clear | starttls-not-supported
            NONE    | offered  | n  | -     | -             | -    | n  | deliver-clear | validation-failure
            NONE    | offered  | y  | n     | VALID         | y    | n  | deliver-tls   | certificate-not-trusted
            NONE    | offered  | y  | y     | EXPIRED       | y    | n  | deliver-tls   | certificate-expired
            NONE    | offered  | y  | y     | VALID         | n    | n  | deliver-tls   | certificate-host-mismatch
            NONE    | offered  | y  | n     | EXPIRED       | n    | n  | deliver-tls   | certificate-not-trusted
            """)
    void decidesByModeAndObservation(
            PolicyMode mode,
            String starttls,
            String handshake,
            String trusted,
            String validity,
            String name,
            String listed,
            String verdict,
            String failure) {
        Policy policy = policy(mode);
        String mx = yes(listed) ? LISTED_MX : UNLISTED_MX;
        TlsObservation observation = observation(starttls, handshake, trusted, validity, name);

        Verdict v = Enforcer.decide(policy, mx, observation);

        assertEquals(verdict, v.label());
        assertEquals(failure, resultType(v.result()));
        if (v instanceof Verdict.Refuse r) {
            assertEquals("4.7.5", r.enhancedCode());
            assertEquals(failure, r.failure().resultType());
            assertTrue(r.replyText().startsWith("4.7.5 "), r.replyText());
            assertTrue(r.reason().contains(mx), r.reason());
        }
    }

    @ParameterizedTest(name = "{0} listed={1} -> skip={2}")
    @CsvSource({
        "ENFORCE, y, n",
        "ENFORCE, n, y",
        "TESTING, y, n",
        "TESTING, n, n",
        "NONE, n, n",
    })
    void skipsAnUnlistedMxBeforeConnectingOnlyUnderEnforce(
            PolicyMode mode, String listed, String skip) {
        Optional<Verdict.Refuse> refuse =
                Enforcer.beforeConnect(policy(mode), yes(listed) ? LISTED_MX : UNLISTED_MX);
        assertEquals(yes(skip), refuse.isPresent());
        refuse.ifPresent(
                r -> {
                    assertEquals(TlsFailureType.VALIDATION_FAILURE, r.failure());
                    assertTrue(r.reason().contains("*.example.net"), r.reason());
                });
    }

    @Test
    void matchesMxPatternsCaseInsensitivelyWithATrailingDot() {
        Verdict v =
                Enforcer.decide(
                        policy(PolicyMode.ENFORCE),
                        "MX1.Example.NET.",
                        established(true, CertificateValidity.VALID, true));
        assertInstanceOf(Verdict.DeliverOverTls.class, v);
        assertInstanceOf(TlsResult.Success.class, v.result());
    }

    @Test
    void noPolicyIsOpportunistic() {
        ResolvedPolicy none = TestPolicies.none("Example.COM");
        assertEquals("example.com", none.domain());
        assertEquals(PolicyMode.NONE, none.mode());
        assertInstanceOf(
                Verdict.DeliverInClear.class,
                Enforcer.decide(none.policy(), UNLISTED_MX, TlsObservation.notOffered()));
        assertEquals(Optional.empty(), Enforcer.beforeConnect(none.policy(), UNLISTED_MX));
    }

    private static Policy policy(PolicyMode mode) {
        return mode == PolicyMode.NONE
                ? new Policy(mode, List.of())
                : new Policy(mode, List.of(MxPattern.ofMtaSts("*.example.net")));
    }

    private static TlsObservation observation(
            String starttls, String handshake, String trusted, String validity, String name) {
        return switch (starttls) {
            case "absent" -> TlsObservation.notOffered();
            case "rejected" -> new TlsObservation.StartTlsRejected("454 4.7.0 TLS not available");
            case "offered" ->
                    yes(handshake)
                            ? established(
                                    yes(trusted), CertificateValidity.valueOf(validity), yes(name))
                            : new TlsObservation.HandshakeFailed(
                                    "Received fatal alert: handshake_failure");
            default -> throw new IllegalArgumentException(starttls);
        };
    }

    private static TlsObservation established(
            boolean trusted, CertificateValidity validity, boolean name) {
        PeerCertificate peer =
                new PeerCertificate(
                        "CN=mx1.example.net",
                        "CN=Test CA",
                        List.of("mx1.example.net"),
                        List.of(),
                        Instant.parse("2024-01-01T00:00:00Z"),
                        Instant.parse("2025-01-01T00:00:00Z"));
        return new TlsObservation.Established(
                "TLSv1.3",
                "TLS_AES_128_GCM_SHA256",
                trusted,
                trusted ? "" : "PKIX path building failed",
                validity,
                name,
                peer);
    }

    private static String resultType(TlsResult result) {
        return result instanceof TlsResult.Failure f ? f.type().resultType() : "-";
    }

    private static boolean yes(String flag) {
        return "y".equals(flag);
    }
}
