package org.tlsrelay.core.policy.mtasts;

import java.util.Optional;

/**
 * What MTA-STS says about a domain right now: the policy that applies (fetched during this look-up, or from the
 * cache), or none; a fetch failure met on the way (also when a cached policy still applies); and a short explanation.
 */
public final class StsOutcome {
    private final String domain;
    private final CachedPolicy policy;
    private final boolean live;
    private final StsFailure failure;
    private final String explanation;

    StsOutcome(
            String domain,
            CachedPolicy policy,
            boolean live,
            StsFailure failure,
            String explanation) {
        this.domain = domain;
        this.policy = policy;
        this.live = live;
        this.failure = failure;
        this.explanation = explanation;
    }

    static StsOutcome none(String domain, StsFailure failure, String explanation) {
        return new StsOutcome(domain, null, false, failure, explanation);
    }

    /** A cached policy applies; {@code why} says why it was not (or need not be) fetched again. */
    static StsOutcome cached(String domain, CachedPolicy cached, StsFailure failure, String why) {
        return new StsOutcome(
                domain,
                cached,
                false,
                failure,
                "cached policy id "
                        + cached.id()
                        + " (fetched "
                        + cached.fetchedAt()
                        + ", expires "
                        + cached.expiresAt()
                        + "): "
                        + why);
    }

    public String domain() {
        return domain;
    }

    /** The valid, unexpired policy that applies, if any. */
    public Optional<CachedPolicy> policy() {
        return Optional.ofNullable(policy);
    }

    /** True when {@link #policy()} was fetched from {@code mta-sts.DOMAIN} during this look-up, false when cached. */
    public boolean live() {
        return live;
    }

    /** A fetch or validation failure during this look-up (or the one that started the current back-off). */
    public Optional<StsFailure> failure() {
        return Optional.ofNullable(failure);
    }

    /** One or two sentences for operators: what was found and why it applies or not. */
    public String explanation() {
        return explanation;
    }

    @Override
    public String toString() {
        return domain + ": " + explanation;
    }
}
