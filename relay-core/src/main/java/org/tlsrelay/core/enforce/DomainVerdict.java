package org.tlsrelay.core.enforce;

/**
 * What the refusals met on a domain's MX hosts mean for the recipients that no MX took, once an attempt has walked
 * them all ({@link Enforcer#afterMxWalk}).
 */
public sealed interface DomainVerdict {

    /** The reply the recipients get: {@code 550 5.7.30 ...} or {@code 451 4.7.5 ...}. */
    String reply();

    /**
     * The recipients fail for good: every MX host was ruled out for this REQUIRETLS message (RFC 8689 §4.2.1, §6: the
     * X.7.30 code RFC 8689 registers); a DSN goes back, without REQUIRETLS.
     */
    record Fail(String reply) implements DomainVerdict {}

    /**
     * The recipients wait: the policy refused every MX that was tried and no transaction took place. A policy
     * failure is temporary (RFC 8461 §5.1); before a message is given up the policy is checked again.
     */
    record Defer(String reply) implements DomainVerdict {}
}
