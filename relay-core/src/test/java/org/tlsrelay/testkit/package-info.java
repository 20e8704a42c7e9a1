/**
 * Test kit shared by every module's tests (published as relay-core's test-jar): a certificate authority made up in
 * the test, a real HTTPS server on loopback, a DNS stub server on loopback serving zones signed in the test
 * ({@link org.tlsrelay.testkit.SignedZone}: NSEC or NSEC3, with or without Opt-Out), a DNS proxy that refuses, drops
 * or strips what a test says ({@link org.tlsrelay.testkit.DnsProxy}), and unbound as an independent validating
 * resolver ({@link org.tlsrelay.testkit.Unbound}, Debian package). Only loopback addresses are used.
 */
package org.tlsrelay.testkit;
