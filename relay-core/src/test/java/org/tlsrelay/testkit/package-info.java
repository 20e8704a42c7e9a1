/**
 * Test kit shared by every module's tests (published as relay-core's test-jar): a certificate authority made up in
 * the test, a real HTTPS server on loopback and a DNS stub server on loopback. Only loopback addresses are used.
 */
package org.tlsrelay.testkit;
