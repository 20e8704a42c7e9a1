package org.tlsrelay.core.enforce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tlsrelay.core.dane.DanePolicy;
import org.tlsrelay.core.dns.TlsaRecord;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.testkit.TestCa;

/**
 * The message's own TLS requirement (RFC 8689) on top of the policies, as the whole decision the delivery engine
 * asks: before connecting (once per MX host), after EHLO/STARTTLS (with the EHLO keywords the MX advertised), and
 * once every MX host was walked. Every refusal, deferral and escalation, and what TLS-RPT records of each, is a value
 * in these tables; nothing is recognised by its reply code.
 */
class EnforcerRequirementTest {
    private static final String MX = "mx.req.test";
    private static final Instant NOW = Instant.now();
    private static final TestCa CA = TestCa.create("Enforcer requirement CA");
    private static final TestCa.Issued LEAF = CA.issue(MX);
    private static final TestCa.Issued OTHER = CA.issue(MX);

    /**
     * requirement: POLICY (nothing asked), REQUIRETLS ({@code MAIL FROM ... REQUIRETLS}), TLS_OPTIONAL
     * ({@code TLS-Required: No}); dane: none, required (3 1 1 of the leaf), failed (bogus); mode and listed: the
     * domain's policy and whether its MX pattern matches the host; tls: good (trusted leaf naming the host), other
     * (trusted, another key), untrusted, none (no STARTTLS), broken (handshake failed); adv: whether the MX advertised
     * REQUIRETLS after STARTTLS. Expected: whether the host is connected to, the verdict, on what ground and with
     * which code it is refused, what TLS-RPT records (result type / verdict, or none), and whether MAIL FROM carries
     * REQUIRETLS.
     */
    @ParameterizedTest(
            name = "{0} dane={1} {2} listed={3} tls={4} adv={5} -> {6} {7} {8} {9} {10} {11}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            # requirement | dane     | mode    | listed | tls       | adv | admission | verdict       | ground     | code   | reported                                 | param
            REQUIRETLS    | none     | ENFORCE | y      | good      | y   | connect   | deliver-tls   | -          | -      | success/deliver-tls                      | y
            REQUIRETLS    | none     | ENFORCE | y      | good      | n   | connect   | refuse        | REQUIRETLS | 5.7.30 | success/deliver-tls                      | -
            REQUIRETLS    | none     | ENFORCE | y      | untrusted | y   | connect   | refuse        | TLS_POLICY | 4.7.5  | certificate-not-trusted/refuse           | -
            REQUIRETLS    | none     | ENFORCE | y      | none      | y   | connect   | refuse        | TLS_POLICY | 4.7.5  | starttls-not-supported/refuse            | -
            REQUIRETLS    | none     | ENFORCE | n      | good      | y   | skip      | refuse        | TLS_POLICY | 4.7.5  | validation-failure/refuse                | -
            REQUIRETLS    | none     | TESTING | y      | good      | y   | skip      | refuse        | REQUIRETLS | 5.7.30 | none                                     | -
            REQUIRETLS    | none     | NONE    | n      | good      | y   | skip      | refuse        | REQUIRETLS | 5.7.30 | none                                     | -
            REQUIRETLS    | required | NONE    | n      | good      | y   | connect   | deliver-tls   | -          | -      | success/deliver-tls                      | y
            REQUIRETLS    | required | TESTING | n      | good      | n   | connect   | refuse        | REQUIRETLS | 5.7.30 | success/deliver-tls                      | -
            REQUIRETLS    | required | NONE    | n      | other     | y   | connect   | refuse        | TLS_POLICY | 4.7.5  | tlsa-invalid/refuse                      | -
            REQUIRETLS    | failed   | ENFORCE | y      | good      | y   | skip      | refuse        | TLS_POLICY | 4.7.5  | dnssec-invalid/refuse                    | -
            TLS_OPTIONAL  | none     | ENFORCE | n      | good      | n   | connect   | deliver-tls   | -          | -      | validation-failure/deliver-tls           | n
            TLS_OPTIONAL  | none     | ENFORCE | y      | none      | n   | connect   | deliver-clear | -          | -      | starttls-not-supported/deliver-clear     | n
            TLS_OPTIONAL  | none     | ENFORCE | y      | untrusted | y   | connect   | deliver-tls   | -          | -      | certificate-not-trusted/deliver-tls      | n
            TLS_OPTIONAL  | none     | NONE    | n      | broken    | n   | connect   | deliver-clear | -          | -      | validation-failure/deliver-clear         | n
            TLS_OPTIONAL  | failed   | ENFORCE | y      | good      | n   | connect   | deliver-tls   | -          | -      | dnssec-invalid/deliver-tls               | n
            TLS_OPTIONAL  | required | NONE    | n      | other     | n   | connect   | deliver-tls   | -          | -      | tlsa-invalid/deliver-tls                 | n
            TLS_OPTIONAL  | required | NONE    | n      | none      | n   | connect   | deliver-clear | -          | -      | dane-required/deliver-clear              | n
            POLICY        | none     | ENFORCE | y      | good      | y   | connect   | deliver-tls   | -          | -      | success/deliver-tls                      | n
            POLICY        | none     | ENFORCE | n      | good      | n   | skip      | refuse        | TLS_POLICY | 4.7.5  | validation-failure/refuse                | -
            POLICY        | none     | TESTING | y      | untrusted | n   | connect   | deliver-tls   | -          | -      | certificate-not-trusted/deliver-tls      | n
            POLICY        | failed   | NONE    | n      | good      | n   | skip      | refuse        | TLS_POLICY | 4.7.5  | dnssec-invalid/refuse                    | -
            """)
    void theMessagesRequirementComesOnTopOfThePolicies(
            TlsRequirement requirement,
            String dane,
            PolicyMode mode,
            String listed,
            String tls,
            String advertised,
            String admission,
            String verdict,
            String ground,
            String code,
            String reported,
            String param)
            throws Exception {
        MxPolicy policy = new MxPolicy(domainPolicy(mode, yes(listed)), dane(dane));

        Admission a = Enforcer.beforeConnect(policy, MX, requirement);
        Verdict v =
                a instanceof Admission.Connect permit
                        ? Enforcer.decide(permit, observation(tls, yes(advertised)), NOW)
                        : ((Admission.Skip) a).refusal();

        assertEquals(admission, a instanceof Admission.Connect ? "connect" : "skip", v::toString);
        assertEquals(verdict, v.label(), v::toString);
        assertEquals(ground, v instanceof Verdict.Refuse r ? r.ground().name() : "-", v::toString);
        assertEquals(code, v instanceof Verdict.Refuse r ? r.enhancedCode() : "-", v::toString);
        assertEquals(
                reported,
                v.reported().map(x -> resultType(x.result()) + "/" + x.verdict()).orElse("none"),
                v::toString);
        assertEquals(
                param,
                v instanceof Verdict.Deliver d ? (d.requireTls() ? "y" : "n") : "-",
                v::toString);
        if (v instanceof Verdict.Refuse r) {
            assertTrue(r.replyText().startsWith(code + " "), r.replyText());
            assertTrue(r.reason().contains(MX), r.reason());
        }
    }

    /**
     * hosts: the domain's MX hosts; refusals: host:ground for each refusal met, in order; transacted: whether some MX
     * ran a mail transaction. Expected: fail (5.7.30, RFC 8689 §4.2.1), defer (4.7.5, RFC 8461 §5.1) or nothing (the
     * connection problems and the MXs' own replies decide), and whose reason the reply carries.
     */
    @ParameterizedTest(name = "hosts={0} refusals={1} transacted={2} -> {3} {4} {5}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
            # hosts   | refusals                       | transacted | verdict | reply                                                                   | about
            mx1 mx2   | mx1:REQUIRETLS mx2:REQUIRETLS  | n          | fail    | 550 5.7.30 REQUIRETLS support required: no MX of req.test qualifies (last: | mx2
            mx1       | mx1:TLS_POLICY mx1:REQUIRETLS  | n          | fail    | 550 5.7.30 REQUIRETLS support required: no MX of req.test qualifies (last: | mx1
            mx1 mx2   | mx1:REQUIRETLS                 | n          | none    | -                                                                       | -
            mx1 mx2   | mx1:REQUIRETLS mx2:TLS_POLICY  | n          | defer   | 451 4.7.5                                                               | mx2
            mx1 mx2   | mx1:TLS_POLICY mx2:TLS_POLICY  | n          | defer   | 451 4.7.5                                                               | mx1
            mx1 mx2   | mx1:TLS_POLICY                 | y          | none    | -                                                                       | -
            mx1       | -                              | n          | none    | -                                                                       | -
            """)
    void whatTheRefusalsMeanOnceEveryMxWasWalked(
            String hosts,
            String refusals,
            String transacted,
            String verdict,
            String reply,
            String about)
            throws Exception {
        List<MxRefusal> met = new ArrayList<>();
        if (!refusals.equals("-")) {
            for (String r : refusals.split(" ")) {
                String[] hostGround = r.split(":");
                met.add(new MxRefusal(hostGround[0], refusal(hostGround[0], hostGround[1])));
            }
        }

        Optional<DomainVerdict> v =
                Enforcer.afterMxWalk(
                        "req.test", Arrays.asList(hosts.split(" ")), met, yes(transacted));

        assertEquals(
                verdict,
                v.map(d -> d instanceof DomainVerdict.Fail ? "fail" : "defer").orElse("none"));
        assertEquals(reply, v.map(d -> d.reply().substring(0, reply.length())).orElse("-"));
        // the reason of the refusal that decides: the last REQUIRETLS one, or the first policy one
        for (String host : hosts.split(" ")) {
            assertEquals(
                    host.equals(about),
                    v.map(d -> d.reply().contains(host)).orElse(false),
                    () -> v + " names " + host);
        }
    }

    /** A refusal of {@code host} as Enforcer makes it: the host outside an enforced policy, or no policy at all. */
    private static Verdict.Refuse refusal(String host, String ground) {
        boolean requireTls = ground.equals("REQUIRETLS");
        ResolvedPolicy policy =
                requireTls
                        ? ResolvedPolicy.none("req.test", "test")
                        : ResolvedPolicy.override(
                                "req.test",
                                new Policy(
                                        PolicyMode.ENFORCE,
                                        List.of(MxPattern.ofMtaSts("mx.elsewhere.test"))),
                                false,
                                "test");
        Admission a =
                Enforcer.beforeConnect(
                        MxPolicy.domainWide(policy),
                        host,
                        requireTls ? TlsRequirement.REQUIRETLS : TlsRequirement.POLICY);
        return ((Admission.Skip) a).refusal();
    }

    private static ResolvedPolicy domainPolicy(PolicyMode mode, boolean listed) {
        return ResolvedPolicy.override(
                "req.test",
                new Policy(mode, List.of(MxPattern.ofMtaSts(listed ? MX : "mx.elsewhere.test"))),
                false,
                "test");
    }

    private static DanePolicy dane(String which) throws Exception {
        return switch (which) {
            case "required" -> new DanePolicy.Required(MX, MX, List.of(tlsa(LEAF.certificate())));
            case "failed" ->
                    new DanePolicy.Failed(MX, "TLSA look-up: DNSSEC validation failed (bogus)");
            case "none" -> new DanePolicy.NotApplicable(MX, "the MX records are not signed");
            default -> throw new IllegalArgumentException(which);
        };
    }

    /** {@code 3 1 1}: SHA-256 of the certificate's SubjectPublicKeyInfo. */
    private static TlsaRecord tlsa(X509Certificate c) throws Exception {
        return new TlsaRecord(
                3,
                1,
                1,
                MessageDigest.getInstance("SHA-256").digest(c.getPublicKey().getEncoded()));
    }

    private static MxObservation observation(String tls, boolean advertisesRequireTls) {
        Set<String> keywords =
                advertisesRequireTls ? Set.of("PIPELINING", "REQUIRETLS") : Set.of("PIPELINING");
        TlsObservation t =
                switch (tls) {
                    case "good" -> established(LEAF, true);
                    case "other" -> established(OTHER, true);
                    case "untrusted" -> established(LEAF, false);
                    case "none" -> TlsObservation.notOffered();
                    case "broken" ->
                            new TlsObservation.HandshakeFailed(
                                    "Received fatal alert: handshake_failure");
                    default -> throw new IllegalArgumentException(tls);
                };
        return new MxObservation(t, keywords);
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

    private static String resultType(TlsResult r) {
        return r instanceof TlsResult.Failure f ? f.type().resultType() : "success";
    }

    private static boolean yes(String flag) {
        return "y".equals(flag);
    }
}
