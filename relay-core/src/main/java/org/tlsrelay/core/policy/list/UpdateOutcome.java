package org.tlsrelay.core.policy.list;

/** What one update of one list came to. A failure is an expected outcome: the last good copy stays in use. */
public sealed interface UpdateOutcome {

    /** The configured list's name. */
    String list();

    /** A newer (or first) copy was verified and installed. */
    record Installed(String list, SignedList installed) implements UpdateOutcome {}

    /** The published copy is byte for byte the installed one. */
    record Unchanged(String list, SignedList current) implements UpdateOutcome {}

    /** Nothing was installed; {@code reason} says why (fetch, signature, format, rollback, disk). */
    record Failed(String list, String reason) implements UpdateOutcome {}
}
