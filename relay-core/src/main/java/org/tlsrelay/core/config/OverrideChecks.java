package org.tlsrelay.core.config;

import java.util.List;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.PolicyMode;

/** The checks of one {@code policy.overrides} entry: its mode, and the MX patterns that mode needs. */
final class OverrideChecks {

    private OverrideChecks() {}

    /** Checks {@code mode} and {@code mxs} (already without nulls). */
    static void check(PolicyMode mode, List<String> mxs) {
        if (mode == null) {
            throw new InvalidValue("mode", "is required (enforce, testing or none)");
        }
        if (mode != PolicyMode.NONE && mxs.isEmpty()) {
            throw new InvalidValue(
                    "mxs", "is required for mode " + mode.label() + ": the MX hosts allowed");
        }
        for (String mx : mxs) {
            try {
                MxPattern.ofOverride(mx); // fails early on a malformed pattern
            } catch (IllegalArgumentException e) {
                throw new InvalidValue("mxs", e.getMessage());
            }
        }
    }
}
