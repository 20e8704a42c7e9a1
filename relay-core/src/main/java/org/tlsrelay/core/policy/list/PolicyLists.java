package org.tlsrelay.core.policy.list;

import java.time.Instant;
import java.util.Optional;

/**
 * The installed, verified STARTTLS-Everywhere-format lists, in configured order. This is all the policy resolver
 * needs to know of lists.
 */
public interface PolicyLists {

    /**
     * The policy of the first list that names {@code domain} (exact, case-insensitive) and has not expired at
     * {@code now}. An expired list contributes nothing.
     */
    Optional<ListedPolicy> find(String domain, Instant now);
}
