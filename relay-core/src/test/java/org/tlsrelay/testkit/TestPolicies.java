package org.tlsrelay.testkit;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.tlsrelay.core.enforce.Admission;
import org.tlsrelay.core.enforce.Enforcer;
import org.tlsrelay.core.enforce.MxPolicy;
import org.tlsrelay.core.enforce.TlsRequirement;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.Policy;
import org.tlsrelay.core.policy.PolicyMode;
import org.tlsrelay.core.policy.mtasts.CachedPolicy;
import org.tlsrelay.core.policy.mtasts.MtaStsPolicy;
import org.tlsrelay.core.policy.resolve.ResolvedPolicy;

/** Resolved policies made by hand, as the resolver would answer them, for tests that need a domain's policy. */
public final class TestPolicies {
    private TestPolicies() {}

    /**
     * A cached MTA-STS policy with {@code max_age} one day, whose text is the usual lines ({@code version},
     * {@code mode}, one {@code mx} per pattern, {@code max_age}).
     */
    public static ResolvedPolicy sts(String domain, PolicyMode mode, String... mx) {
        return sts(domain, mode, 86_400, mx);
    }

    /** As {@link #sts(String, PolicyMode, String...)} with another {@code max_age}. */
    public static ResolvedPolicy sts(String domain, PolicyMode mode, long maxAge, String... mx) {
        StringBuilder text = new StringBuilder("version: STSv1\nmode: " + mode.label() + "\n");
        for (String m : mx) {
            text.append("mx: ").append(m).append('\n');
        }
        text.append("max_age: ").append(maxAge).append('\n');
        MtaStsPolicy policy =
                new MtaStsPolicy(
                        mode,
                        Arrays.stream(mx).map(MxPattern::ofMtaSts).toList(),
                        maxAge,
                        text.toString());
        return ResolvedPolicy.mtaSts(
                domain,
                new CachedPolicy(domain, "test", policy, Instant.now()),
                false,
                "an MTA-STS policy made by the test");
    }

    /** The policy of a list: {@code mx} in the list notation ({@code .suffix} or an exact name). */
    public static ResolvedPolicy list(
            String domain, String listName, PolicyMode mode, String... mx) {
        return ResolvedPolicy.list(
                domain,
                listName,
                new Policy(mode, Arrays.stream(mx).map(MxPattern::ofListEntry).toList()),
                "list " + listName + " made by the test");
    }

    /** A local override allowing exactly the MX hosts {@code mx}. */
    public static ResolvedPolicy override(String domain, PolicyMode mode, String... mx) {
        List<MxPattern> patterns = Arrays.stream(mx).<MxPattern>map(MxPattern.Exact::new).toList();
        return ResolvedPolicy.override(
                domain, new Policy(mode, patterns), false, "an override made by the test");
    }

    /** An {@code enforce} override allowing exactly the MX hosts {@code mx}. */
    public static ResolvedPolicy enforce(String domain, String... mx) {
        return override(domain, PolicyMode.ENFORCE, mx);
    }

    /** No policy: opportunistic TLS. */
    public static ResolvedPolicy none(String domain) {
        return ResolvedPolicy.none(domain, "no policy (made by the test)");
    }

    /**
     * Enforcer's permission to connect to {@code mxHost} under {@code policy} (DANE not looked at), for a message
     * without a TLS requirement of its own, as the outbound client needs it; a test that expects a skip asks
     * {@link Enforcer#beforeConnect} itself.
     */
    public static Admission.Connect permit(ResolvedPolicy policy, String mxHost) {
        return permit(policy, mxHost, TlsRequirement.POLICY);
    }

    /** As {@link #permit(ResolvedPolicy, String)} for a message with its own requirement (RFC 8689). */
    public static Admission.Connect permit(
            ResolvedPolicy policy, String mxHost, TlsRequirement requirement) {
        Admission a = Enforcer.beforeConnect(MxPolicy.domainWide(policy), mxHost, requirement);
        if (a instanceof Admission.Connect c) {
            return c;
        }
        throw new IllegalStateException(
                "the policy does not allow " + mxHost + ": " + ((Admission.Skip) a).refusal());
    }
}
