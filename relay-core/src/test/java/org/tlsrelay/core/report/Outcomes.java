package org.tlsrelay.core.report;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.tlsrelay.core.enforce.PolicyContext;
import org.tlsrelay.core.enforce.TlsOutcome;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.tls.TlsFailureType;
import org.tlsrelay.core.tls.TlsResult;

/** Hand-made outcomes for unit tests of the report logic. */
final class Outcomes {
    private Outcomes() {}

    /** An MTA-STS policy context whose text is the usual four lines. */
    static PolicyContext sts(String domain, PolicyMode mode, String... mx) {
        List<String> lines = new ArrayList<>();
        lines.add("version: STSv1");
        lines.add("mode: " + mode.label());
        for (String m : mx) {
            lines.add("mx: " + m);
        }
        lines.add("max_age: 86400");
        return new PolicyContext(
                domain,
                PolicyContext.Source.MTA_STS,
                "cached",
                new Policy(mode, Arrays.stream(mx).map(MxPattern::ofMtaSts).toList()),
                lines);
    }

    static PolicyContext list(String domain, String listName, PolicyMode mode, String... mx) {
        return new PolicyContext(
                domain,
                PolicyContext.Source.LIST,
                listName,
                new Policy(mode, Arrays.stream(mx).map(MxPattern::ofListEntry).toList()),
                List.of());
    }

    static TlsOutcome success(Instant t, PolicyContext p, String mxHost, String receivingIp) {
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
            Instant t, PolicyContext p, TlsFailureType type, String mxHost, String receivingIp) {
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
