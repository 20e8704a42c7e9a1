package org.tlsrelay.core.policy.list;

import org.tlsrelay.core.policy.Policy;

/** One domain of a policy list: its policy stated inline, or borrowed from a {@code policy-aliases} entry. */
public sealed interface ListEntry {

    /** The mail domain, lower case, without a trailing dot. */
    String domain();

    /** The policy that applies (for an alias: the alias's policy). */
    Policy policy();

    /** {@code "example.com": {"mode": "enforce", "mxs": [...]}}. */
    record Inline(String domain, Policy policy) implements ListEntry {}

    /** {@code "aol.com": {"policy-alias": "yahoo"}}: the alias's policy, already resolved. */
    record Aliased(String domain, String alias, Policy policy) implements ListEntry {}
}
