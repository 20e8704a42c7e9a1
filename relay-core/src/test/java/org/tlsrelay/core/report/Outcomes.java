package org.tlsrelay.core.report;

import java.time.Instant;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;
import org.tlsrelay.testkit.TestPolicies;

/** Hand-made outcomes for unit tests of the report logic. */
final class Outcomes {
    private Outcomes() {}

    /** An MTA-STS policy whose text is the usual four lines. */
    static MxPolicy sts(String domain, PolicyMode mode, String... mx) {
        return MxPolicy.domainWide(TestPolicies.sts(domain, mode, mx));
    }

    static MxPolicy list(String domain, String listName, PolicyMode mode, String... mx) {
        return MxPolicy.domainWide(TestPolicies.list(domain, listName, mode, mx));
    }

    /** No policy: opportunistic TLS. */
    static MxPolicy none(String domain) {
        return MxPolicy.domainWide(TestPolicies.none(domain));
    }

    static TlsOutcome success(Instant t, MxPolicy p, String mxHost, String receivingIp) {
        return new TlsOutcome(
                t,
                p,
                mxHost,
                mxHost,
                "192.0.2.1",
                receivingIp,
                TlsResult.success(),
                "deliver-tls",
                "TLSv1.3 TLS_AES_128_GCM_SHA256 trusted valid name-matched");
    }

    static TlsOutcome failure(
            Instant t, MxPolicy p, TlsFailureType type, String mxHost, String receivingIp) {
        String verdict = p.mode() == PolicyMode.ENFORCE ? "refuse" : "deliver-clear";
        return new TlsOutcome(
                t,
                p,
                mxHost,
                "",
                "192.0.2.1",
                receivingIp,
                TlsResult.failure(type, type.resultType() + " at " + mxHost),
                verdict,
                "observed");
    }
}
