package org.tlsrelay.core.enforce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.PolicySource;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.testkit.TestCa;

/**
 * The DANE rows of the one decision (RFC 7672 §2.2, §3; RFC 8461 §2: DANE wins over MTA-STS, lists and overrides),
 * as a truth table with real certificates from a CA made in the test.
 */
class EnforcerDaneTest {
    private static final String MX = "mx.dane.test";
    private static final Instant NOW = Instant.now();
    private static final TestCa CA = TestCa.create("Enforcer DANE CA");
    private static final TestCa.Issued LEAF = CA.issue(MX);
    private static final TestCa.Issued OTHER = CA.issue(MX);
    private static final TestCa.Issued WRONG_NAME = CA.issue("other.example.net");

    /**
     * dane: what DANE says (required-ee: 3 1 1 of the leaf; required-ta: 2 1 1 of the CA; failed: bogus; none: not
     * applicable); policy: the domain's mode, with an MX pattern that does NOT match the host; starttls: offered,
     * absent, rejected; cert: the presented leaf (leaf, other: another key, wrong-name: CA-signed, other name);
     * trusted: the PKIX verdict of the trust store.
     */
    @ParameterizedTest(name = "dane={0} policy={1} starttls={2} cert={3} trusted={4} -> {5} {6}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            # dane      | policy  | starttls | cert       | trusted | verdict       | failure
            required-ee | ENFORCE | offered  | leaf       | n       | deliver-tls   | -
            required-ee | NONE    | offered  | leaf       | n       | deliver-tls   | -
            required-ee | TESTING | offered  | leaf       | y       | deliver-tls   | -
            required-ee | ENFORCE | offered  | other      | y       | refuse        | tlsa-invalid
            required-ee | NONE    | offered  | other      | y       | refuse        | tlsa-invalid
            required-ee | TESTING | offered  | other      | y       | refuse        | tlsa-invalid
            required-ee | NONE    | absent   | -          | -       | refuse        | dane-required
            required-ee | TESTING | rejected | -          | -       | refuse        | dane-required
            required-ee | NONE    | offered  | broken     | -       | refuse        | validation-failure
            required-ee | NONE    | offered  | wrong-name | y       | refuse        | tlsa-invalid
            required-ta | ENFORCE | offered  | leaf       | n       | deliver-tls   | -
            required-ta | NONE    | offered  | other      | n       | deliver-tls   | -
            required-ta | NONE    | offered  | wrong-name | y       | refuse        | tlsa-invalid
            required-ta | NONE    | absent   | -          | -       | refuse        | dane-required
            failed      | NONE    | offered  | leaf       | y       | refuse        | dnssec-invalid
            failed      | TESTING | absent   | -          | -       | refuse        | dnssec-invalid
            none        | NONE    | absent   | -          | -       | deliver-clear | starttls-not-supported
            none        | ENFORCE | offered  | leaf       | y       | refuse        | validation-failure
            none        | TESTING | offered  | other      | n       | deliver-tls   | certificate-not-trusted
            """)
    void daneDecidesPerMxBeforeTheDomainsPolicy(
            String dane,
            PolicyMode mode,
            String starttls,
            String cert,
            String trusted,
            String verdict,
            String failure)
            throws Exception {
        MxPolicy context = new MxPolicy(context(mode), dane(dane));
        Verdict v =
                judge(
                        context,
                        TlsRequirement.POLICY,
                        observation(starttls, cert, "y".equals(trusted)));
        assertEquals(verdict, v.label(), v::toString);
        assertEquals(
                failure,
                v.result() instanceof TlsResult.Failure f ? f.type().resultType() : "-",
                v::toString);
    }

    /**
     * The message's own requirement (RFC 8689): REQUIRETLS only over TLS that DANE or an enforced policy (here one
     * that lists the MX) authenticated, else {@code 5.7.30}; {@code TLS-Required: No} delivers despite any refusal.
     */
    @ParameterizedTest(
            name = "{0} dane={1} policy={2} starttls={3} cert={4} trusted={5} -> {6} {7}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            # requirement | dane        | policy  | starttls | cert  | trusted | verdict       | code
            REQUIRETLS    | none        | ENFORCE | offered  | leaf  | y       | deliver-tls   | -
            REQUIRETLS    | none        | ENFORCE | offered  | leaf  | n       | refuse        | 4.7.5
            REQUIRETLS    | none        | TESTING | offered  | leaf  | y       | refuse        | 5.7.30
            REQUIRETLS    | none        | NONE    | offered  | leaf  | y       | refuse        | 5.7.30
            REQUIRETLS    | required-ee | NONE    | offered  | leaf  | n       | deliver-tls   | -
            REQUIRETLS    | required-ee | NONE    | offered  | other | y       | refuse        | 4.7.5
            REQUIRETLS    | failed      | ENFORCE | offered  | leaf  | y       | refuse        | 4.7.5
            TLS_OPTIONAL  | required-ee | NONE    | offered  | other | y       | deliver-tls   | -
            TLS_OPTIONAL  | required-ee | NONE    | absent   | -     | -       | deliver-clear | -
            TLS_OPTIONAL  | none        | ENFORCE | offered  | leaf  | n       | deliver-tls   | -
            TLS_OPTIONAL  | failed      | ENFORCE | absent   | -     | -       | deliver-clear | -
            POLICY        | none        | ENFORCE | offered  | leaf  | n       | refuse        | 4.7.5
            """)
    void theMessagesTlsRequirementComesOnTopOfThePolicy(
            TlsRequirement requirement,
            String dane,
            PolicyMode mode,
            String starttls,
            String cert,
            String trusted,
            String verdict,
            String code)
            throws Exception {
        MxPolicy context =
                new MxPolicy(
                        ResolvedPolicy.override(
                                "dane.test",
                                new Policy(mode, List.of(MxPattern.ofMtaSts(MX))),
                                false,
                                "test"),
                        dane(dane));
        Verdict v = judge(context, requirement, observation(starttls, cert, "y".equals(trusted)));
        assertEquals(verdict, v.label(), v::toString);
        assertEquals(code, v instanceof Verdict.Refuse r ? r.enhancedCode() : "-", v::toString);
    }

    @Test
    void daneRecordsMakeTheMxPatternsIrrelevantBeforeConnecting() throws Exception {
        // the enforced policy does not list the host: without DANE it is skipped, with DANE it is
        // tried
        assertInstanceOf(
                Admission.Skip.class,
                Enforcer.beforeConnect(
                        MxPolicy.domainWide(context(PolicyMode.ENFORCE)),
                        MX,
                        TlsRequirement.POLICY));
        assertInstanceOf(
                Admission.Connect.class,
                Enforcer.beforeConnect(
                        new MxPolicy(context(PolicyMode.ENFORCE), dane("required-ee")),
                        MX,
                        TlsRequirement.POLICY));
    }

    @Test
    void aDnssecFailureKeepsTheMxWaitingWithoutConnecting() throws Exception {
        Admission skip =
                Enforcer.beforeConnect(
                        new MxPolicy(context(PolicyMode.NONE), dane("failed")),
                        MX,
                        TlsRequirement.POLICY);
        Verdict.Refuse refusal = assertInstanceOf(Admission.Skip.class, skip).refusal();
        assertEquals(TlsFailureType.DNSSEC_INVALID, refusal.failure());
        assertEquals(Enforcer.POLICY_FAILURE_CODE, refusal.enhancedCode());
    }

    @Test
    void aDaneContextIsReportedAsATlsaPolicyWithItsRecords() throws Exception {
        MxPolicy context = new MxPolicy(context(PolicyMode.ENFORCE), dane("required-ee"));
        assertTrue(context.daneApplies());
        assertEquals(List.of(tlsa(3, LEAF.certificate()).toString()), context.policyText());
        MxPolicy unusable =
                new MxPolicy(
                        context(PolicyMode.ENFORCE),
                        new DanePolicy.Unusable(
                                MX, MX, List.of(new TlsaRecord(1, 1, 1, new byte[32]))));
        assertFalse(unusable.daneApplies());
        assertEquals(PolicySource.OVERRIDE, unusable.domainPolicy().source());
    }

    /**
     * The decision as the delivery engine asks it: before connecting, then, when allowed, over the session; the MX
     * advertises REQUIRETLS (the rows above are about the policies, not the extension).
     */
    private static Verdict judge(
            MxPolicy policy, TlsRequirement requirement, TlsObservation observation) {
        Admission admission = Enforcer.beforeConnect(policy, MX, requirement);
        if (admission instanceof Admission.Skip skip) {
            return skip.refusal();
        }
        return Enforcer.decide(
                (Admission.Connect) admission,
                new MxObservation(observation, Set.of("PIPELINING", "REQUIRETLS")),
                NOW);
    }

    private static ResolvedPolicy context(PolicyMode mode) {
        return ResolvedPolicy.override(
                "dane.test",
                new Policy(mode, List.of(MxPattern.ofMtaSts("mx.elsewhere.test"))),
                false,
                "test");
    }

    private static DanePolicy dane(String which) throws Exception {
        return switch (which) {
            case "required-ee" ->
                    new DanePolicy.Required(MX, MX, List.of(tlsa(3, LEAF.certificate())));
            case "required-ta" ->
                    new DanePolicy.Required(MX, MX, List.of(tlsa(2, CA.certificate())));
            case "failed" ->
                    new DanePolicy.Failed(MX, "TLSA look-up: DNSSEC validation failed (bogus)");
            case "none" -> new DanePolicy.NotApplicable(MX, "the MX records are not signed");
            default -> throw new IllegalArgumentException(which);
        };
    }

    /** {@code usage 1 1}: SHA-256 of the certificate's SubjectPublicKeyInfo. */
    private static TlsaRecord tlsa(int usage, X509Certificate c) throws Exception {
        return new TlsaRecord(
                usage,
                1,
                1,
                MessageDigest.getInstance("SHA-256").digest(c.getPublicKey().getEncoded()));
    }

    private static TlsObservation observation(String starttls, String cert, boolean trusted) {
        return switch (starttls) {
            case "absent" -> TlsObservation.notOffered();
            case "rejected" -> new TlsObservation.StartTlsRejected("454 4.7.0 TLS not available");
            default ->
                    switch (cert) {
                        case "broken" ->
                                new TlsObservation.HandshakeFailed(
                                        "Received fatal alert: handshake_failure");
                        default ->
                                established(
                                        switch (cert) {
                                            case "leaf" -> LEAF;
                                            case "other" -> OTHER;
                                            default -> WRONG_NAME;
                                        },
                                        trusted);
                    };
        };
    }

    private static TlsObservation established(TestCa.Issued issued, boolean trusted) {
        X509Certificate c = issued.certificate();
        PeerCertificate peer =
                new PeerCertificate(
                        c.getSubjectX500Principal().getName(),
                        c.getIssuerX500Principal().getName(),
                        List.of(MX),
                        List.of(),
                        c.getNotBefore().toInstant(),
                        c.getNotAfter().toInstant());
        return new TlsObservation.Established(
                "TLSv1.3",
                "TLS_AES_128_GCM_SHA256",
                trusted,
                trusted ? "" : "PKIX path building failed",
                CertificateValidity.VALID,
                true,
                peer,
                List.of(c, CA.certificate()));
    }
}
