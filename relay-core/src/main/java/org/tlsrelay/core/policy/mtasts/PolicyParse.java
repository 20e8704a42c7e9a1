package org.tlsrelay.core.policy.mtasts;

import java.util.List;
import java.util.Optional;
import org.tlsrelay.core.policy.MxPattern;
import org.tlsrelay.core.policy.PolicyMode;

/**
 * What {@link PolicyParser} made of a policy file: the fields it could read (also when the file is invalid, so that
 * {@code tlsrelay mta-sts lint} can show them), every error with its line, warnings, and the policy when valid.
 */
public final class PolicyParse {
    private final String version;
    private final PolicyMode mode;
    private final List<String> mx;
    private final Long maxAge;
    private final List<String> errors;
    private final List<String> warnings;
    private final MtaStsPolicy policy;

    PolicyParse(
            String version,
            PolicyMode mode,
            List<String> mx,
            Long maxAge,
            List<String> errors,
            List<String> warnings,
            MtaStsPolicy policy) {
        this.version = version;
        this.mode = mode;
        this.mx = List.copyOf(mx);
        this.maxAge = maxAge;
        this.errors = List.copyOf(errors);
        this.warnings = List.copyOf(warnings);
        this.policy = policy;
    }

    /** True when there is no error: {@link #policy()} is then present. */
    public boolean valid() {
        return errors.isEmpty();
    }

    /** The first {@code version} value, if it was {@code STSv1}. */
    public Optional<String> version() {
        return Optional.ofNullable(version);
    }

    /** The first valid {@code mode}. */
    public Optional<PolicyMode> mode() {
        return Optional.ofNullable(mode);
    }

    /** Every valid {@code mx} pattern, in order, normalised (lower case). */
    public List<String> mx() {
        return mx;
    }

    /** The first valid {@code max_age} in seconds, clamped to {@link MtaStsPolicy#MAX_AGE_LIMIT}. */
    public Optional<Long> maxAge() {
        return Optional.ofNullable(maxAge);
    }

    /** Each error, naming its line where there is one: {@code line 2: mode: "enforcing" is not ...}. */
    public List<String> errors() {
        return errors;
    }

    /** Things that do not make the policy invalid but that its author would want to know. */
    public List<String> warnings() {
        return warnings;
    }

    /**
     * Whether the fields as read let mail go to {@code mxHost}: under mode {@code none} the domain has no active policy
     * and every MX is acceptable (RFC 8461 §5); otherwise one of the {@code mx} patterns must match it (§4.1).
     */
    public boolean allowsMx(String mxHost) {
        return mode == PolicyMode.NONE
                || mx.stream().map(MxPattern::ofMtaSts).anyMatch(p -> p.matches(mxHost));
    }

    public Optional<MtaStsPolicy> policy() {
        return Optional.ofNullable(policy);
    }
}
