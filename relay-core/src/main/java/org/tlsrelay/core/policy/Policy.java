package org.tlsrelay.core.policy;

import java.util.List;

/** A domain's TLS requirement, whatever its source: a mode and the MX host names it allows. */
public record Policy(PolicyMode mode, List<MxPattern> mxs) {
    public Policy {
        mxs = List.copyOf(mxs);
    }

    /** Whether some pattern of this policy allows the MX host name. */
    public boolean allowsMx(String host) {
        return mxs.stream().anyMatch(p -> p.matches(host));
    }
}
